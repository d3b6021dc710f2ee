import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  DEFAULT_PARAMS,
  choiceFromForm,
  formFromState,
  jobConcernsPanel,
  jobView,
  modelOptionLabel,
  needsDownload,
} from "../../static/js/lib/model-choice.js";

test("the form shows the parameters the active model was loaded with", () => {
  const on = formFromState({ active: { key: "classic", params: { device: "cpu", apply_postprocessing: true } } });
  assert.equal(on.applyPostprocessing, true);
  assert.equal(on.device, "cpu");
  assert.equal(on.key, "classic");
  const off = formFromState({ active: { key: "sam2.1_hiera_tiny", params: { apply_postprocessing: false } } });
  assert.equal(off.applyPostprocessing, false);
  assert.equal(off.device, "auto");
});

test("without a loaded model the form shows the server's defaults", () => {
  for (const state of [null, {}, { active: {} }, { params: {} }]) {
    const form = formFromState(state);
    assert.equal(form.applyPostprocessing, DEFAULT_PARAMS.apply_postprocessing);
    assert.equal(form.device, DEFAULT_PARAMS.device);
  }
  assert.equal(formFromState({ params: { apply_postprocessing: false } }).applyPostprocessing, false);
});

test("a reload from an untouched form asks for what is loaded", () => {
  const state = { active: { key: "classic", params: { device: "cpu", apply_postprocessing: true } } };
  assert.deepEqual(choiceFromForm(formFromState(state), state), {
    key: "classic",
    params: { device: "cpu", apply_postprocessing: true },
  });
});

test("a manual checkpoint keeps its overrides only while it is the active one", () => {
  const state = {
    active: { key: "manual", checkpoint: "/m/a.pt", config: "c.yaml", overrides: ["++x=1"], params: {} },
  };
  const form = formFromState(state);
  assert.equal(form.checkpoint, "/m/a.pt");
  assert.deepEqual(choiceFromForm(form, state).overrides, ["++x=1"]);
  const other = choiceFromForm({ ...form, checkpoint: " /m/b.pt " }, state);
  assert.equal(other.checkpoint, "/m/b.pt");
  assert.equal(other.overrides, undefined);
});

test("model lines say what a load costs", () => {
  assert.equal(modelOptionLabel({ kind: "classic", label: "Classic" }), "Classic (no weights needed)");
  assert.equal(modelOptionLabel({ kind: "sam2", label: "Tiny", present: true }), "Tiny");
  assert.equal(modelOptionLabel({ kind: "sam2", label: "Large", present: false, download_mb: 897.6 }), "Large — download 898 MB");
  const models = new Map([["l", { kind: "sam2", present: false }], ["c", { kind: "classic" }]]);
  assert.equal(needsDownload(models, { key: "l" }), true);
  assert.equal(needsDownload(models, { key: "c" }), false);
  assert.equal(needsDownload(models, { key: "manual" }), false);
});

test("a job payload reads as progress while active and as its message after", () => {
  assert.deepEqual(jobView({ status: "running", done: 1, total: 4, message: "Downloading" }), {
    active: true,
    fraction: 0.25,
    text: "Downloading 25%",
    failed: false,
  });
  assert.equal(jobView({ status: "queued" }).fraction, null);
  assert.deepEqual(jobView({ status: "failed", message: "Could not load" }), {
    active: false,
    fraction: null,
    text: "Could not load",
    failed: true,
  });
  assert.equal(jobConcernsPanel({ kind: "model_load", id: 3 }, null), true);
  assert.equal(jobConcernsPanel({ kind: "model_load", id: 3 }, 4), false);
  assert.equal(jobConcernsPanel({ kind: "automask", id: 3 }, null), false);
});

test("the model panel opens no native dialog", () => {
  const source = readFileSync(new URL("../../static/js/model-panel.js", import.meta.url), "utf8");
  assert.doesNotMatch(source, /\b(alert|confirm|prompt)\s*\(/);
});
