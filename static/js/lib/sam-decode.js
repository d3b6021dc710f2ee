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
// threshold are computed.
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
  const full = new Uint8Array(spanW * spanH);
  // Each source row is interpolated across the span once, then rows are mixed per pixel.
  const rows = new Map();
  const across = (cell) => {
    let row = rows.get(cell);
    if (!row) {
      row = new Float32Array(spanW);
      const base = offset + cell * size;
      for (let i = 0; i < spanW; i++) {
        const x = xa + i;
        const fx = xs.w[x];
        row[i] = logits[base + xs.i0[x]] * (1 - fx) + logits[base + xs.i1[x]] * fx;
      }
      rows.set(cell, row);
    }
    return row;
  };
  let x0 = spanW;
  let x1 = -1;
  let y0 = spanH;
  let y1 = -1;
  for (let j = 0; j < spanH; j++) {
    const y = ya + j;
    const top = across(ys.i0[y]);
    const bottom = across(ys.i1[y]);
    const fy = ys.w[y];
    let any = false;
    for (let i = 0; i < spanW; i++) {
      if (top[i] * (1 - fy) + bottom[i] * fy > threshold) {
        full[j * spanW + i] = 1;
        any = true;
        if (i < x0) x0 = i;
        if (i > x1) x1 = i;
      }
    }
    if (any) {
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
