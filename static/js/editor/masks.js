// Mask layers: a mask painted once in one colour on a canvas the size of its bounding box,
// then drawn at its place. The cost of a frame grows with the masks' areas, not with their
// count times the image size.
//
// A layer is painted when it is first drawn, and the layers not drawn yet are painted in
// slices of idle time once the editor is quiet: opening an image with hundreds of automask
// results (hidden by default) paints only what the first frame shows.
//
// Layers can be made ahead of time: while the annotator works on one image, the next one's
// masks are decoded and painted in idle time too (prepareRecords). They are kept by content
// (box, colour and a hash of the pixels), so when that image opens, maskLayer finds each one
// ready and building the layers costs a hash instead of a paint.

import { PALETTE, hexToRgb, instanceColor } from "../lib/colors.js";
import { decodeBounded } from "../lib/rle.js";

const prepared = new Map(); // content key -> layer, oldest first
const PREPARED_LIMIT = 1200; // layers: about two images of SAM2 automask results
const SLICE_MS = 8; // the longest stretch of idle time one slice of preparing may take

export function maskLayer(mask, color) {
  if (!mask.width) return null;
  const key = contentKey(mask, color);
  const ready = prepared.get(key);
  if (ready) {
    prepared.delete(key);
    return ready;
  }
  const layer = { x: mask.x, y: mask.y, width: mask.width, height: mask.height, canvas: null, mask, color };
  paintLater(layer);
  return layer;
}

function painted(layer) {
  if (!layer.canvas) {
    layer.canvas = paint(layer.mask, layer.color);
    layer.mask = null;
  }
  return layer.canvas;
}

function paint(mask, color) {
  const canvas = document.createElement("canvas");
  canvas.width = mask.width;
  canvas.height = mask.height;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(mask.width, mask.height);
  const [r, g, b] = hexToRgb(color);
  const rgba = new Uint32Array(pixels.data.buffer);
  // ImageData is RGBA in memory; a little-endian Uint32 holds it as ABGR.
  const value = ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  const data = mask.data;
  for (let i = 0; i < data.length; i++) if (data[i]) rgba[i] = value;
  context.putImageData(pixels, 0, 0);
  return canvas;
}

// Layers made but not drawn yet, painted once no layer has been made for QUIET_MS (so a
// brush stroke, which makes one per pointer move, never paints stale ones).
const waiting = [];
let quietTimer = null;
const QUIET_MS = 250;

function paintLater(layer) {
  waiting.push(new WeakRef(layer));
  clearTimeout(quietTimer);
  quietTimer = setTimeout(() => idle(paintWaiting), QUIET_MS);
}

function paintWaiting() {
  const until = performance.now() + SLICE_MS;
  while (waiting.length && performance.now() < until) {
    const layer = waiting.pop().deref();
    if (layer) painted(layer);
  }
  if (waiting.length) idle(paintWaiting);
}

// Box, colour and an FNV-1a hash of the pixels, read four at a time.
function contentKey(mask, color) {
  const data = mask.data;
  const words = data.byteOffset % 4 === 0 ? new Uint32Array(data.buffer, data.byteOffset, data.length >> 2) : null;
  let hash = 0x811c9dc5;
  let i = 0;
  if (words) {
    for (; i < words.length; i++) hash = Math.imul(hash ^ words[i], 0x01000193);
    i *= 4;
  }
  for (; i < data.length; i++) hash = Math.imul(hash ^ data[i], 0x01000193);
  return `${mask.x},${mask.y},${mask.width},${mask.height},${color},${hash >>> 0}`;
}

// Make ahead the layers an image's records will ask for, with the colours the editor gives
// them: objects by instance, automask results by their place in the run. Yields between
// slices; a later call (another image) stops an earlier one. Resolves when done or stopped.
let preparing = 0;
export function prepareRecords(records) {
  const ticket = ++preparing;
  const work = [];
  for (const obj of records.objects || []) work.push([obj.mask, instanceColor(obj.id)]);
  const run = (records.automask_runs || [])[0];
  if (run) run.masks.forEach((m, i) => work.push([m.segmentation, PALETTE[i % PALETTE.length]]));
  return new Promise((resolve) => {
    let next = 0;
    const slice = () => {
      if (ticket !== preparing) return resolve(false);
      const until = performance.now() + SLICE_MS;
      while (next < work.length && performance.now() < until) {
        const [rle, color] = work[next++];
        const mask = decodeBounded(rle);
        if (!mask.width) continue;
        const key = contentKey(mask, color);
        if (!prepared.has(key)) prepared.set(key, { x: mask.x, y: mask.y, width: mask.width, height: mask.height, canvas: paint(mask, color) });
      }
      while (prepared.size > PREPARED_LIMIT) prepared.delete(prepared.keys().next().value);
      if (next < work.length) idle(slice);
      else resolve(true);
    };
    idle(slice);
  });
}

function idle(callback) {
  if (window.requestIdleCallback) requestIdleCallback(callback, { timeout: 200 });
  else setTimeout(callback, 0);
}

export function drawLayer(ctx, layer, alpha) {
  if (!layer) return;
  ctx.globalAlpha = alpha;
  ctx.drawImage(painted(layer), layer.x, layer.y);
}

// The outline of a layer's box, for the hovered object.
export function outlineLayer(ctx, layer, color, scale) {
  if (!layer) return;
  ctx.globalAlpha = 1;
  ctx.strokeStyle = color;
  ctx.lineWidth = 2 / scale;
  ctx.setLineDash([6 / scale, 4 / scale]);
  ctx.strokeRect(layer.x, layer.y, layer.width, layer.height);
  ctx.setLineDash([]);
}
