// What the canvas shows: the picture under a zoom and pan transform, with the overlays of the
// other modules drawn on top in the order they were added. Coordinates sent to the server are
// image pixels; the view transform exists only here.

import { fitView, insideImage, screenToImage, zoomAt } from "../lib/geometry.js";
import { canvas } from "./page.js";
import { session } from "./session.js";

const ctx = canvas.getContext("2d");

export const view = {
  picture: null, // the decoded HTMLImageElement of the open image (.scaled: a smaller copy)
  transform: { scale: 1, x: 0, y: 0 },
  hover: null, // the pointer in image pixels, or null when it is off the canvas
  opacity: 0.5,
};

const layers = [];

// draw(ctx, transform) is called on every frame, in image pixels, lowest z first:
// automask 10, objects 20, candidates 30, tools 40, prompt points and boxes 50.
export function addLayer(z, draw) {
  layers.push({ z, draw });
  layers.sort((a, b) => a.z - b.z);
}

export function fit() {
  const rect = canvas.parentElement.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(rect.width * dpr);
  canvas.height = Math.round(rect.height * dpr);
  canvas.style.width = `${rect.width}px`;
  canvas.style.height = `${rect.height}px`;
  const image = session.image;
  if (image) view.transform = fitView(canvas.width, canvas.height, image.width, image.height);
}

export function toImage(event) {
  const rect = canvas.getBoundingClientRect();
  const dpr = canvas.width / rect.width;
  const sx = (event.clientX - rect.left) * dpr;
  const sy = (event.clientY - rect.top) * dpr;
  return { ...screenToImage(view.transform, sx, sy), sx, sy };
}

export function inside(p) {
  const image = session.image;
  return Boolean(image) && insideImage(p, image.width, image.height);
}

export function zoom(sx, sy, factor) {
  view.transform = zoomAt(view.transform, sx, sy, factor);
  render();
}

export function pan(x, y) {
  view.transform = { ...view.transform, x, y };
  render();
}

let frameRequested = false;
export function render() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    draw();
  });
}

function draw() {
  const { scale, x, y } = view.transform;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const image = session.image;
  if (!image || !view.picture) return;
  ctx.setTransform(scale, 0, 0, scale, x, y);
  // Smooth when shrinking, sharp pixels when zoomed in.
  ctx.imageSmoothingEnabled = scale < 1;
  // A large photo shrunk to the screen is drawn from its scaled copy: the same view, without
  // resampling millions of pixels on every frame.
  const scaled = view.picture.scaled;
  const source = scaled && scale * image.width <= scaled.width ? scaled : view.picture;
  ctx.drawImage(source, 0, 0, image.width, image.height);
  for (const layer of layers) {
    ctx.globalAlpha = 1;
    layer.draw(ctx, view.transform);
  }
  ctx.globalAlpha = 1;
}

window.addEventListener("resize", () => {
  fit();
  render();
});
