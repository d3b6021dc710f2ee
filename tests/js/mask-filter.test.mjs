import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_FILTER, filterResults, passes, touchesMostOfBorder } from "../../static/js/lib/mask-filter.js";

function box(x, y, width, height) {
  return { x, y, width, height, data: new Uint8Array(width * height).fill(1) };
}

const W = 100;
const H = 80;

test("the background, which covers most of the border, is skipped", () => {
  const background = box(0, 0, W, H);
  assert.equal(touchesMostOfBorder(background, W, H), true);
  assert.equal(passes({ mask: background, area: W * H * 0.5, score: 0.9 }, DEFAULT_FILTER, W, H), false);
});

test("an object touching one edge is kept", () => {
  const edge = box(0, 10, 20, 30);
  assert.equal(touchesMostOfBorder(edge, W, H), false);
  assert.equal(passes({ mask: edge, area: 600, score: 0.9 }, DEFAULT_FILTER, W, H), true);
});

test("a speck below the minimum area share is skipped", () => {
  const speck = box(50, 40, 1, 1);
  assert.equal(passes({ mask: speck, area: 1, score: 0.99 }, DEFAULT_FILTER, W, H), false);
  assert.equal(passes({ mask: speck, area: 1, score: 0.99 }, { ...DEFAULT_FILTER, minArea: 0 }, W, H), true);
});

test("score and maximum area filter", () => {
  const mask = box(10, 10, 40, 40);
  const result = { mask, area: 1600, score: 0.4 };
  assert.equal(passes(result, DEFAULT_FILTER, W, H), false);
  assert.equal(passes(result, { ...DEFAULT_FILTER, minScore: 0.3 }, W, H), true);
  assert.equal(passes(result, { ...DEFAULT_FILTER, minScore: 0, maxArea: 0.1 }, W, H), false);
});

test("the border rule can be turned off", () => {
  const background = { mask: box(0, 0, W, H), area: W * H * 0.5, score: 0.9 };
  assert.deepEqual(filterResults([background], { ...DEFAULT_FILTER, skipBorder: false }, W, H), [background]);
});
