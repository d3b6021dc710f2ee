import assert from "node:assert/strict";
import { test } from "node:test";

import { etaNow, formatDuration, progressView } from "../../static/js/lib/eta.js";

test("durations read as seconds, minutes, then hours", () => {
  assert.equal(formatDuration(0.2), "1 s");
  assert.equal(formatDuration(49), "49 s");
  assert.equal(formatDuration(89.4), "90 s");
  assert.equal(formatDuration(540), "9 min");
  assert.equal(formatDuration(4800), "80 min");
  assert.equal(formatDuration(6000), "1 h 40 min");
  assert.equal(formatDuration(-1), "");
  assert.equal(formatDuration(Number.NaN), "");
});

test("the bar and the line read the same numbers", () => {
  for (let done = 0; done <= 62; done++) {
    const view = progressView({ status: "running", done, total: 62, eta_seconds: (62 - done) * 2 });
    assert.equal(view.fraction, done / 62);
    assert.ok(view.text.startsWith(`${done} / 62 · `), view.text);
  }
});

test("a running job says how long is left, counting down between payloads", () => {
  const payload = { status: "running", done: 9, total: 62, eta_seconds: 106 };
  assert.equal(progressView(payload).text, "9 / 62 · about 2 min left");
  assert.equal(progressView(payload, { ageSeconds: 60 }).text, "9 / 62 · about 46 s left");
  assert.equal(progressView(payload, { ageSeconds: 200 }).text, "9 / 62 · finishing…");
  assert.equal(progressView({ ...payload, eta_seconds: null }).text, "9 / 62 · estimating time left…");
  assert.equal(etaNow(null, 3), null);
  assert.equal(etaNow(10, 3), 7);
});

test("a job being cancelled shows no time left, even from an older running payload", () => {
  const running = { status: "running", done: 9, total: 62, eta_seconds: 49 };
  const asked = progressView(running, { cancelAsked: true });
  assert.equal(asked.status, "cancelling");
  assert.equal(asked.text, "9 / 62 · cancelling…");
  assert.ok(asked.active && asked.cancelling);
  const confirmed = progressView({ ...running, status: "cancelling", eta_seconds: null });
  assert.equal(confirmed.text, "9 / 62 · cancelling…");
  const ended = progressView({ ...running, status: "cancelled" }, { cancelAsked: true });
  assert.equal(ended.status, "cancelled");
  assert.ok(!ended.active);
  assert.equal(ended.text, "9 / 62 · cancelled");
});

test("odd payloads give a readable card, never NaN", () => {
  const view = progressView({ status: "running", done: "x", total: undefined, eta_seconds: "soon" });
  assert.equal(view.fraction, 0);
  assert.equal(view.text, "0 · estimating time left…");
  assert.equal(progressView({ status: "done", done: 70, total: 62 }).done, 62);
  assert.equal(progressView(null).status, "queued");
});

// Payloads as the server sends them during a run of 2 s images: the estimate it computed
// when each image ended, then counted down here until the next payload. What the card
// says stays within 30 % of the time truly left after five images.
test("the countdown between payloads stays within 30 % of the time left", () => {
  const durations = [2.1, 1.8, 2.3, 1.9, 2.0, 2.2, 1.7, 2.4, 2.0, 1.9, 2.1, 2.0, 1.8, 2.2, 2.0];
  const total = durations.length + 20; // 20 more images at 2 s after these
  const ends = [];
  let t = 0;
  for (const d of durations) ends.push((t += d));
  const finish = t + 20 * 2.0;
  for (let i = 4; i < ends.length - 1; i++) {
    const recent = ends.slice(Math.max(0, i - 19), i + 1);
    const perImage = (recent.at(-1) - recent[0]) / (recent.length - 1);
    const payload = { status: "running", done: i + 1, total, eta_seconds: perImage * (total - i - 1) };
    for (let age = 0; age < ends[i + 1] - ends[i]; age += 0.5) {
      const shown = etaNow(payload.eta_seconds, age);
      const truth = finish - (ends[i] + age);
      assert.ok(Math.abs(shown - truth) <= 0.3 * truth, `${i} ${age} ${shown} ${truth}`);
    }
  }
});
