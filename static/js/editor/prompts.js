// The prompt being built on the open image (points and boxes), the request it sends to SAM2
// over the socket, and the candidates that come back. One box or one point gives alternatives
// of one object (keep one); several boxes give one object per box (keep them all).

import { decodeBounded } from "../lib/rle.js";
import { drawLayer, maskLayer } from "./masks.js";
import { $, config, focusCanvas, spinner, toast } from "./page.js";
import { session, write } from "./session.js";
import { objects, selectedObject, upsertObject } from "./objects.js";
import { addLayer, render, view } from "./view.js";

export const prompt = {
  points: [], // {x, y, label}
  boxes: [], // [x1, y1, x2, y2]
  candidates: null, // {predictionId, masks (bounded), layers, scores, chosen, perBox}
  lastPrediction: null, // {id, index} for refining with mask_input
  requestSeq: 0,
  pending: null,
};

let send = () => {};
let sentHere = () => {};

// The socket's send(type, data); set once the socket exists.
export function usePromptSender(sender) {
  send = sender;
}

// Called with each request sent, so the browser's decoder can show its mask until the server's.
export function useLocalDecoder(listener) {
  sentHere = listener;
}

export function addPoint(x, y, positive) {
  prompt.points.push({ x: Math.round(x), y: Math.round(y), label: positive ? 1 : 0 });
  predict();
}

export function addBox(box, { another = false } = {}) {
  prompt.boxes = another ? [...prompt.boxes, box] : [box];
  predict();
}

export function hasPrompt() {
  return prompt.points.length > 0 || prompt.boxes.length > 0 || prompt.candidates !== null;
}

export function predict() {
  if (!session.image) return;
  prompt.requestSeq += 1;
  const data = {
    request_id: String(prompt.requestSeq),
    image_id: session.image.id,
    multimask_output: prompt.boxes.length === 0 && prompt.points.length <= 1,
  };
  if (prompt.points.length) {
    data.point_coords = prompt.points.map((p) => [p.x, p.y]);
    data.point_labels = prompt.points.map((p) => p.label);
  }
  if (prompt.boxes.length === 1) data.box = prompt.boxes[0];
  if (prompt.boxes.length > 1) data.box = prompt.boxes;
  if ($("#refine").checked && prompt.lastPrediction) {
    data.mask_input_prediction = prompt.lastPrediction.id;
    data.mask_input_index = prompt.lastPrediction.index;
  }
  if (!data.point_coords && !data.box) {
    prompt.candidates = null;
    renderCandidates();
    render();
    return;
  }
  prompt.pending = prompt.requestSeq;
  spinner(true);
  send("predict", data);
  sentHere(data);
}

// A reply from the server; false when a newer request has superseded it.
export function isCurrent(requestId) {
  return requestId === String(prompt.requestSeq);
}

export function onPrediction(data) {
  prompt.pending = null;
  spinner(false);
  const masks = data.masks.map((rle) => decodeBounded(rle));
  const perBox = prompt.boxes.length > 1 && masks.length === prompt.boxes.length;
  const colors = ["#ffd400", "#00e5ff", "#ff7f00", "#7cfc00", "#ff4df0", "#ffffff"];
  prompt.candidates = {
    predictionId: data.prediction_id,
    masks,
    layers: masks.map((m, i) => maskLayer(m, perBox ? colors[i % colors.length] : "#ffd400")),
    scores: data.scores,
    chosen: 0,
    perBox,
  };
  prompt.lastPrediction = { id: data.prediction_id, index: 0 };
  renderCandidates();
  render();
}

export function onPredictionError(message) {
  prompt.pending = null;
  spinner(false);
  toast(message, "error");
}

function newObjectLabel() {
  const value = $("#label-select")?.value;
  return value ? Number(value) : null;
}

// Keep candidate `index` (or every box's mask, for several boxes).
export async function keepCandidate(index) {
  const c = prompt.candidates;
  if (!c || !session.image) return;
  if (c.perBox) return keepEach();
  if (index >= c.masks.length) return;
  const body = { version: session.image.version, index };
  const label = newObjectLabel();
  if (label) body.label_id = label;
  const target = selectedObject();
  if (target && $("#refine").checked) body.object_id = target.id;
  const result = await write("POST", `/api/predictions/${c.predictionId}/choose/`, body);
  if (!result) return;
  upsertObject(result.object);
  objects.selected = result.object.id;
  finish({ id: c.predictionId, index });
}

async function keepEach() {
  const c = prompt.candidates;
  const body = { version: session.image.version };
  const label = newObjectLabel();
  if (label) body.label_id = label;
  const result = await write("POST", `/api/predictions/${c.predictionId}/keep-each/`, body);
  if (!result) return;
  for (const record of result.objects) upsertObject(record);
  toast(`${result.objects.length} objects added, one per box.`);
  finish(null);
}

function finish(lastPrediction) {
  prompt.lastPrediction = lastPrediction;
  prompt.points = [];
  prompt.boxes = [];
  prompt.candidates = null;
  renderCandidates();
  render();
}

export function clearPrompt() {
  prompt.points = [];
  prompt.boxes = [];
  prompt.candidates = null;
  prompt.requestSeq += 1; // an answer still on its way is stale now
  prompt.pending = null;
  spinner(false);
  renderCandidates();
  render();
}

// A new image starts with no prompt and nothing to refine.
export function resetPrompt() {
  clearPrompt();
  prompt.lastPrediction = null;
}

export function chooseCandidate(index) {
  const c = prompt.candidates;
  if (!c || c.perBox || index >= c.masks.length) return;
  c.chosen = index;
  prompt.lastPrediction = { id: c.predictionId, index };
  renderCandidates();
  render();
}

function renderCandidates() {
  const list = $("#candidates");
  list.replaceChildren();
  const c = prompt.candidates;
  $("#candidates-panel").hidden = !c;
  if (!c) return;
  const keep = $("#keep");
  if (c.perBox) {
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = `${c.masks.length} boxes: one object per box.`;
    list.append(note);
    keep.textContent = `Keep ${c.masks.length} objects`;
    return;
  }
  keep.textContent = "Keep";
  c.scores.forEach((score, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = i === c.chosen ? "candidate chosen" : "candidate";
    button.textContent = `${i + 1}: ${(score * 100).toFixed(1)}%`;
    button.title = "Click to preview, double-click (or press its number) to keep";
    button.addEventListener("click", () => {
      chooseCandidate(i);
      focusCanvas();
    });
    button.addEventListener("dblclick", () => keepCandidate(i));
    list.append(button);
  });
}

addLayer(30, (ctx) => {
  const c = prompt.candidates;
  if (!c) return;
  const alpha = Math.min(1, view.opacity + 0.2);
  if (c.perBox) for (const layer of c.layers) drawLayer(ctx, layer, alpha);
  else drawLayer(ctx, c.layers[c.chosen], alpha);
});

addLayer(50, (ctx, { scale }) => {
  const unit = 1 / scale;
  ctx.lineWidth = 2 * unit;
  ctx.strokeStyle = "#00e5ff";
  for (const b of prompt.boxes) ctx.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
  for (const p of prompt.points) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, 6 * unit, 0, Math.PI * 2);
    ctx.fillStyle = p.label ? "#2ecc40" : "#ff4136";
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }
});

// Controls present only for roles that write.
if (!config.readOnly) $("#keep")?.addEventListener("click", () => keepCandidate(prompt.candidates?.chosen ?? 0));
