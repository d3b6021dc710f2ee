// Opening an image and moving through the pool: previous, next, next unprocessed, complete
// and next, my history, and undo/redo of the image's edits on the server.

import { api, errorMessage } from "../socket.js";
import { resetAutomask, setAutomask } from "./automask.js";
import { prepareRecords } from "./masks.js";
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

export async function openImage(imageId, { pushHistory = true, ready = null } = {}) {
  const ticket = ++opening;
  // Complete & next, or a history entry, may land on the image made ready ahead.
  if (!ready && ahead?.settled?.image.id === imageId && ahead.from === session.image?.id) ready = ahead.settled;
  spinner(true);
  const request = api("POST", `/api/images/${imageId}/open/`);
  // From a prefetch the image shows at once; the server's answer to the open follows.
  if (ready) show(ready, ready.picture, pushHistory);
  const picture = ready ? null : fetchPicture(imageId); // alongside the open, not after it
  const result = await request;
  if (ticket !== opening) return; // a later navigation won
  if (!result.ok) {
    spinner(false);
    toast(errorMessage(result), "error");
    return;
  }
  const opened = result.data;
  // Someone else's lease: the image can be looked at, but it is their work now.
  const heldBy = $("#held-by");
  heldBy.hidden = !opened.held_by;
  heldBy.textContent = opened.held_by ? `Held by ${opened.held_by}` : "";
  if (ready) {
    confirm(opened, ready, ticket);
  } else {
    let shown = await picture;
    if (shown && !current(shown, opened.image)) shown = await fetchPicture(imageId);
    if (ticket !== opening) return;
    if (!shown) toast("The image could not be loaded.", "error");
    show(opened, shown, pushHistory);
  }
  spinner(false);
  announce(imageId);
  prefetchNext(imageId);
}

// Show an opened image: {image, records, position?, total?, can_undo?, can_redo?}.
function show(opened, picture, pushHistory) {
  const imageId = opened.image.id;
  objects.selected = null;
  setImage(opened.image, { canUndo: opened.can_undo, canRedo: opened.can_redo });
  view.picture = picture;
  resetPrompt();
  if (pushHistory) history.pushState({ imageId }, "", `/projects/${config.project}/images/${imageId}/`);
  showPosition(opened);
  const name = displayName(opened.image);
  $("#image-name").textContent = name;
  $("#image-name").title = name;
  document.title = `${name} · ${config.projectName || "Annotator"}`;
  setObjects(opened.records.objects);
  setAutomask(opened.records.automask_runs);
  resetAutomask();
  fit();
  render();
}

function showPosition(opened) {
  $("#position").textContent = opened.position ? `${opened.position} / ${opened.total}` : "…";
}

// The server's answer to opening an image shown from a prefetch: its version, undo state
// and position; records and picture again only when they changed since the prefetch.
function confirm(opened, ready, ticket) {
  setImage(opened.image, { canUndo: opened.can_undo, canRedo: opened.can_redo });
  showPosition(opened);
  if (opened.image.version !== ready.image.version || opened.image.key !== ready.image.key) {
    setObjects(opened.records.objects);
    setAutomask(opened.records.automask_runs);
  }
  if (!current(ready.picture, opened.image)) {
    fetchPicture(opened.image.id).then((picture) => {
      if (ticket !== opening || !picture) return;
      view.picture = picture;
      render();
    });
  }
}

// The picture of an image, revalidated by its ETag (a copy in the HTTP cache costs a 304),
// decoded off the main thread, with a copy scaled for the fitted view (see view.js draw).
async function fetchPicture(imageId) {
  let response;
  try {
    response = await fetch(`/api/images/${imageId}/file/`, { cache: "no-cache", credentials: "same-origin" });
  } catch {
    return null;
  }
  if (!response.ok) return null;
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const picture = new Image();
  picture.decoding = "async";
  picture.src = url;
  try {
    const [, scaled] = await Promise.all([picture.decode(), scaledCopy(blob)]);
    picture.scaled = scaled;
  } catch {
    return null;
  } finally {
    URL.revokeObjectURL(url);
  }
  picture.dataset.imageId = String(imageId);
  picture.dataset.etag = response.headers.get("ETag") || "";
  return picture;
}

const SCALED_SIDE = 2048;

async function scaledCopy(blob) {
  if (!window.createImageBitmap) return null;
  const full = await createImageBitmap(blob);
  const factor = SCALED_SIDE / Math.max(full.width, full.height);
  if (factor >= 0.75) {
    full.close();
    return null; // small enough to draw as it is
  }
  const size = { resizeWidth: Math.round(full.width * factor), resizeHeight: Math.round(full.height * factor) };
  full.close();
  return createImageBitmap(blob, { ...size, resizeQuality: "medium" });
}

// Whether a fetched picture is of the image's content as the server now knows it: the file's
// ETag is derived from the same hash as the image's key.
function current(picture, image) {
  return !image.key || picture.dataset.etag.includes(image.key);
}

// The next image in navigation order, made ready while the annotator works on this one: its
// record and records, its picture fetched and decoded, its mask layers painted in idle time.
let ahead = null; // {from, ready: Promise<{image, records, picture, position, total} | null>, settled}

function prefetchNext(fromId) {
  if (ahead?.from === fromId) return;
  const entry = { from: fromId };
  entry.ready = (async () => {
    const step = await api("GET", `/api/projects/${config.project}/navigate/?direction=next&from=${fromId}`);
    const image = step.ok ? step.data.image : null;
    if (!image) return null;
    const [records, picture] = await Promise.all([api("GET", `/api/images/${image.id}/records/`), fetchPicture(image.id)]);
    if (!records.ok || !picture) return null;
    prepareRecords(records.data);
    // An image never read before has no size yet; its file, as served, is the oriented one.
    const size = image.width ? {} : { width: picture.naturalWidth, height: picture.naturalHeight };
    entry.settled = { image: { ...image, ...size }, records: records.data, picture, position: step.data.position, total: step.data.total };
    return entry.settled;
  })();
  ahead = entry;
}

export async function navigate(direction) {
  if (direction === "next" && session.image && ahead?.from === session.image.id) {
    const ready = await ahead.ready;
    if (ready && ahead?.from === session.image?.id) return openImage(ready.image.id, { ready });
  }
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
    toast(config.reviewRequired ? "Submitted for review. No image waits for you now." : "Completed. Every image of the pool is completed now.");
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
    button.title = displayName(entry.image);
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
