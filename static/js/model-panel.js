// The model panel: list, download with progress, load with progress, cancel, and the model
// currently loaded (read back from the project state, so a refresh or a colleague sees it).
// Live events arrive as "annotator:event" from the page's WebSocket.
//
// Each panel owns one `panel` record (its models, the project's model state, the job it
// follows, a load waiting on a download); every change goes through it and `render` shows it.
// Viewers get the panel to read: every write control disabled, the Load button hidden.

import {
  VIEWER_TITLE,
  choiceFromForm,
  formFromState,
  jobConcernsPanel,
  jobView,
  modelOptionLabel,
  needsDownload,
} from "./lib/model-choice.js";
import { api, errorMessage } from "./socket.js";

for (const element of document.querySelectorAll(".model-panel")) setUp(element);

function setUp(element) {
  const q = (selector) => element.querySelector(selector);
  const panel = {
    project: element.dataset.project,
    readOnly: element.dataset.readOnly === "true",
    models: new Map(),
    state: null,
    job: null, // {id, fraction, text} of the job the panel follows
    pendingLoad: null, // a load to start once its download has finished
    message: { text: "", error: false },
  };
  const controls = [".model-select", ".model-device", ".model-postprocessing", ".model-checkpoint", ".model-config", ".model-load"];

  function render() {
    const busy = panel.job !== null;
    for (const selector of controls) {
      const control = q(selector);
      control.disabled = panel.readOnly || (selector === ".model-load" && busy);
      if (panel.readOnly) control.title = VIEWER_TITLE;
    }
    q(".model-load").hidden = panel.readOnly;
    q(".model-cancel").hidden = !busy || panel.readOnly;
    q(".progress").hidden = !busy;
    if (busy) {
      q(".progress-bar").style.width = panel.job.fraction == null ? "100%" : `${Math.round(panel.job.fraction * 100)}%`;
      q(".progress-bar").classList.toggle("indeterminate", panel.job.fraction == null);
      q(".progress-text").textContent = panel.job.text;
    }
    const line = q(".model-message");
    line.textContent = panel.message.text;
    line.classList.toggle("error", panel.message.error);
    q(".model-manual").hidden = q(".model-select").value !== "manual";
  }

  function say(text, error = false) {
    panel.message = { text, error };
    render();
  }

  function follow(id, text, fraction = null) {
    panel.job = { id, text, fraction };
    render();
  }

  function showForm(state) {
    const form = formFromState(state);
    if (form.key && (panel.models.has(form.key) || form.key === "manual")) q(".model-select").value = form.key;
    q(".model-device").value = form.device;
    q(".model-postprocessing").checked = form.applyPostprocessing;
    if (form.key === "manual") {
      q(".model-checkpoint").value = form.checkpoint;
      q(".model-config").value = form.config;
    }
  }

  function showState(state) {
    panel.state = state;
    const active = state.active || {};
    q(".model-current").textContent = active.label || active.key || "none";
    if (state.status === "loading") {
      follow(state.job_id, state.message || "Loading…");
      return;
    }
    showForm(state);
    panel.job = null;
    say(state.message || "", state.status === "failed");
  }

  function formValues() {
    return {
      key: q(".model-select").value,
      device: q(".model-device").value,
      applyPostprocessing: q(".model-postprocessing").checked,
      checkpoint: q(".model-checkpoint").value,
      config: q(".model-config").value,
    };
  }

  async function startLoad(choice) {
    const started = await api("POST", `/api/projects/${panel.project}/model/load/`, choice);
    if (!started.ok) return say(errorMessage(started), true);
    follow(started.data.id, "Loading…");
  }

  async function load() {
    if (panel.readOnly) return;
    const choice = choiceFromForm(formValues(), panel.state);
    if (!needsDownload(panel.models, choice)) return startLoad(choice);
    const started = await api("POST", `/api/projects/${panel.project}/model/download/`, { key: choice.key });
    if (!started.ok) return say(errorMessage(started), true);
    panel.pendingLoad = choice;
    follow(started.data.id, "Downloading…", 0);
  }

  async function cancel() {
    const pending = panel.pendingLoad;
    panel.pendingLoad = null;
    const result = pending
      ? await api("POST", `/api/projects/${panel.project}/model/download/cancel/`, { key: pending.key })
      : await api("POST", `/api/projects/${panel.project}/model/load/cancel/`);
    if (!result.ok) say(errorMessage(result), true);
  }

  function onJob(job) {
    if (!jobConcernsPanel(job, panel.job?.id)) return;
    const view = jobView(job);
    if (view.active) return follow(job.id, view.text, view.fraction);
    panel.job = null;
    const next = panel.pendingLoad;
    panel.pendingLoad = null;
    if (job.status === "done" && job.kind === "model_download" && next) {
      const model = panel.models.get(next.key);
      if (model) model.present = true;
      startLoad(next);
      return;
    }
    say(view.text, view.failed);
  }

  function fillList(list) {
    const select = q(".model-select");
    select.replaceChildren();
    for (const model of list) {
      panel.models.set(model.key, model);
      select.append(new Option(modelOptionLabel(model), model.key));
    }
    select.append(new Option("Enter a checkpoint path manually…", "manual"));
  }

  async function init() {
    const [list, current] = await Promise.all([
      api("GET", "/api/models/"),
      api("GET", `/api/projects/${panel.project}/model/`),
    ]);
    if (!list.ok) return say(errorMessage(list), true);
    fillList(list.data);
    if (current.ok) showState(current.data);
    else say(errorMessage(current), true);
  }

  document.addEventListener("annotator:event", (event) => {
    const { type, data } = event.detail || {};
    if (type === "job.progress") onJob(data);
    if (type === "model.state") showState(data);
  });
  q(".model-select").addEventListener("change", render);
  q(".model-load").addEventListener("click", load);
  q(".model-cancel").addEventListener("click", cancel);
  render();
  init();
}
