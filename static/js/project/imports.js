// The import dialog: a file of annotations from another tool (or this one) becomes objects
// or masks to review, as a job; when it ends, its report says what was created, which
// images were not matched and which annotations were refused, with the reason.

import { api, errorMessage } from "../socket.js";
import { $, P, refresh, say, setProgress } from "./page.js";

const importer = { job: null, seen: new Map() };

function list(title, rows) {
  if (!rows.length) return "";
  const items = rows.map((row) => `<li>${row}</li>`).join("");
  return `<h3>${title}</h3><ul>${items}</ul>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function showReport(report) {
  const box = $("#import-report");
  if (!report || !report.created) {
    box.hidden = true;
    return;
  }
  const made = report.created.objects ?? report.created.masks ?? 0;
  const what = report.mode === "predictions" ? "masks to review" : "objects";
  const parts = [`<p><strong>${made} ${what}</strong> on ${report.created.images} image(s).</p>`];
  if (report.labels_created?.length) parts.push(`<p>Labels created: ${report.labels_created.map(escape).join(", ")}.</p>`);
  parts.push(list(`Labels not in the project (${report.unmatched_labels.length})`, report.unmatched_labels.map((l) => `${escape(l.name)}: ${l.annotations} annotation(s)`)));
  parts.push(list(`Images not matched (${report.unmatched_count})`, report.unmatched_images.map((i) => `${escape(i.name)}${i.reason ? ` — ${escape(i.reason)}` : ""}`)));
  parts.push(list(`Annotations refused (${report.invalid_count})`, report.invalid.map((i) => `${escape(i.image)} · ${escape(i.annotation)}: ${escape(i.reason)}`)));
  box.innerHTML = parts.join("");
  box.hidden = false;
}

function showJob(job) {
  const box = $("#import-progress");
  setProgress(box, job.total ? job.done / job.total : 0, job.total ? `${job.done} / ${job.total}` : job.status);
  const failed = job.status === "failed" || job.status === "cancelled";
  say($("#import-message"), job.message || job.status, failed);
  if (["done", "failed", "cancelled"].includes(job.status)) {
    box.hidden = true;
    $("#import-start").disabled = false;
    showReport(job.result);
    if (job.status === "done") refresh("pool");
  }
}

// job.progress events of kind import; they can come before the reply that started the job.
export function importJobEvent(job) {
  importer.seen.set(job.id, job);
  if (job.id === importer.job) showJob(job);
}

async function startImport() {
  const form = $("#import-form");
  const file = form.file.files[0];
  if (!file) return say($("#import-message"), "Choose a file to import.", true);
  const body = new FormData();
  body.append("file", file);
  body.append("format", form.format.value);
  body.append("mode", form.mode.value);
  body.append("create_labels", form.create_labels.checked ? "true" : "false");
  $("#import-start").disabled = true;
  $("#import-report").hidden = true;
  $("#import-progress").hidden = false;
  say($("#import-message"), `Uploading ${file.name}…`);
  const result = await api("POST", `/api/projects/${P}/imports/`, body);
  if (!result.ok) {
    $("#import-start").disabled = false;
    $("#import-progress").hidden = true;
    return say($("#import-message"), errorMessage(result), true);
  }
  importer.job = result.data.job.id;
  showJob(importer.seen.get(importer.job) || result.data.job);
}

export function initImports() {
  if (!$("#import-dialog")) return;
  $("#import-start").addEventListener("click", startImport);
  $("#import-close").addEventListener("click", () => $("#import-dialog").close());
}
