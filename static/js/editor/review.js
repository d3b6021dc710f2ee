// The review stage in the editor: the "submitted" and "rejected" markers beside the flags, and
// for a reviewer (or an owner) on a submitted image the review bar: Accept, Reject… with a
// required comment and issues pinned to a point or an object, and Next in queue.

import { api, errorMessage } from "../socket.js";
import { drawPin, loadComments } from "./comments.js";
import { openImage } from "./navigation.js";
import { objects } from "./objects.js";
import { $, canvas, config, escapeHtml, focusCanvas, on, toast } from "./page.js";
import { session, updateImage } from "./session.js";
import { addLayer, inside, render, toImage } from "./view.js";

export const review = {
  issues: [], // the rejection being written: {body, point} or {body, object_id}
  picking: false, // the next canvas click or objects-list pick adds an issue
  sending: false,
};

const MARKERS = {
  submitted: { text: "submitted", title: "Submitted for review, waiting for a reviewer" },
  rejected: { text: "rejected", title: "Rejected: sent back to its annotator, see the comments" },
};

function showMarker(image) {
  const marker = $("#review-marker");
  const shown = MARKERS[image.review_state];
  marker.hidden = !shown;
  if (!shown) return;
  marker.textContent = shown.text;
  marker.title = shown.title;
  marker.className = `badge review-marker b-${image.review_state}`;
}

// With a review stage the image menu's toggle submits; a submitted image waits for a decision.
function showToggle(image) {
  const toggle = $("#complete-toggle");
  if (!toggle || !config.reviewRequired) return;
  toggle.hidden = image.review_state === "submitted";
  toggle.textContent = image.completed ? "Reopen" : "Submit for review";
}

function showBar(image) {
  const bar = $("#review-bar");
  if (!bar) return;
  const submitted = image.review_state === "submitted";
  bar.hidden = !(config.reviewMode || submitted);
  $("#review-accept").hidden = !submitted;
  $("#review-reject").hidden = !submitted;
  $("#review-empty").hidden = true;
  $("#review-info").textContent = submitted ? "Waiting for review" : { accepted: "Accepted", rejected: "Rejected" }[image.review_state] || "Not submitted";
  if (!submitted) closeReject();
}

function queueEmpty() {
  $("#review-bar").hidden = false;
  $("#review-accept").hidden = true;
  $("#review-reject").hidden = true;
  $("#review-empty").hidden = false;
}

async function decided(result) {
  if (!result.ok) {
    toast(errorMessage(result), "error");
    return false;
  }
  if (session.image?.id === result.data.image.id) updateImage(result.data.image);
  if (result.data.next) openImage(result.data.next);
  else queueEmpty();
  return true;
}

async function accept() {
  if (!session.image) return;
  const result = await api("POST", `/api/images/${session.image.id}/accept/`, {});
  if (await decided(result)) toast(result.data.next ? "Accepted. The next image of the queue is open." : "Accepted.");
}

async function nextInQueue() {
  const from = session.image ? `?from=${session.image.id}` : "";
  const result = await api("GET", `/api/projects/${config.project}/review-queue/${from}`);
  if (!result.ok) return toast(errorMessage(result), "error");
  if (result.data.next) openImage(result.data.next);
  else queueEmpty();
}

// ---------------------------------------------------------------- the rejection dialog

function openReject() {
  review.issues = [];
  $("#reject-comment").value = "";
  $("#reject-error").hidden = true;
  $("#reject-dialog").hidden = false;
  renderIssues();
  $("#reject-comment").focus();
}

function closeReject() {
  const dialog = $("#reject-dialog");
  if (!dialog) return;
  dialog.hidden = true;
  review.issues = [];
  setPicking(false);
  render();
}

function setPicking(picking) {
  review.picking = picking;
  $("#issue-add").setAttribute("aria-pressed", String(picking));
  $("#issue-hint").hidden = !picking;
  canvas.classList.toggle("picking-issue", picking);
  $("#objects").classList.toggle("picking-issue", picking);
}

function addIssue(where) {
  review.issues.push({ body: "", ...where });
  setPicking(false);
  renderIssues();
  render();
  const inputs = document.querySelectorAll("#reject-issues input");
  inputs[inputs.length - 1]?.focus();
}

function issuePlace(issue) {
  if (issue.object_id) {
    const obj = objects.list.find((o) => o.id === issue.object_id);
    return `object ${obj?.name || `#${issue.object_id}`}`;
  }
  return `point (${Math.round(issue.point[0])}, ${Math.round(issue.point[1])})`;
}

function renderIssues() {
  const list = $("#reject-issues");
  list.replaceChildren();
  review.issues.forEach((issue, index) => {
    const item = document.createElement("li");
    item.innerHTML = `<span class="muted small">${escapeHtml(issuePlace(issue))}</span>
      <button type="button" class="icon" title="Remove this issue" aria-label="Remove issue ${index + 1}">✕</button>
      <input type="text" aria-label="Issue ${index + 1}" placeholder="What to fix here" value="${escapeHtml(issue.body)}">`;
    item.querySelector("input").addEventListener("input", (e) => (issue.body = e.target.value));
    item.querySelector("button").addEventListener("click", () => {
      review.issues.splice(index, 1);
      renderIssues();
      render();
    });
    list.append(item);
  });
}

function fieldErrors(error) {
  const fields = error?.fields || {};
  return Object.entries(fields).map(([name, messages]) => {
    const text = Array.isArray(messages) ? messages.join(" ") : String(messages);
    const issue = name.match(/^issues\.(\d+)/);
    return issue ? `Issue ${Number(issue[1]) + 1}: ${text}` : text;
  });
}

async function sendReject() {
  if (!session.image || review.sending) return;
  const comment = $("#reject-comment").value.trim();
  const error = $("#reject-error");
  if (!comment) {
    error.textContent = "Write a comment: say what is wrong and what to change.";
    error.hidden = false;
    $("#reject-comment").focus();
    return;
  }
  const issues = review.issues.map(({ body, point, object_id }) => (point ? { body, point } : { body, object_id }));
  review.sending = true;
  const result = await api("POST", `/api/images/${session.image.id}/reject/`, { comment, issues });
  review.sending = false;
  if (!result.ok && result.status === 400) {
    const details = fieldErrors(result.data?.error);
    error.textContent = details.length ? details.join(" ") : errorMessage(result);
    error.hidden = false;
    return;
  }
  closeReject();
  if (await decided(result)) toast(result.data.next ? "Rejected and sent back. The next image of the queue is open." : "Rejected and sent back to its annotator.");
}

// While picking, a click on the image or on an object in the list adds an issue there; it
// goes no further, so the tools do not act on it.
window.addEventListener(
  "mousedown",
  (event) => {
    if (!review.picking || event.target !== canvas || event.button !== 0) return;
    event.stopPropagation();
    const p = toImage(event);
    if (!inside(p)) return;
    addIssue({ point: [Math.round(p.x * 100) / 100, Math.round(p.y * 100) / 100] });
  },
  true,
);
window.addEventListener(
  "click",
  (event) => {
    const item = review.picking && event.target.closest?.("#objects li[data-id]");
    if (!item) return;
    event.stopPropagation();
    addIssue({ object_id: Number(item.dataset.id) });
  },
  true,
);

addLayer(65, (ctx, { scale }) => {
  if ($("#reject-dialog")?.hidden !== false) return;
  review.issues.forEach((issue, index) => {
    if (issue.point) drawPin(ctx, issue.point, String(index + 1), "#ff851b", scale);
  });
});

document.addEventListener("annotator:image", (event) => {
  showMarker(event.detail);
  showToggle(event.detail);
  if (config.canReview) showBar(event.detail);
});

// Someone decided on the open image (or submitted it): its status and markers follow.
export function onImageChanged(data) {
  const image = session.image;
  if (!image || data.image_id !== image.id || !data.review_state) return;
  if (data.version < image.version) return; // news older than what this page holds
  if (data.review_state === image.review_state && data.status === image.status) return;
  updateImage({ review_state: data.review_state, status: data.status, completed: data.status === "completed" });
  loadComments();
}

on("#review-accept", "click", () => accept());
on("#review-reject", "click", () => openReject());
on("#review-next", "click", () => nextInQueue());
on("#reject-cancel", "click", () => {
  closeReject();
  focusCanvas();
});
on("#reject-send", "click", () => sendReject());
on("#reject-comment", "input", () => ($("#reject-error").hidden = true));
on("#issue-add", "click", () => setPicking(!review.picking));
