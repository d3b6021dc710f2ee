// The open image as this page last saw it: its record (id, size, version, status, flags),
// whether undo and redo are possible, and every versioned write. A write carries the version
// this page saw; a 409 says someone else was faster, and the conflict banner offers a reload
// or re-applying the change on top of theirs.

import { api, errorMessage } from "../socket.js";
import { $, config, on, toast } from "./page.js";

export const session = {
  image: null,
  canUndo: false,
  canRedo: false,
};

let conflict = null; // {request, current} of the write the server refused
const listeners = { reload: () => {}, reapplied: () => {} };

// reload(): open the image again; reapplied(): the change went through on top of theirs.
export function onConflict(handlers) {
  Object.assign(listeners, handlers);
}

export function setImage(image, { canUndo = false, canRedo = false } = {}) {
  session.image = image;
  session.canUndo = canUndo;
  session.canRedo = canRedo;
  conflictBanner(null);
  showStatus();
  refreshUndoButtons();
}

export function updateImage(changes) {
  Object.assign(session.image, changes);
  showStatus();
}

export async function write(method, url, body) {
  if (config.readOnly) {
    toast("Your role can only view this project.");
    return null;
  }
  const imageId = session.image?.id;
  const result = await api(method, url, body);
  // The annotator moved on while it was saved: the answer is of an image no longer shown.
  if (session.image?.id !== imageId) {
    if (!result.ok) toast(errorMessage(result), "error");
    return null;
  }
  if (result.status === 409 && result.data?.error?.code === "stale_version") {
    conflictBanner(result.data.error.message, { request: { method, url, body }, current: result.data.current });
    return null;
  }
  if (!result.ok) {
    toast(errorMessage(result), "error");
    return null;
  }
  const data = result.data || {};
  if (data.image) updateImage(data.image);
  if ("can_undo" in data) {
    session.canUndo = data.can_undo;
    session.canRedo = data.can_redo;
  } else {
    session.canUndo = true;
    session.canRedo = false;
  }
  refreshUndoButtons();
  return data;
}

export function showStatus() {
  const image = session.image;
  if (!image) return;
  const badge = $("#status");
  badge.textContent = { unprocessed: "Unprocessed", in_progress: "In progress", completed: "Completed" }[image.status];
  badge.className = `status status-${image.status}`;
  $("#flags").textContent = [image.has_automask && "A", image.has_manual_prediction && "P", image.has_manual_edit && "E"]
    .filter(Boolean)
    .join(" ");
  $("#flags").title = [
    image.has_automask && "automask",
    image.has_manual_prediction && "prediction",
    image.has_manual_edit && "edited",
  ]
    .filter(Boolean)
    .join(" · ");
  const toggle = $("#complete-toggle");
  if (toggle) toggle.textContent = image.completed ? "Reopen" : "Mark completed";
  document.dispatchEvent(new CustomEvent("annotator:image", { detail: image }));
}

export function refreshUndoButtons() {
  for (const [id, enabled] of [["#undo", session.canUndo], ["#redo", session.canRedo]]) {
    const button = $(id);
    if (button) button.disabled = config.readOnly || !enabled;
  }
}

export function conflictBanner(message, retry = null) {
  const banner = $("#conflict");
  conflict = retry;
  banner.hidden = !message;
  if (!message) return;
  $("#conflict-message").textContent = message;
  $("#conflict-reapply").hidden = !retry;
}

on("#conflict-reload", "click", () => listeners.reload());
on("#conflict-reapply", "click", async () => {
  const { request, current } = conflict;
  conflictBanner(null);
  updateImage(current.image);
  const result = await write(request.method, request.url, { ...request.body, version: session.image.version });
  if (result) listeners.reapplied(result);
});
