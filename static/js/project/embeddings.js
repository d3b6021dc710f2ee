// The "First clicks" card: prepare the pool's image features ahead (a job with progress,
// cancel and resume), or let the project do it on its own when a model is loaded or images
// are added.

import { api, errorMessage } from "../socket.js";
import { $, P, say, setProgress } from "./page.js";

const card = { job: null, seen: new Map() };

function show(job) {
  card.job = job.id;
  const running = job.status === "queued" || job.status === "running";
  const box = $("#embeddings-progress");
  box.hidden = !running && job.status !== "done";
  setProgress(box, job.total ? job.done / job.total : 0, job.total ? `${job.done} / ${job.total} images` : "starting…");
  $("#embeddings-cancel").hidden = !running;
  $("#embeddings-cancel").disabled = false;
  $("#embeddings-resume").hidden = job.status !== "cancelled";
  $("#embeddings-start").hidden = running;
  const text = { done: "Every image is prepared.", cancelled: "Cancelled: prepared images are kept.", cancelling: "Cancelling…" }[job.status];
  say($("#embeddings-message"), text || job.message || job.status, job.status === "failed");
}

export function embeddingsJobEvent(job) {
  card.seen.set(job.id, job);
  if (card.job === null || job.id === card.job) show(job);
}

async function start() {
  $("#embeddings-start").disabled = true;
  const result = await api("POST", `/api/projects/${P}/embeddings/`, {});
  $("#embeddings-start").disabled = false;
  if (!result.ok) return say($("#embeddings-message"), errorMessage(result), true);
  show(card.seen.get(result.data.id) || result.data);
}

async function cancel() {
  $("#embeddings-cancel").disabled = true;
  say($("#embeddings-message"), "Cancelling…");
  const result = await api("POST", `/api/jobs/${card.job}/cancel/`);
  if (!result.ok) say($("#embeddings-message"), errorMessage(result), true);
}

async function resume() {
  const result = await api("POST", `/api/embeddings/${card.job}/resume/`);
  if (!result.ok) return say($("#embeddings-message"), errorMessage(result), true);
  show(result.data);
}

async function setAuto(event) {
  const result = await api("PATCH", `/api/projects/${P}/state/`, { embeddings_auto: event.target.checked });
  if (!result.ok) {
    event.target.checked = !event.target.checked;
    return say($("#embeddings-message"), errorMessage(result), true);
  }
  say($("#embeddings-message"), event.target.checked ? "Images will be prepared on their own." : "Images are prepared only when you ask.");
}

export function initEmbeddings() {
  if (!$("#embeddings-card")) return;
  $("#embeddings-start").addEventListener("click", start);
  $("#embeddings-cancel").addEventListener("click", cancel);
  $("#embeddings-resume").addEventListener("click", resume);
  $("#embeddings-auto").addEventListener("change", setAuto);
}
