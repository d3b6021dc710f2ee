// The model panel's pure parts: what the form shows for a project's model state, what a
// load asks for from the form's values, and what a job payload reads as. No DOM, no fetch.

// SAM2ImagePredictor's defaults, as the server's LoadParams has them.
export const DEFAULT_PARAMS = Object.freeze({ device: "auto", apply_postprocessing: true });

export const VIEWER_TITLE = "Only owners and annotators load a model: ask one of them.";

// The line of a model in the list: weight-free, downloadable, or ready.
export function modelOptionLabel(model) {
  if (model.kind === "classic") return `${model.label} (no weights needed)`;
  if (model.present) return model.label;
  return `${model.label} — download ${Math.round(Number(model.download_mb) || 0)} MB`;
}

// What the form shows for a project's model state: the active model and the parameters it
// was loaded with (a reload from the form keeps them unless the person changes them).
export function formFromState(state) {
  const active = state?.active || {};
  const params = { ...DEFAULT_PARAMS, ...(state?.params || {}), ...(active.params || {}) };
  return {
    key: active.key || "",
    device: String(params.device || DEFAULT_PARAMS.device),
    applyPostprocessing: params.apply_postprocessing !== false,
    checkpoint: active.key === "manual" ? active.checkpoint || "" : "",
    config: active.key === "manual" ? active.config || "" : "",
  };
}

// The body of a load request from the form's values. A manual checkpoint that is the active
// one keeps the config overrides it was loaded with (the form has no field for them).
export function choiceFromForm(form, state) {
  const params = { device: form.device, apply_postprocessing: Boolean(form.applyPostprocessing) };
  if (form.key !== "manual") return { key: form.key, params };
  const choice = { key: "manual", checkpoint: form.checkpoint.trim(), config: form.config.trim(), params };
  const active = state?.active || {};
  const same = active.key === "manual" && active.checkpoint === choice.checkpoint && active.config === choice.config;
  if (same && Array.isArray(active.overrides) && active.overrides.length) choice.overrides = [...active.overrides];
  return choice;
}

// Whether a load of `choice` needs its weights downloaded first.
export function needsDownload(models, choice) {
  const model = models.get(choice.key);
  return Boolean(model && model.kind === "sam2" && !model.present);
}

export const ACTIVE_STATUSES = ["queued", "running", "cancelling"];

// What a model job payload reads as: {active, fraction (null: unknown), text, failed}.
export function jobView(job) {
  const active = ACTIVE_STATUSES.includes(job.status);
  if (!active) return { active, fraction: null, text: job.message || job.status, failed: job.status === "failed" };
  const total = Number(job.total) || 0;
  const fraction = total ? Math.min(1, Math.max(0, (Number(job.done) || 0) / total)) : null;
  const eta = job.eta_seconds ? `, ${Math.ceil(job.eta_seconds)} s left` : "";
  const text = total ? `${job.message || ""} ${Math.round(fraction * 100)}%${eta}` : job.message || "Working…";
  return { active, fraction, text: text.trim(), failed: false };
}

// Whether a job payload belongs to the panel: a model job, and the one it follows if any.
export function jobConcernsPanel(job, followedId) {
  if (job.kind !== "model_download" && job.kind !== "model_load") return false;
  return !followedId || job.id === followedId;
}
