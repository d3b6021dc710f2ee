// The Comments panel: the open image's threads of comments and issues, with replies, who
// wrote them and when, and whether an issue is resolved. Issues pinned to a point are drawn on
// the canvas as numbered pins; clicking an issue selects its object or centres its point.
// The panel reads the threads again whenever the project says they changed (comment.changed).

import { api, errorMessage } from "../socket.js";
import { $, canvas, config, escapeHtml, focusCanvas, on, toast } from "./page.js";
import { objects, select } from "./objects.js";
import { session } from "./session.js";
import { addLayer, pan, render, view } from "./view.js";

export const comments = {
  imageId: null,
  threads: [], // as the server sends them, each with .number when it is an issue
  openIssues: 0,
  reviewState: "none",
  latestReview: null,
  submittedBy: null,
};

let loading = 0;

const STATE_TEXT = {
  submitted: (c) => `Submitted for review${c.submittedBy ? ` by ${c.submittedBy}` : ""}, waiting for a reviewer.`,
  rejected: (c) => `Rejected${c.latestReview?.reviewer ? ` by ${c.latestReview.reviewer}` : ""}: resolve the open issues, then submit again.`,
  accepted: (c) => `Accepted${c.latestReview?.reviewer ? ` by ${c.latestReview.reviewer}` : ""}.`,
};

// Read the open image's comments. `opened`: a newly opened image (the panel opens itself when
// there are open issues); `live`: someone changed them (it opens for what others wrote).
export async function loadComments({ opened = false, live = null } = {}) {
  const image = session.image;
  if (!image) return;
  const ticket = ++loading;
  const result = await api("GET", `/api/images/${image.id}/comments/`);
  if (ticket !== loading || session.image?.id !== image.id) return;
  if (!result.ok) {
    toast(errorMessage(result), "error");
    return;
  }
  const before = comments.imageId === image.id ? comments.openIssues : 0;
  comments.imageId = image.id;
  comments.threads = result.data.threads;
  comments.openIssues = result.data.open_issues;
  comments.reviewState = result.data.review_state;
  comments.latestReview = result.data.latest_review;
  comments.submittedBy = result.data.submitted_by;
  let number = 0;
  for (const thread of comments.threads) if (thread.is_issue) thread.number = ++number;
  renderComments();
  const panel = $("#comments-panel");
  if (opened && comments.openIssues > 0) panel.open = true;
  if (live && live.by !== config.username && (live.action === "added" || live.action === "rejected")) panel.open = true;
  if (comments.openIssues > before && !opened) panel.open = true;
  render();
}

export function onCommentChanged(data) {
  if (session.image && data.image_id === session.image.id) loadComments({ live: data });
}

function when(iso) {
  const date = new Date(iso);
  return `<time datetime="${escapeHtml(iso)}" title="${escapeHtml(date.toLocaleString())}">${escapeHtml(date.toLocaleString([], { dateStyle: "short", timeStyle: "short" }))}</time>`;
}

function where(thread) {
  if (thread.object_id) {
    const obj = objects.list.find((o) => o.id === thread.object_id);
    return `on object ${escapeHtml(obj?.name || `#${thread.object_id}`)}`;
  }
  if (thread.point) return `at (${Math.round(thread.point[0])}, ${Math.round(thread.point[1])})`;
  return "";
}

function threadHtml(thread) {
  const resolved = Boolean(thread.resolved_at);
  const state = thread.is_issue
    ? `<span class="issue-state ${resolved ? "resolved" : "open"}">${resolved ? `resolved${thread.resolved_by ? ` by ${escapeHtml(thread.resolved_by)}` : ""}` : "open"}</span>`
    : "";
  const pin = thread.is_issue ? `<span class="pin-number" aria-label="Issue ${thread.number}">${thread.number}</span>` : "";
  const place = where(thread);
  const replies = thread.replies
    .map((r) => `<li><span class="author">${escapeHtml(r.author || "someone")}</span> ${when(r.created_at)}<p>${escapeHtml(r.body)}</p></li>`)
    .join("");
  const actions = config.canComment
    ? `<div class="thread-actions">
        ${thread.is_issue ? `<button type="button" class="resolve">${resolved ? "Reopen" : "Resolve"}</button>` : ""}
        <button type="button" class="reply">Reply</button>
      </div>
      <form class="reply-form" hidden>
        <textarea rows="2" aria-label="Reply"></textarea>
        <button type="submit">Send reply</button>
      </form>`
    : "";
  return `<div class="thread-head">${pin}<span class="author">${escapeHtml(thread.author || "someone")}</span> ${when(thread.created_at)} ${state}</div>
    <p class="thread-body">${escapeHtml(thread.body)}</p>
    ${place ? `<p class="thread-where muted small">${place}</p>` : ""}
    ${replies ? `<ol class="replies">${replies}</ol>` : ""}
    ${actions}`;
}

export function renderComments() {
  const list = $("#comments");
  list.replaceChildren();
  for (const thread of comments.threads) {
    const item = document.createElement("li");
    const resolved = Boolean(thread.resolved_at);
    item.className = `thread${thread.is_issue ? ` issue ${resolved ? "resolved" : "open"}` : ""}`;
    item.dataset.id = thread.id;
    item.innerHTML = threadHtml(thread);
    item.addEventListener("click", (e) => {
      if (e.target.closest("button,textarea,form")) return;
      showThread(thread);
    });
    item.querySelector(".resolve")?.addEventListener("click", () => resolve(thread, !resolved));
    const form = item.querySelector(".reply-form");
    item.querySelector(".reply")?.addEventListener("click", () => {
      form.hidden = !form.hidden;
      if (!form.hidden) form.querySelector("textarea").focus();
    });
    form?.addEventListener("submit", (e) => {
      e.preventDefault();
      reply(thread, form.querySelector("textarea").value);
    });
    list.append(item);
  }
  if (!comments.threads.length) list.innerHTML = '<li class="muted small empty">No comments on this image.</li>';
  const count = comments.threads.length;
  const open = comments.openIssues;
  $("#comments-count").textContent = count ? `(${count}${open ? `, ${open} open ${open === 1 ? "issue" : "issues"}` : ""})` : "";
  const summary = $("#review-summary");
  const text = STATE_TEXT[comments.reviewState]?.(comments) || "";
  summary.hidden = !text;
  summary.textContent = text;
}

// Clicking an issue: its object is selected, or the view centres its point.
function showThread(thread) {
  if (thread.object_id && objects.list.some((o) => o.id === thread.object_id)) select(thread.object_id);
  if (thread.point) {
    const { scale } = view.transform;
    pan(canvas.width / 2 - thread.point[0] * scale, canvas.height / 2 - thread.point[1] * scale);
  }
  focusCanvas();
}

async function resolve(thread, resolved) {
  const result = await api("POST", `/api/comments/${thread.id}/resolve/`, { resolved });
  if (!result.ok) return toast(errorMessage(result), "error");
  loadComments();
}

async function reply(thread, body) {
  const result = await api("POST", `/api/images/${session.image.id}/comments/`, { body, parent: thread.id });
  if (!result.ok) return toast(errorMessage(result), "error");
  loadComments();
}

async function addComment() {
  const body = $("#comment-body").value;
  const payload = { body };
  if ($("#comment-on-object").checked) {
    if (objects.selected === null) return toast("Select the object first: click it in the list or with the Select tool (V).");
    payload.object_id = objects.selected;
  }
  const result = await api("POST", `/api/images/${session.image.id}/comments/`, payload);
  if (!result.ok) return toast(errorMessage(result), "error");
  $("#comment-body").value = "";
  $("#comment-on-object").checked = false;
  loadComments();
}

on("#comment-form", "submit", (e) => {
  e.preventDefault();
  addComment();
});

export function drawPin(ctx, point, text, color, scale) {
  const r = 10 / scale;
  ctx.globalAlpha = 1;
  ctx.beginPath();
  ctx.arc(point[0], point[1], r, 0, Math.PI * 2);
  ctx.fillStyle = color;
  ctx.fill();
  ctx.lineWidth = 2 / scale;
  ctx.strokeStyle = "#ffffff";
  ctx.stroke();
  ctx.fillStyle = "#ffffff";
  ctx.font = `bold ${11 / scale}px system-ui, sans-serif`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(text, point[0], point[1]);
  ctx.textAlign = "start";
  ctx.textBaseline = "alphabetic";
}

addLayer(60, (ctx, { scale }) => {
  if (comments.imageId !== session.image?.id) return;
  for (const thread of comments.threads) {
    if (!thread.is_issue || !thread.point) continue;
    drawPin(ctx, thread.point, String(thread.number), thread.resolved_at ? "#7a8294" : "#e0245e", scale);
  }
});
