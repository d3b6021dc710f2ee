// Opening an image and moving through the pool: previous, next, next unprocessed, complete
// and next, my history, and undo/redo of the image's edits on the server.

import { api, errorMessage } from "../socket.js";
import { resetAutomask, setAutomask } from "./automask.js";
import { $, config, on, spinner, toast } from "./page.js";
import { resetPrompt } from "./prompts.js";
import { objects, setObjects } from "./objects.js";
import { onConflict, session, setImage, updateImage, write } from "./session.js";
import { fit, render, view } from "./view.js";

let announce = () => {};
let opening = 0;

// Called with the image id once an image is open (the socket tells the server).
export function onOpened(listener) {
  announce = listener;
}

export function displayName(image) {
  return image.name || image.path;
}

export async function openImage(imageId, { pushHistory = true } = {}) {
  const ticket = ++opening;
  spinner(true);
  const result = await api("POST", `/api/images/${imageId}/open/`);
  if (ticket !== opening) return; // a later navigation won
  if (!result.ok) {
    spinner(false);
    toast(errorMessage(result), "error");
    return;
  }
  const opened = result.data;
  const picture = await loadPicture(opened.image);
  if (ticket !== opening) return;
  spinner(false);
  objects.selected = null;
  setImage(opened.image, { canUndo: opened.can_undo, canRedo: opened.can_redo });
  view.picture = picture;
  resetPrompt();
  if (pushHistory) history.pushState({ imageId }, "", `/projects/${config.project}/images/${imageId}/`);
  $("#position").textContent = `${opened.position} / ${opened.total}`;
  const name = displayName(opened.image);
  $("#image-name").textContent = name;
  $("#image-name").title = opened.image.path;
  document.title = `${name} · ${config.projectName || "Annotator"}`;
  setObjects(opened.records.objects);
  setAutomask(opened.records.automask_runs);
  resetAutomask();
  announce(imageId);
  fit();
  render();
}

function loadPicture(image) {
  return new Promise((resolve) => {
    const picture = new Image();
    picture.decoding = "async";
    picture.onload = () => resolve(picture);
    picture.onerror = () => {
      toast("The image could not be loaded.", "error");
      resolve(null);
    };
    picture.src = `/api/images/${image.id}/file/?v=${image.key || image.version}`;
  });
}

export async function navigate(direction) {
  const from = session.image ? `&from=${session.image.id}` : "";
  const result = await api("GET", `/api/projects/${config.project}/navigate/?direction=${direction}${from}`);
  if (!result.ok) return toast(errorMessage(result), "error");
  if (!result.data.image) {
    toast(direction === "next_unprocessed" ? "Every image is completed." : "No more images that way.");
    return;
  }
  openImage(result.data.image.id);
}

export async function completeAndNext() {
  if (!session.image || config.readOnly) return;
  const result = await api("POST", `/api/images/${session.image.id}/complete-and-next/`);
  if (!result.ok) return toast(errorMessage(result), "error");
  if (result.data.next) openImage(result.data.next.id);
  else {
    updateImage(result.data.completed);
    toast("Completed. Every image of the pool is completed now.");
  }
}

export async function toggleCompleted() {
  if (!session.image || config.readOnly) return;
  const result = await api("POST", `/api/images/${session.image.id}/complete/`, { completed: !session.image.completed });
  if (!result.ok) return toast(errorMessage(result), "error");
  updateImage(result.data);
}

export async function travel(direction) {
  if (!session.image || config.readOnly) return;
  const result = await write("POST", `/api/images/${session.image.id}/${direction}/`, { version: session.image.version });
  if (result) setObjects(result.objects);
}

export async function showHistory() {
  const panel = $("#history");
  if (!panel.hidden) {
    panel.hidden = true;
    return;
  }
  const result = await api("GET", `/api/projects/${config.project}/history/`);
  if (!result.ok) return toast(errorMessage(result), "error");
  panel.replaceChildren();
  if (!result.data.length) panel.textContent = "You have not edited any image yet.";
  for (const entry of result.data) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `history-item status-${entry.image.status}`;
    button.textContent = displayName(entry.image);
    button.title = entry.image.path;
    button.addEventListener("click", () => {
      panel.hidden = true;
      openImage(entry.image.id);
    });
    panel.append(button);
  }
  panel.hidden = false;
}

// After a conflict: reload shows theirs; a re-applied change reloads the records, so the page
// shows exactly what the server holds (a re-applied delete leaves no ghost behind).
onConflict({
  reload: () => openImage(session.image.id, { pushHistory: false }),
  reapplied: async () => {
    const records = await api("GET", `/api/images/${session.image.id}/records/`);
    if (records.ok) {
      setObjects(records.data.objects);
      setAutomask(records.data.automask_runs);
    }
  },
});

on("#prev", "click", () => navigate("previous"));
on("#next", "click", () => navigate("next"));
on("#next-unprocessed", "click", () => navigate("next_unprocessed"));
on("#complete-next", "click", () => completeAndNext());
on("#complete-toggle", "click", () => toggleCompleted());
on("#history-button", "click", () => showHistory());
on("#undo", "click", () => travel("undo"));
on("#redo", "click", () => travel("redo"));
window.addEventListener("popstate", (event) => event.state?.imageId && openImage(event.state.imageId, { pushHistory: false }));
