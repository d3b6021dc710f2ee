// The pool automask card: start, cancel, resume, and the job's progress. Everything the card
// shows comes from one payload (the latest job.progress or REST answer) through
// lib/eta.js progressView, so the bar, the line and the buttons always agree.

import { api, errorMessage } from "../socket.js";
import { progressView } from "../lib/eta.js";
import { $, P, config, refresh, say, setProgress } from "./page.js";

const card = {
  start: $("#automask-start"),
  cancel: $("#automask-cancel"),
  resume: $("#automask-resume"),
  box: $("#automask-progress"),
  message: $("#automask-message"),
  canEdit: config.role === "owner" || config.role === "annotator",
};
const state = { payload: null, receivedAt: 0, cancelAsked: false, ticking: null };

const EXPLAIN = {
  queued: "Waiting for a worker…",
  running: "",
  cancelling: "Cancelling… the image in progress finishes first; every image done is kept.",
};

function render() {
  const payload = state.payload;
  if (!payload) return;
  const ageSeconds = (performance.now() - state.receivedAt) / 1000;
  const view = progressView(payload, { ageSeconds, cancelAsked: state.cancelAsked });
  card.start.hidden = view.active;
  card.cancel.hidden = !view.active;
  card.cancel.disabled = view.cancelling || !card.canEdit;
  card.cancel.textContent = view.cancelling ? "Cancelling…" : "Cancel";
  card.resume.hidden = !(view.status === "cancelled" || view.status === "failed");
  card.box.dataset.status = view.status;
  setProgress(card.box, view.fraction, view.text);
  const words = view.status in EXPLAIN ? EXPLAIN[view.status] : payload.message || view.status;
  say(card.message, words, view.status === "failed");
  tick(view.status === "running" && payload.eta_seconds != null);
}

// While an estimate is shown, it counts down each second until the next payload.
function tick(on) {
  if (on && !state.ticking) state.ticking = setInterval(render, 1000);
  if (!on && state.ticking) {
    clearInterval(state.ticking);
    state.ticking = null;
  }
}

const ACTIVE = ["queued", "running", "cancelling"];

// A payload of the job on the card, or of a newer one (started from another tab). An ended
// job comes back only through a resume (`restart`), never from a late answer.
export function showAutomaskJob(payload, { restart = false } = {}) {
  const current = state.payload;
  if (current && payload.id < current.id) return;
  const ended = current && current.id === payload.id && !ACTIVE.includes(current.status);
  if (ended && ACTIVE.includes(payload.status) && !restart) return;
  if (current && payload.id !== current.id) state.cancelAsked = false;
  state.payload = payload;
  state.receivedAt = performance.now();
  if (!ACTIVE.includes(payload.status)) state.cancelAsked = false;
  render();
  if (payload.status === "done") refresh("pool");
}

function automaskParams() {
  const params = {};
  for (const input of $("#automask-form").querySelectorAll("input")) {
    if (input.value !== "") params[input.name] = Number(input.value);
  }
  return params;
}

async function start() {
  const params = automaskParams();
  api("PATCH", `/api/projects/${P}/state/`, { automask_params: params });
  card.start.disabled = true;
  const result = await api("POST", `/api/projects/${P}/automask/`, { params });
  card.start.disabled = !card.canEdit;
  if (!result.ok) return say(card.message, errorMessage(result), true);
  showAutomaskJob(result.data.job || result.data, { restart: true });
}

async function cancel() {
  if (!state.payload) return;
  state.cancelAsked = true; // the card says so at once; the server's event confirms it
  render();
  const result = await api("POST", `/api/automask/${state.payload.id}/cancel/`);
  if (!result.ok) {
    state.cancelAsked = false;
    render();
    return say(card.message, errorMessage(result), true);
  }
  showAutomaskJob(result.data);
}

async function resume() {
  if (!state.payload) return;
  card.resume.disabled = true;
  const result = await api("POST", `/api/automask/${state.payload.id}/resume/`);
  card.resume.disabled = false;
  if (!result.ok) return say(card.message, errorMessage(result), true);
  state.cancelAsked = false;
  showAutomaskJob(result.data.job || result.data, { restart: true });
}

export function initAutomask() {
  card.start.addEventListener("click", start);
  card.cancel.addEventListener("click", cancel);
  card.resume.addEventListener("click", resume);
}
