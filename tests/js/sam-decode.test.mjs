// The browser decoder's pure steps: the graph's inputs from a prompt, the order of the
// candidates, the bilinear upscale and threshold, and the features' wire format.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";

import { boundedIou, byScore, promptInputs, splitFeatures, unshuffle, upscaleMask, wantsMultimask } from "../../static/js/lib/sam-decode.js";

test("a box comes first as two points labelled 2 and 3, coordinates scaled to the model's frame", () => {
  const { coords, labels, count } = promptInputs([{ x: 80, y: 60, label: 1 }], [[10, 20, 150, 100]], { width: 160, height: 120 }, 512);
  assert.equal(count, 3);
  assert.deepEqual(Array.from(labels), [2, 3, 1]);
  assert.deepEqual(Array.from(coords), [32, 256 / 3, 480, 1280 / 3, 256, 256].map(Math.fround));
});

test("one point gives candidates, more gives one mask", () => {
  assert.equal(wantsMultimask([{ x: 1, y: 1, label: 1 }], []), true);
  assert.equal(wantsMultimask([{}, {}], []), false);
  assert.equal(wantsMultimask([], [[0, 0, 1, 1]]), false);
});

test("candidates are sorted by score, highest first, ties in order", () => {
  assert.deepEqual(byScore([0.2, 0.9, 0.2, 0.5]), [1, 3, 0, 2]);
});

test("upscaling a 2x2 map to 4x4 uses half-pixel centres and keeps only what is above the threshold", () => {
  // Left column positive, right negative: the boundary falls in the middle.
  const logits = new Float32Array([1, -1, 1, -1]);
  const mask = upscaleMask(logits, 0, 2, 4, 4, 0);
  assert.deepEqual([mask.x, mask.y, mask.width, mask.height], [0, 0, 2, 4]);
  assert.ok(mask.data.every((v) => v === 1));
  const none = upscaleMask(new Float32Array([-1, -1, -1, -1]), 0, 2, 4, 4, 0);
  assert.equal(none.width, 0);
});

test("upscaling agrees with torch's bilinear interpolation (align_corners=False)", () => {
  // torch.nn.functional.interpolate of [[0, 4], [8, 12]] to 3x3 is
  // [[0, 2, 4], [4, 6, 8], [8, 10, 12]].
  const logits = new Float32Array([0, 4, 8, 12]);
  const above5 = upscaleMask(logits, 0, 2, 3, 3, 5);
  assert.deepEqual([above5.x, above5.y, above5.width, above5.height], [0, 1, 3, 2]);
  assert.deepEqual(Array.from(above5.data), [0, 1, 1, 1, 1, 1]);
  const above7 = upscaleMask(logits, 0, 2, 3, 3, 7);
  assert.deepEqual(Array.from(above7.data), [0, 0, 1, 1, 1, 1]);
});

test("IoU of bounded masks", () => {
  const a = { x: 0, y: 0, width: 2, height: 1, data: new Uint8Array([1, 1]) };
  const b = { x: 1, y: 0, width: 2, height: 1, data: new Uint8Array([1, 1]) };
  assert.equal(boundedIou(a, b), 1 / 3);
  assert.equal(boundedIou(a, a), 1);
});

test("the features' wire format: header, gzip, shuffled float16 bytes", () => {
  const values = [1, -2, 0.5, 65504];
  const halves = new Uint16Array([0x3c00, 0xc000, 0x3800, 0x7bff]);
  const bytes = new Uint8Array(halves.buffer);
  const shuffled = new Uint8Array(8);
  for (let i = 0; i < 4; i++) {
    shuffled[i] = bytes[2 * i];
    shuffled[4 + i] = bytes[2 * i + 1];
  }
  const header = new TextEncoder().encode(JSON.stringify({ tensors: [{ name: "t", shape: [1, 4], offset: 0 }] }));
  const body = gzipSync(shuffled);
  const wire = new Uint8Array(4 + header.length + body.length);
  new DataView(wire.buffer).setUint32(0, header.length, true);
  wire.set(header, 4);
  wire.set(body, 4 + header.length);
  const split = splitFeatures(wire.buffer);
  assert.equal(split.header.tensors[0].name, "t");
  assert.deepEqual(Array.from(split.compressed), Array.from(body));
  assert.deepEqual(Array.from(unshuffle(shuffled, split.header.tensors[0])), values);
});

test("upscaling only the region next to positive cells gives what upscaling all of it gives", () => {
  // A 16x16 map with a small positive blob, upscaled to 50x37, against a plain full upscale.
  const size = 16;
  const logits = new Float32Array(size * size).fill(-3);
  for (const [x, y, v] of [[5, 6, 2], [6, 6, 4], [6, 7, 1], [7, 7, 0.5]]) logits[y * size + x] = v;
  const width = 50;
  const height = 37;
  const mask = upscaleMask(logits, 0, size, width, height, 0);
  const at = (x, y) => {
    const sx = Math.min(Math.max(((x + 0.5) * size) / width - 0.5, 0), size - 1);
    const sy = Math.min(Math.max(((y + 0.5) * size) / height - 0.5, 0), size - 1);
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const x1 = Math.min(x0 + 1, size - 1);
    const y1 = Math.min(y0 + 1, size - 1);
    const fx = sx - x0;
    const fy = sy - y0;
    const v = (xx, yy) => logits[yy * size + xx];
    return (v(x0, y0) * (1 - fx) + v(x1, y0) * fx) * (1 - fy) + (v(x0, y1) * (1 - fx) + v(x1, y1) * fx) * fy;
  };
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = x >= mask.x && y >= mask.y && x < mask.x + mask.width && y < mask.y + mask.height;
      const got = inside ? mask.data[(y - mask.y) * mask.width + (x - mask.x)] : 0;
      assert.equal(got, at(x, y) > 0 ? 1 : 0, `pixel ${x},${y}`);
      count += got;
    }
  }
  assert.ok(count > 10);
});

test("a large mask with a hole: runs between four cells above the threshold are filled as a full upscale fills them", () => {
  // A disc of radius 11 cells with a hole of radius 3, on a 32x32 map, upscaled to 301x203.
  const size = 32;
  const logits = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - 15.3, y - 16.7);
      logits[y * size + x] = r < 6 ? 3 - r : 11 - r;
    }
  }
  const width = 301;
  const height = 203;
  const mask = upscaleMask(logits, 0, size, width, height, 0);
  const axisAt = (o, out) => {
    const src = Math.min(Math.max(((o + 0.5) * size) / out - 0.5, 0), size - 1);
    const lo = Math.floor(src);
    return [lo, Math.min(lo + 1, size - 1), Math.fround(src - lo)];
  };
  let count = 0;
  let holes = 0;
  for (let y = 0; y < height; y++) {
    const [r0, r1, fy] = axisAt(y, height);
    for (let x = 0; x < width; x++) {
      const [c0, c1, fx] = axisAt(x, width);
      const v = (row, col) => logits[row * size + col];
      const upper = Math.fround(v(r0, c0) * (1 - fx) + v(r0, c1) * fx);
      const lower = Math.fround(v(r1, c0) * (1 - fx) + v(r1, c1) * fx);
      const want = upper * (1 - fy) + lower * fy > 0 ? 1 : 0;
      const inside = x >= mask.x && y >= mask.y && x < mask.x + mask.width && y < mask.y + mask.height;
      const got = inside ? mask.data[(y - mask.y) * mask.width + (x - mask.x)] : 0;
      assert.equal(got, want, `pixel ${x},${y}`);
      count += got;
      if (inside && !got) holes += 1;
    }
  }
  assert.ok(count > 10000 && holes > 500, `${count} pixels, ${holes} inside the box but off`);
});
