// The open image's own menu: mark it completed or reopen it, export just this image (the
// server answers with the file at once), and remove it from the pool or restore it.

import { api, csrfToken, errorMessage } from "../socket.js";
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

on("#image-menu-button", "click", toggle);
on("#image-export", "click", exportImage);
on("#image-remove", "click", removeOrRestore);
on("#complete-toggle", "click", close);
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && !event.target.closest(".image-menu-wrap")) close();
});
