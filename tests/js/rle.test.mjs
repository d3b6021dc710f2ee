import assert from "node:assert/strict";
import { test } from "node:test";

import { boundedArea, contains, decode, decodeBounded, encode, encodeBounded } from "../../static/js/lib/rle.js";

function square(width, height, x0, y0, x1, y1) {
  const mask = new Uint8Array(width * height);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask[y * width + x] = 1;
  return mask;
}

test("encode and decode are inverse", () => {
  const mask = square(7, 5, 2, 1, 5, 4);
  assert.deepEqual(decode(encode(mask, 7, 5)), mask);
});

test("COCO RLE runs are column-major and start with zeros", () => {
  const mask = square(3, 2, 0, 0, 1, 2); // the first column
  assert.deepEqual(encode(mask, 3, 2).counts, [0, 2, 4]);
});

test("compressed counts decode like pycocotools writes them", () => {
  // pycocotools: encode(np.asfortranarray(m)) of a 4x4 mask with rows 1-2, columns 1-2 set.
  const mask = decode({ size: [4, 4], counts: "52203" });
  assert.deepEqual(Array.from(mask), Array.from(square(4, 4, 1, 1, 3, 3)));
});

test("a bounded decode holds the mask's box and the same pixels", () => {
  const full = square(9, 6, 3, 2, 7, 5);
  const bounded = decodeBounded(encode(full, 9, 6));
  assert.deepEqual([bounded.x, bounded.y, bounded.width, bounded.height], [3, 2, 4, 3]);
  assert.equal(boundedArea(bounded), 12);
  for (let y = 0; y < 6; y++) for (let x = 0; x < 9; x++) assert.equal(contains(bounded, x, y), full[y * 9 + x] === 1);
});

test("a run across columns widens the box to the full height", () => {
  const full = new Uint8Array(4 * 3);
  full[2 * 4 + 0] = 1; // (0, 2)
  full[0 * 4 + 1] = 1; // (1, 0): one run in column-major order
  const bounded = decodeBounded(encode(full, 4, 3));
  assert.deepEqual([bounded.x, bounded.y, bounded.width, bounded.height], [0, 0, 2, 3]);
  assert.ok(contains(bounded, 0, 2) && contains(bounded, 1, 0) && !contains(bounded, 0, 0));
});

test("an empty mask has an empty box", () => {
  const bounded = decodeBounded(encode(new Uint8Array(12), 4, 3));
  assert.equal(bounded.width, 0);
  assert.equal(contains(bounded, 0, 0), false);
});

test("a bounded mask encodes to the RLE of the full mask", () => {
  const full = square(8, 5, 1, 1, 4, 5);
  const rle = encode(full, 8, 5);
  assert.deepEqual(encodeBounded(decodeBounded(rle), 8, 5), rle);
  assert.deepEqual(encodeBounded(decodeBounded(encode(new Uint8Array(40), 8, 5)), 8, 5), encode(new Uint8Array(40), 8, 5));
});
