// Plane geometry of the editor: the view transform between screen and image pixels, boxes and
// bounding boxes of masks. Pure functions, no DOM.

// The view that shows a whole image centred in a canvas, with a margin.
export function fitView(canvasWidth, canvasHeight, imageWidth, imageHeight, margin = 0.95) {
  const scale = Math.min(canvasWidth / imageWidth, canvasHeight / imageHeight) * margin;
  return { scale, x: (canvasWidth - imageWidth * scale) / 2, y: (canvasHeight - imageHeight * scale) / 2 };
}

export function screenToImage(view, sx, sy) {
  return { x: (sx - view.x) / view.scale, y: (sy - view.y) / view.scale };
}

// Zoom by `factor` around the screen point (sx, sy), which keeps showing the same image point.
export function zoomAt(view, sx, sy, factor, min = 0.05, max = 64) {
  const p = screenToImage(view, sx, sy);
  const scale = Math.min(max, Math.max(min, view.scale * factor));
  return { scale, x: sx - p.x * scale, y: sy - p.y * scale };
}

export function insideImage(p, width, height) {
  return p.x >= 0 && p.y >= 0 && p.x < width && p.y < height;
}

// A dragged rectangle as [x1, y1, x2, y2] with x1 <= x2 and y1 <= y2, in whole pixels.
export function normalizeBox(x0, y0, x1, y1) {
  return [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)].map(Math.round);
}

// The smallest [x, y, width, height] holding every set pixel of a row-major mask, or null.
export function maskBounds(mask, width, height) {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    let last = -1;
    for (let x = 0; x < width; x++) {
      if (mask[row + x]) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first < 0) continue;
    if (y < y0) y0 = y;
    y1 = y;
    if (first < x0) x0 = first;
    if (last > x1) x1 = last;
  }
  return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
