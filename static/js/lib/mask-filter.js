// Which automask results are worth promoting to objects: automask on a photo also finds the
// background and one-pixel specks. A filter keeps masks by area (a share of the image),
// predicted score and whether they cover most of the image's border. Pure functions.

export const DEFAULT_FILTER = Object.freeze({ minArea: 0.0005, maxArea: 0.6, minScore: 0.5, skipBorder: true });

function borderPixels(mask, width, height) {
  // How many of the image's border pixels the bounded mask covers.
  const { x, y, data } = mask;
  const w = mask.width;
  const h = mask.height;
  const at = (px, py) => data[(py - y) * w + (px - x)] === 1;
  let covered = 0;
  const columns = (py) => {
    for (let px = x; px < x + w; px++) if (at(px, py)) covered += 1;
  };
  const rows = (px, from, to) => {
    for (let py = Math.max(from, y); py < Math.min(to, y + h); py++) if (at(px, py)) covered += 1;
  };
  if (y === 0) columns(0);
  if (height > 1 && y + h === height) columns(height - 1);
  if (x === 0) rows(0, 1, height - 1);
  if (width > 1 && x + w === width) rows(width - 1, 1, height - 1);
  return covered;
}

export function perimeter(width, height) {
  return width === 1 || height === 1 ? width * height : 2 * (width + height) - 4;
}

// True when the mask covers more than half of the image's border.
export function touchesMostOfBorder(mask, width, height) {
  if (!mask.width) return false;
  return borderPixels(mask, width, height) > perimeter(width, height) / 2;
}

// result: {mask (bounded), area (pixels), score}; filter as DEFAULT_FILTER.
export function passes(result, filter, width, height) {
  const share = result.area / (width * height);
  if (share < filter.minArea || share > filter.maxArea) return false;
  if ((result.score ?? 1) < filter.minScore) return false;
  if (filter.skipBorder && touchesMostOfBorder(result.mask, width, height)) return false;
  return true;
}

export function filterResults(results, filter, width, height) {
  return results.filter((r) => passes(r, filter, width, height));
}
