// The pool panel: its filters (kept for the next visit) and refreshes when images change.
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
