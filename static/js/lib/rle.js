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
