// The open image's own menu: mark it completed or reopen it, export just this image (the
// server answers with the file at once), remove it from the pool or restore it, make it
// ground truth (owners) and read what was done on it.

import { api, csrfToken, errorMessage } from "../socket.js";
import { openImage } from "./navigation.js";
import { $, config, on, toast } from "./page.js";
import { session, updateImage } from "./session.js";

function close() {
  $("#image-menu").hidden = true;
  $("#image-menu-button").setAttribute("aria-expanded", "false");
}

function toggle() {
  const menu = $("#image-menu");
  menu.hidden = !menu.hidden;
  $("#image-menu-button").setAttribute("aria-expanded", String(!menu.hidden));
  if (!menu.hidden) {
    showRemoval();
    showGroundTruth();
    const activity = $("#image-activity");
    if (activity) activity.hidden = true; // it was another image's, perhaps
    $("#image-activity-button")?.setAttribute("aria-expanded", "false");
  }
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

// One image is answered at once with the file: it becomes the Download link.
async function exportImage() {
  const format = $("#image-export-format").value;
  const link = $("#image-export-download");
  link.hidden = true;
  say("Exporting…");
  let response;
  try {
    response = await fetch(`/api/projects/${config.project}/exports/`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
      body: JSON.stringify({ scope: "image", image_id: session.image.id, format }),
    });
  } catch {
    return say("The server cannot be reached. Check your connection and try again.", true);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    return say(body?.error?.message || `The export failed (the server answered ${response.status}).`, true);
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "export";
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  link.hidden = false;
  say(`Ready: ${name}.`);
}

async function removeOrRestore() {
  const image = session.image;
  const action = image.removed_at ? "restore" : "remove";
  const result = await api("POST", `/api/images/${image.id}/${action}/`);
  if (!result.ok) return toast(errorMessage(result), "error");
  updateImage({ removed_at: result.data.removed_at ?? null });
  showRemoval();
  close();
  toast(action === "remove" ? "Removed from the pool: exports and navigation skip it now. Restore it from this menu." : "Restored to the pool.");
}

// ---------------------------------------------------------------- ground truth (owners)

async function showGroundTruth() {
  const state = $("#ground-truth-state");
  if (!state || !session.image) return;
  const shown = session.image.id;
  const result = await api("GET", `/api/projects/${config.project}/ground-truth/?image=${shown}`);
  if (session.image?.id !== shown) return;
  if (!result.ok) {
    state.textContent = errorMessage(result);
    return;
  }
  const row = result.data.images[0];
  const on = Boolean(row?.ground_truth);
  const kind = row?.honeypot ? "yes, served as a honeypot" : "yes";
  state.textContent = on ? `${kind}; ${row.reference_objects} reference object(s)` : "no";
  $("#ground-truth-mark").hidden = on;
  $("#ground-truth-honeypot-label").hidden = on;
  $("#ground-truth-remove").hidden = !on;
}

async function markGroundTruth() {
  const honeypot = $("#ground-truth-honeypot").checked;
  const body = { images: [session.image.id], honeypot };
  const result = await api("POST", `/api/projects/${config.project}/ground-truth/`, body);
  if (!result.ok) return toast(errorMessage(result), "error");
  const count = result.data.images[0].reference_objects;
  toast(
    honeypot
      ? `Ground truth with ${count} reference object(s); the image starts again from nothing for the next annotator.`
      : `Ground truth: its ${count} object(s) are the reference now.`,
  );
  showGroundTruth();
  // The honeypot's objects are gone from the image: show it as the next annotator will.
  if (honeypot) openImage(session.image.id, { pushHistory: false });
}

async function removeGroundTruth() {
  const body = { images: [session.image.id] };
  const result = await api("POST", `/api/projects/${config.project}/ground-truth/remove/`, body);
  if (!result.ok) return toast(errorMessage(result), "error");
  toast("An ordinary image again: its reference and its scores are gone.");
  showGroundTruth();
}

// ---------------------------------------------------------------- the image's activity

const WHEN = new Intl.DateTimeFormat(undefined, { dateStyle: "short", timeStyle: "medium" });

async function showActivity() {
  const list = $("#image-activity");
  const button = $("#image-activity-button");
  if (!list.hidden) {
    list.hidden = true;
    button.setAttribute("aria-expanded", "false");
    return;
  }
  const result = await api("GET", `/api/images/${session.image.id}/activity/?limit=20`);
  if (!result.ok) return toast(errorMessage(result), "error");
  const rows = result.data.results;
  list.replaceChildren(
    ...(rows.length ? rows : [null]).map((row) => {
      const item = document.createElement("li");
      item.textContent = row
        ? `${WHEN.format(new Date(row.at))} · ${row.username ?? "someone removed"} · ${row.action}`
        : "Nothing recorded on this image yet.";
      return item;
    }),
  );
  list.hidden = false;
  button.setAttribute("aria-expanded", "true");
}

on("#image-menu-button", "click", toggle);
on("#ground-truth-mark", "click", markGroundTruth);
on("#ground-truth-remove", "click", removeGroundTruth);
on("#image-activity-button", "click", showActivity);
on("#image-export", "click", exportImage);
on("#image-remove", "click", removeOrRestore);
on("#complete-toggle", "click", close);
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && !event.target.closest(".image-menu-wrap")) close();
});
