// The open image's own menu: export just this image, and remove it from the pool or restore
// it. Exports run as jobs; their events say when the file is ready to download.

import { api, errorMessage } from "../socket.js";
import { $, config, on, toast } from "./page.js";
import { session, updateImage } from "./session.js";

const exporting = { job: null };

function close() {
  $("#image-menu").hidden = true;
  $("#image-menu-button").setAttribute("aria-expanded", "false");
}

function toggle() {
  const menu = $("#image-menu");
  menu.hidden = !menu.hidden;
  $("#image-menu-button").setAttribute("aria-expanded", String(!menu.hidden));
  if (!menu.hidden) showRemoval();
}

function showRemoval() {
  const removed = Boolean(session.image?.removed_at);
  const remove = $("#image-remove");
  if (!remove) return;
  remove.textContent = removed ? "Restore to the pool" : "Remove from the pool";
}

function say(text, failed = false) {
  const line = $("#image-export-message");
  line.textContent = text;
  line.classList.toggle("bad", failed);
}

async function exportImage() {
  const format = $("#image-export-format").value;
  const body = { scope: "image", image_id: session.image.id, format };
  $("#image-export-download").hidden = true;
  say("Exporting…");
  const result = await api("POST", `/api/projects/${config.project}/exports/`, body);
  if (!result.ok) return say(errorMessage(result), true);
  exporting.job = result.data.job.id;
  showJob(result.data.job, result.data.download_url);
}

function showJob(job, downloadUrl) {
  if (job.id !== exporting.job) return;
  if (job.status === "done") {
    const link = $("#image-export-download");
    link.href = downloadUrl || `/api/exports/${job.id}/download/`;
    link.hidden = false;
    say("Ready.");
  } else if (job.status === "failed" || job.status === "cancelled") {
    say(job.message || "The export failed.", true);
  }
}

// job.progress events of the project socket.
export function onExportEvent(job) {
  if (job.kind === "export") showJob(job);
}

async function removeOrRestore() {
  const image = session.image;
  const action = image.removed_at ? "restore" : "remove";
  const result = await api("POST", `/api/images/${image.id}/${action}/`);
  if (!result.ok) return toast(errorMessage(result), "error");
  updateImage({ removed_at: result.data.removed_at ?? null });
  showRemoval();
  toast(action === "remove" ? "Removed from the pool: exports and navigation skip it now. Restore it from this menu." : "Restored to the pool.");
}

on("#image-menu-button", "click", toggle);
on("#image-export", "click", exportImage);
on("#image-remove", "click", removeOrRestore);
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && !event.target.closest(".image-menu-wrap")) close();
});
