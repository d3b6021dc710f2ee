// Mask layers: a mask painted once in one colour on a canvas the size of its bounding box,
// then drawn at its place. The cost of a frame grows with the masks' areas, not with their
// count times the image size.

import { hexToRgb } from "../lib/colors.js";

export function maskLayer(mask, color) {
  if (!mask.width) return null;
  const canvas = document.createElement("canvas");
  canvas.width = mask.width;
  canvas.height = mask.height;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(mask.width, mask.height);
  const [r, g, b] = hexToRgb(color);
  const rgba = new Uint32Array(pixels.data.buffer);
  // ImageData is RGBA in memory; a little-endian Uint32 holds it as ABGR.
  const value = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) rgba[i] = value;
  context.putImageData(pixels, 0, 0);
  return { canvas, x: mask.x, y: mask.y };
}

export function drawLayer(ctx, layer, alpha) {
  if (!layer) return;
  ctx.globalAlpha = alpha;
  ctx.drawImage(layer.canvas, layer.x, layer.y);
}

// The outline of a layer's box, for the hovered object.
export function outlineLayer(ctx, layer, color, scale) {
  if (!layer) return;
  ctx.globalAlpha = 1;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2 / scale;
  ctx.setLineDash([6 / scale, 4 / scale]);
  ctx.strokeRect(layer.x, layer.y, layer.canvas.width, layer.canvas.height);
  ctx.setLineDash([]);
}
