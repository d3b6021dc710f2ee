// The header's "Review (N)" for owners and reviewers of a project with the review stage: N is
// how many submitted images wait, read again when an image changes.

import { api } from "../socket.js";
import { $, P } from "./page.js";

let timer = null;

async function update() {
  const result = await api("GET", `/api/projects/${P}/review-queue/`);
  if (result.ok) $("#review-count").textContent = String(result.data.queue);
}

export function initReviewCount() {
  if ($("#review-count")) update();
}

export function reviewCountEvent() {
  if (!$("#review-count")) return;
  clearTimeout(timer);
  timer = setTimeout(update, 300);
}
