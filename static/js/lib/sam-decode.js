// What the server does around SAM2's decoder, for decoding in the browser: a prompt in image
// pixels becomes the graph's inputs (coordinates scaled by image_size / original size, a box
// first as two points labelled 2 and 3), and the low-resolution logits that come back are
// sorted by score, upscaled bilinearly (half-pixel centres, as torch's align_corners=False)
// to the image size and thresholded. Also the features' wire format (see inference/features.py).

// The editor's rule, as prompts.js sends it: one point or none and no box gives three
// candidates; anything more gives one mask.
export function wantsMultimask(points, boxes) {
  return boxes.length === 0 && points.length <= 1;
}

// points: [{x, y, label}], boxes: at most one [x1, y1, x2, y2]; orig: {width, height}.
export function promptInputs(points, boxes, orig, imageSize) {
  const pairs = [];
  const labels = [];
  if (boxes.length) {
    const [x1, y1, x2, y2] = boxes[0];
    pairs.push([x1, y1], [x2, y2]);
    labels.push(2, 3);
  }
  for (const p of points) {
    pairs.push([p.x, p.y]);
    labels.push(p.label);
  }
  const sx = imageSize / orig.width;
  const sy = imageSize / orig.height;
  const coords = new Float32Array(pairs.length * 2);
  pairs.forEach(([x, y], i) => {
    coords[2 * i] = x * sx;
    coords[2 * i + 1] = y * sy;
  });
  return { coords, labels: Float32Array.from(labels), count: pairs.length };
}

// Indices of `scores` by score, highest first (stable, as numpy's argsort of -scores).
export function byScore(scores) {
  return Array.from(scores, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

// Source index and weight of each output pixel along one axis.
function axis(outSize, inSize) {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
    const lo = Math.floor(src);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, inSize - 1);
    w[o] = src - lo;
  }
  return { i0, i1, w };
}

// The cells of one size x size map above `threshold`: [x0, y0, x1, y1], or null.
function positiveCells(logits, offset, size, threshold) {
  let x0 = size;
  let y0 = size;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < size; y++) {
    const row = offset + y * size;
    for (let x = 0; x < size; x++) {
      if (logits[row + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : [x0, y0, x1, y1];
}

// The output pixels along one axis whose two source cells touch cells lo..hi: [first, last].
function touching(ax, lo, hi) {
  let first = -1;
  let last = -2;
  for (let o = 0; o < ax.i0.length; o++) {
    if (ax.i1[o] >= lo && ax.i0[o] <= hi) {
      if (first < 0) first = o;
      last = o;
    }
  }
  return [first, last];
}

const EMPTY = () => ({ x: 0, y: 0, width: 0, height: 0, data: new Uint8Array(0) });

// One mask of `logits` (size x size floats, row-major, starting at `offset`) upscaled to
// width x height and thresholded: a bounded mask {x, y, width, height, data} as masks.js takes.
// A pixel is a convex mix of its four source cells, so only pixels next to a cell above the
// threshold are looked at, and of those only the ones whose four cells are not all on one
// side of the threshold are computed: a run of pixels between four cells above it is filled
// at once. The work grows with the mask's outline, not its area.
export function upscaleMask(logits, offset, size, width, height, threshold = 0) {
  const cells = positiveCells(logits, offset, size, threshold);
  if (!cells) return EMPTY();
  const xs = axis(width, size);
  const ys = axis(height, size);
  const [xa, xb] = touching(xs, cells[0], cells[2]);
  const [ya, yb] = touching(ys, cells[1], cells[3]);
  const spanW = xb - xa + 1;
  const spanH = yb - ya + 1;
  if (spanW <= 0 || spanH <= 0) return EMPTY();
  // Runs of output columns that share their two source columns: start, end, c0, c1 each.
  const runs = new Int32Array(4 * spanW);
  let count = 0;
  for (let i = 0; i < spanW; i++) {
    const c0 = xs.i0[xa + i];
    const c1 = xs.i1[xa + i];
    if (count && runs[count - 2] === c0 && runs[count - 1] === c1) runs[count - 3] = i + 1;
    else {
      runs.set([i, i + 1, c0, c1], count);
      count += 4;
    }
  }
  const full = new Uint8Array(spanW * spanH);
  let x0 = spanW;
  let x1 = -1;
  let y0 = spanH;
  let y1 = -1;
  for (let j = 0; j < spanH; j++) {
    const y = ya + j;
    const top = offset + ys.i0[y] * size;
    const bottom = offset + ys.i1[y] * size;
    const fy = ys.w[y];
    const line = j * spanW;
    let first = -1;
    let last = -1;
    let fill = -1;
    let fillEnd = -1;
    const flush = () => {
      if (fill < 0) return;
      full.fill(1, line + fill, line + fillEnd);
      if (first < 0) first = fill;
      last = fillEnd - 1;
      fill = -1;
    };
    for (let r = 0; r < count; r += 4) {
      const start = runs[r];
      const end = runs[r + 1];
      const c0 = runs[r + 2];
      const c1 = runs[r + 3];
      const a = logits[top + c0];
      const b = logits[top + c1];
      const c = logits[bottom + c0];
      const d = logits[bottom + c1];
      const over = (a > threshold ? 1 : 0) + (b > threshold ? 1 : 0) + (c > threshold ? 1 : 0) + (d > threshold ? 1 : 0);
      if (over === 4) {
        // Neighbouring full runs are filled in one go.
        if (fill < 0) fill = start;
        fillEnd = end;
        continue;
      }
      flush();
      if (over > 0) {
        for (let i = start; i < end; i++) {
          const fx = xs.w[xa + i];
          // As a float32 row across, then mixed down: what a full upscale computes.
          const upper = Math.fround(a * (1 - fx) + b * fx);
          const lower = Math.fround(c * (1 - fx) + d * fx);
          if (upper * (1 - fy) + lower * fy > threshold) {
            full[line + i] = 1;
            if (first < 0) first = i;
            last = i;
          }
        }
      }
    }
    flush();
    if (first >= 0) {
      if (first < x0) x0 = first;
      if (last > x1) x1 = last;
      if (j < y0) y0 = j;
      y1 = j;
    }
  }
  if (x1 < 0) return EMPTY();
  const box = { x: xa + x0, y: ya + y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
  const data = new Uint8Array(box.width * box.height);
  for (let j = 0; j < box.height; j++) {
    const start = (y0 + j) * spanW + x0;
    data.set(full.subarray(start, start + box.width), j * box.width);
  }
  return { ...box, data };
}

// Intersection over union of two bounded masks (in the same image).
export function boundedIou(a, b) {
  const inA = (m, x, y) => x >= m.x && y >= m.y && x < m.x + m.width && y < m.y + m.height && m.data[(y - m.y) * m.width + (x - m.x)] === 1;
  let both = 0;
  let either = 0;
  const left = Math.min(a.width ? a.x : Infinity, b.width ? b.x : Infinity);
  const top = Math.min(a.width ? a.y : Infinity, b.width ? b.y : Infinity);
  const right = Math.max(a.x + a.width, b.x + b.width);
  const bottom = Math.max(a.y + a.height, b.y + b.height);
  if (!Number.isFinite(left)) return 1;
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      const p = inA(a, x, y);
      const q = inA(b, x, y);
      if (p && q) both++;
      if (p || q) either++;
    }
  }
  return either ? both / either : 1;
}

// The features' wire format: a 4-byte little-endian length, a JSON header, then the gzip
// stream. Returns {header, compressed} (the bytes after the header).
export function splitFeatures(buffer) {
  const size = new DataView(buffer).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, size)));
  return { header, compressed: new Uint8Array(buffer, 4 + size) };
}

// float16 bits to float32, for browsers without Float16Array.
function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// One tensor from the decompressed bytes: its low bytes then its high bytes, back to
// float16 values, as a Float32Array.
export function unshuffle(raw, entry) {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const low = raw.subarray(entry.offset, entry.offset + count);
  const high = raw.subarray(entry.offset + count, entry.offset + 2 * count);
  const bytes = new Uint8Array(2 * count);
  for (let i = 0; i < count; i++) {
    bytes[2 * i] = low[i];
    bytes[2 * i + 1] = high[i];
  }
  if (typeof Float16Array !== "undefined") return new Float32Array(new Float16Array(bytes.buffer));
  const halves = new Uint16Array(bytes.buffer);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = halfToFloat(halves[i]);
  return out;
}
