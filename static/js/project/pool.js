// The pool panel: its filters (kept for the next visit), refreshes when images change, and
// an owner's selection of images (ticked on the tiles, kept across pages and refreshes).
// The grid itself is the HTMX partial; filters and search-as-you-type are hx- attributes of
// #pool-filters in the page.

import { api } from "../socket.js";
import { $, P, refresh } from "./page.js";

let poolTimer = null;
export function refreshPoolSoon() {
  clearTimeout(poolTimer);
  poolTimer = setTimeout(() => refresh("pool"), 400);
}

export function initPool() {
  // The last pool filters are part of the user's settings of the project.
  $("#pool-filters").addEventListener("change", () => {
    const form = $("#pool-filters");
    const pool_filters = {};
    for (const name of ["status", "source", "available", "has_automask", "has_manual_prediction", "has_manual_edit", "search"]) {
      pool_filters[name] = form.elements[name].value;
    }
    api("PATCH", `/api/projects/${P}/my-settings/`, { pool_filters });
  });
}

const selected = new Set();
const selectionListeners = [];

export const selectedImages = () => [...selected];
export function onSelection(listener) {
  selectionListeners.push(listener);
}

function showSelection() {
  const line = $("#pool-selection");
  if (line) {
    line.hidden = selected.size === 0;
    $("#pool-selection-count").textContent = `${selected.size} image${selected.size === 1 ? "" : "s"} selected`;
  }
  for (const listener of selectionListeners) listener(selected.size);
}

export function initSelection() {
  const pool = $("#pool");
  if (!$("#pool-selection")) return; // owners only
  pool.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || !box.classList.contains("tile-check")) return;
    if (box.checked) selected.add(Number(box.value));
    else selected.delete(Number(box.value));
    box.closest(".tile").classList.toggle("selected", box.checked);
    showSelection();
  });
  // A new page of the grid (or a refresh) shows the selection it holds.
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target !== pool) return;
    for (const box of pool.querySelectorAll(".tile-check")) {
      box.checked = selected.has(Number(box.value));
      box.closest(".tile").classList.toggle("selected", box.checked);
    }
  });
  $("#pool-selection-clear").addEventListener("click", () => {
    selected.clear();
    for (const box of pool.querySelectorAll(".tile-check")) {
      box.checked = false;
      box.closest(".tile").classList.remove("selected");
    }
    showSelection();
  });
}
