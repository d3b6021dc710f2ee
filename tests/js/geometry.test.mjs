import assert from "node:assert/strict";
import { test } from "node:test";

import { fitView, insideImage, maskBounds, normalizeBox, screenToImage, zoomAt } from "../../static/js/lib/geometry.js";

test("a fitted view centres the whole image with a margin", () => {
  const view = fitView(1000, 500, 400, 400);
  assert.equal(view.scale, (500 / 400) * 0.95);
  assert.equal(view.x, (1000 - 400 * view.scale) / 2);
  assert.equal(view.y, (500 - 400 * view.scale) / 2);
  const corner = screenToImage(view, view.x, view.y);
  assert.deepEqual(corner, { x: 0, y: 0 });
});

test("zooming keeps the image point under the pointer", () => {
  const view = { scale: 2, x: 10, y: 20 };
  const before = screenToImage(view, 300, 200);
  const zoomed = zoomAt(view, 300, 200, 1.7);
  const after = screenToImage(zoomed, 300, 200);
  assert.ok(Math.abs(before.x - after.x) < 1e-9 && Math.abs(before.y - after.y) < 1e-9);
  assert.equal(zoomed.scale, 3.4);
  assert.equal(zoomAt(view, 0, 0, 1000).scale, 64);
  assert.equal(zoomAt(view, 0, 0, 1e-6).scale, 0.05);
});

test("inside the image is the half-open pixel rectangle", () => {
  assert.ok(insideImage({ x: 0, y: 0 }, 10, 5));
  assert.ok(insideImage({ x: 9.99, y: 4.99 }, 10, 5));
  assert.ok(!insideImage({ x: 10, y: 0 }, 10, 5));
  assert.ok(!insideImage({ x: -0.01, y: 2 }, 10, 5));
});

test("a box dragged any way round is normalised to whole pixels", () => {
  assert.deepEqual(normalizeBox(50.4, 40.6, 10.2, 5.5), [10, 6, 50, 41]);
});

test("mask bounds hold every set pixel", () => {
  const mask = new Uint8Array(6 * 4);
  mask[1 * 6 + 2] = 1;
  mask[3 * 6 + 4] = 1;
  assert.deepEqual(maskBounds(mask, 6, 4), [2, 1, 3, 3]);
  assert.equal(maskBounds(new Uint8Array(24), 6, 4), null);
});
