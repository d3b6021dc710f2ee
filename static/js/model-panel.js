// The model panel: list, download with progress, load with progress, cancel, and the model
// currently loaded (read back from the project state, so a refresh or a colleague sees it).
// Live events arrive as "annotator:event" from the page's WebSocket.

import { api, errorMessage } from "./socket.js";

for (const panel of document.querySelectorAll(".model-panel")) setUp(panel);

function setUp(panel) {
  const project = panel.dataset.project;
  const q = (selector) => panel.querySelector(selector);
  const select = q(".model-select");
  const models = new Map();
  let pendingLoad = null; // a load to start once its download has finished
  let activeJob = null;

  async function init() {
    const [list, current] = await Promise.all([
      api("GET", "/api/models/"),
      api("GET", `/api/projects/${project}/model/`),
    ]);
    if (!list.ok) return message(errorMessage(list), true);
    select.replaceChildren();
    for (const model of list.data) {
      models.set(model.key, model);
      const option = document.createElement("option");
      option.value = model.key;
      const extra = model.kind === "classic" ? " (no weights needed)" : model.present ? "" : ` — download ${Math.round(model.download_mb)} MB`;
      option.textContent = model.label + extra;
      select.append(option);
    }
    const manual = document.createElement("option");
    manual.value = "manual";
    manual.textContent = "Enter a checkpoint path manually…";
    select.append(manual);
    if (current.ok) showState(current.data);
  }

  function showState(state) {
    const active = state.active || {};
    q(".model-current").textContent = active.label || active.key || "none";
    if (active.key && models.has(active.key)) select.value = active.key;
    if (state.status === "loading") {
      busy(true, state.job_id);
      progress(null, state.message || "Loading…");
    } else {
      busy(false);
      message(state.message || "", state.status === "failed");
    }
  }

  function busy(on, jobId = null) {
    activeJob = on ? jobId : null;
    q(".model-load").disabled = on || panel.dataset.readOnly === "true";
    q(".model-cancel").hidden = !on;
    q(".progress").hidden = !on;
  }

  function progress(fraction, text) {
    q(".progress-bar").style.width = fraction == null ? "100%" : `${Math.round(fraction * 100)}%`;
    q(".progress-bar").classList.toggle("indeterminate", fraction == null);
    q(".progress-text").textContent = text;
  }

  function message(text, error = false) {
    const el = q(".model-message");
    el.textContent = text;
    el.classList.toggle("error", error);
  }

  function choice() {
    const key = select.value;
    const params = { device: q(".model-device").value, apply_postprocessing: q(".model-postprocessing").checked };
    if (key === "manual") {
      return { key, checkpoint: q(".model-checkpoint").value.trim(), config: q(".model-config").value.trim(), params };
    }
    return { key, params };
  }

  async function load() {
    const wanted = choice();
    const model = models.get(wanted.key);
    if (model && model.kind === "sam2" && !model.present) {
      const started = await api("POST", `/api/projects/${project}/model/download/`, { key: wanted.key });
      if (!started.ok) return message(errorMessage(started), true);
      pendingLoad = wanted;
      busy(true, started.data.id);
      progress(0, "Downloading…");
      return;
    }
    const started = await api("POST", `/api/projects/${project}/model/load/`, wanted);
    if (!started.ok) return message(errorMessage(started), true);
    busy(true, started.data.id);
    progress(null, "Loading…");
  }

  async function cancel() {
    if (pendingLoad) {
      await api("POST", `/api/projects/${project}/model/download/cancel/`, { key: pendingLoad.key });
      pendingLoad = null;
    } else {
      await api("POST", `/api/projects/${project}/model/load/cancel/`);
    }
  }

  function onJob(job) {
    if (job.kind !== "model_download" && job.kind !== "model_load") return;
    if (activeJob && job.id !== activeJob) return;
    if (job.status === "running" || job.status === "queued" || job.status === "cancelling") {
      busy(true, job.id);
      const fraction = job.total ? job.done / job.total : null;
      const eta = job.eta_seconds ? `, ${Math.ceil(job.eta_seconds)} s left` : "";
      const text = job.total ? `${job.message || ""} ${Math.round(fraction * 100)}%${eta}` : job.message || "Working…";
      progress(fraction, text.trim());
      return;
    }
    busy(false);
    if (job.status === "done" && job.kind === "model_download" && pendingLoad) {
      const next = pendingLoad;
      pendingLoad = null;
      models.get(next.key).present = true;
      api("POST", `/api/projects/${project}/model/load/`, next).then((started) => {
        if (!started.ok) return message(errorMessage(started), true);
        busy(true, started.data.id);
        progress(null, "Loading…");
      });
      return;
    }
    pendingLoad = null;
    message(job.message || job.status, job.status === "failed");
  }

  document.addEventListener("annotator:event", (event) => {
    const { type, data } = event.detail;
    if (type === "job.progress") onJob(data);
    if (type === "model.state") showState(data);
  });
  select.addEventListener("change", () => {
    q(".model-manual").hidden = select.value !== "manual";
  });
  q(".model-load").addEventListener("click", load);
  q(".model-cancel").addEventListener("click", cancel);
  init();
}
