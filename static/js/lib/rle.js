// COCO run-length encoding in the browser. Masks live here as Uint8Array, row-major
// (index y * width + x); COCO runs are column-major and start with a run of zeros.

export function countsFromString(text) {
  // COCO's compressed counts: 5 bits per character, continuation bit 0x20, sign bit 0x10,
  // and every count after the second stored as a difference to the one two places back.
  const counts = [];
  let p = 0;
  while (p < text.length) {
    let value = 0;
    let shift = 0;
    let more = true;
    let c = 0;
    while (more) {
      c = text.charCodeAt(p) - 48;
      value |= (c & 0x1f) << shift;
      more = (c & 0x20) !== 0;
      p += 1;
      shift += 5;
      if (!more && (c & 0x10)) value |= -1 << shift;
    }
    if (counts.length > 2) value += counts[counts.length - 2];
    counts.push(value);
  }
  return counts;
}

export function decode(rle) {
  const [height, width] = rle.size;
  const counts = typeof rle.counts === "string" ? countsFromString(rle.counts) : rle.counts;
  const mask = new Uint8Array(width * height);
  let index = 0;
  let value = 0;
  for (const run of counts) {
    if (value) {
      for (let i = index; i < index + run; i++) {
        const x = Math.floor(i / height);
        mask[(i - x * height) * width + x] = 1;
      }
    }
    index += run;
    value ^= 1;
  }
  return mask;
}

export function encode(mask, width, height) {
  // Uncompressed COCO RLE, which the server accepts as well as the compressed form.
  const counts = [];
  let current = 0;
  let run = 0;
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) {
      const value = mask[y * width + x] ? 1 : 0;
      if (value === current) {
        run += 1;
      } else {
        counts.push(run);
        current = value;
        run = 1;
      }
    }
  }
  counts.push(run);
  return { size: [height, width], counts };
}

export function area(mask) {
  let total = 0;
  for (let i = 0; i < mask.length; i++) total += mask[i];
  return total;
}

// A mask held only within its bounding box: {x, y, width, height, data}, data row-major over
// the box. Opening an image with hundreds of masks then costs their areas, not their count
// times the image size.
export const EMPTY = Object.freeze({ x: 0, y: 0, width: 0, height: 0, data: new Uint8Array(0) });

export function decodeBounded(rle) {
  const height = rle.size[0];
  const counts = typeof rle.counts === "string" ? countsFromString(rle.counts) : rle.counts;
  let x0 = Infinity;
  let x1 = -1;
  let y0 = Infinity;
  let y1 = -1;
  let index = 0;
  for (let k = 0; k < counts.length; k++) {
    const run = counts[k];
    if (k % 2 === 1 && run > 0) {
      const first = Math.floor(index / height);
      const last = Math.floor((index + run - 1) / height);
      x0 = Math.min(x0, first);
      x1 = Math.max(x1, last);
      if (first === last) {
        y0 = Math.min(y0, index - first * height);
        y1 = Math.max(y1, index + run - 1 - first * height);
      } else {
        y0 = 0;
        y1 = height - 1;
      }
    }
    index += run;
  }
  if (x1 < 0) return EMPTY;
  const box = { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
  const data = new Uint8Array(box.width * box.height);
  index = 0;
  for (let k = 0; k < counts.length; k++) {
    const run = counts[k];
    if (k % 2 === 1) {
      // Walk the run one column segment at a time.
      let i = index;
      const end = index + run;
      while (i < end) {
        const x = Math.floor(i / height);
        const top = i - x * height;
        const bottom = Math.min(height, top + (end - i));
        for (let y = top; y < bottom; y++) data[(y - box.y) * box.width + (x - box.x)] = 1;
        i += bottom - top;
      }
    }
    index += run;
  }
  return { ...box, data };
}

export function contains(mask, px, py) {
  const x = Math.floor(px) - mask.x;
  const y = Math.floor(py) - mask.y;
  return x >= 0 && y >= 0 && x < mask.width && y < mask.height && mask.data[y * mask.width + x] === 1;
}

export function boundedArea(mask) {
  let total = 0;
  for (let i = 0; i < mask.data.length; i++) total += mask.data[i];
  return total;
}

// Uncompressed COCO RLE of a bounded mask over the whole image.
export function encodeBounded(mask, width, height) {
  const counts = [];
  let current = 0;
  let run = 0;
  const push = (value, length) => {
    if (length <= 0) return;
    if (value === current) {
      run += length;
    } else {
      counts.push(run);
      current = value;
      run = length;
    }
  };
  for (let x = 0; x < width; x++) {
    const bx = x - mask.x;
    if (bx < 0 || bx >= mask.width) {
      push(0, height);
      continue;
    }
    push(0, mask.y);
    for (let y = 0; y < mask.height; y++) push(mask.data[y * mask.width + bx] ? 1 : 0, 1);
    push(0, height - mask.y - mask.height);
  }
  counts.push(run);
  return { size: [height, width], counts };
}
