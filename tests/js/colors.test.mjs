import assert from "node:assert/strict";
import { test } from "node:test";

import { PALETTE, hexToRgb, instanceColor } from "../../static/js/lib/colors.js";

test("neighbouring instances get different colours", () => {
  const colours = Array.from({ length: PALETTE.length }, (_, i) => instanceColor(i + 1));
  assert.equal(new Set(colours).size, PALETTE.length);
});

test("an instance keeps its colour", () => {
  assert.equal(instanceColor(42), instanceColor(42));
  assert.ok(PALETTE.includes(instanceColor(-3)));
  assert.ok(PALETTE.includes(instanceColor("7")));
});

test("hex colours become RGB, and a bad one white", () => {
  assert.deepEqual(hexToRgb("#e6194b"), [230, 25, 75]);
  assert.deepEqual(hexToRgb("3cb44b"), [60, 180, 75]);
  assert.deepEqual(hexToRgb("red"), [255, 255, 255]);
});
