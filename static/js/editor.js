// The canvas editor: prompts to SAM2, candidates, objects, brush and eraser, polygons,
// automask results, undo/redo and navigation. Coordinates sent to the server are image
// pixels; the view transform (zoom and pan) exists only here.

import { decode, encode } from "./rle.js";
import { ProjectSocket, api, errorMessage } from "./socket.js";

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#editor-config").textContent);
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990"];

const state = {
  image: null, // {id, width, height, version, status, ...}
  picture: null, // HTMLImageElement
  objects: [], // {id, label, name, mask (Uint8Array), canvas, color, hidden}
  selected: null,
  tool: config.ui.tool || "point",
  points: [], // {x, y, label}
  boxes: [], // [x1, y1, x2, y2]
  candidates: null, // {predictionId, masks: [Uint8Array], scores, chosen}
  lastPrediction: null, // {id, index} for refining with mask_input
  automask: [], // {id, mask, canvas}
  opacity: config.ui.opacity ?? 0.5,
  brush: config.ui.brush_size ?? 12,
  view: { scale: 1, x: 0, y: 0 },
  requestSeq: 0,
  pending: null,
  polygon: [],
  drag: null,
  spaceDown: false,
  canUndo: false,
  canRedo: false,
};

const canvas = $("#canvas");
const ctx = canvas.getContext("2d");

// ---------------------------------------------------------------- server round trips

const socket = new ProjectSocket(config.project, {
  onMessage: handleMessage,
  onState: (s) => {
    const labels = { connecting: "Connecting…", connected: "Live", reconnected: "Live (reconnected)", reconnecting: "Connection lost — reconnecting…", refused: "Not allowed — log in again" };
    const el = $("#connection");
    el.textContent = labels[s] || s;
    el.dataset.state = s;
  },
});

function handleMessage(message) {
  const data = message.data;
  switch (message.type) {
    case "prediction":
      if (data.request_id !== String(state.requestSeq)) return; // a newer click superseded it
      state.pending = null;
      spinner(false);
      showCandidates(data);
      break;
    case "error":
      if (data.request_id && data.request_id !== String(state.requestSeq)) return;
      state.pending = null;
      spinner(false);
      toast(data.message, "error");
      break;
    case "presence":
      if (state.image && data.image_id === state.image.id) showPresence(data.users);
      break;
    case "image.changed":
      if (state.image && data.image_id === state.image.id && data.version > state.image.version) {
        if (data.by !== config.username) conflictBanner(`${data.by} changed this image.`);
      }
      break;
    default:
      if (message.type && (message.type.startsWith("model") || message.type.startsWith("job"))) {
        document.dispatchEvent(new CustomEvent("annotator:event", { detail: message }));
      }
  }
}

async function openImage(imageId, { pushHistory = true } = {}) {
  spinner(true);
  const result = await api("POST", `/api/images/${imageId}/open/`);
  spinner(false);
  if (!result.ok) {
    toast(errorMessage(result), "error");
    return;
  }
  const opened = result.data;
  state.image = opened.image;
  state.points = [];
  state.boxes = [];
  state.candidates = null;
  state.lastPrediction = null;
  state.polygon = [];
  state.selected = null;
  state.canUndo = opened.can_undo;
  state.canRedo = opened.can_redo;
  conflictBanner(null);
  if (pushHistory) history.pushState({ imageId }, "", `/projects/${config.project}/images/${imageId}/`);
  $("#position").textContent = `${opened.position} / ${opened.total}`;
  $("#image-name").textContent = opened.image.path;
  setStatus(opened.image);
  await loadPicture(opened.image);
  setObjects(opened.records.objects);
  setAutomask(opened.records.automask_runs);
  socket.sendSticky("open_image", { image_id: imageId });
  fit();
  render();
  refreshUndoButtons();
}

function loadPicture(image) {
  return new Promise((resolve) => {
    const picture = new Image();
    picture.onload = () => {
      state.picture = picture;
      resolve();
    };
    picture.onerror = () => {
      toast("The image could not be loaded.", "error");
      resolve();
    };
    picture.src = `/api/images/${image.id}/file/?v=${image.key || image.version}`;
  });
}

function predict() {
  if (!state.image) return;
  state.requestSeq += 1;
  const data = {
    request_id: String(state.requestSeq),
    image_id: state.image.id,
    multimask_output: state.boxes.length === 0 && state.points.length <= 1,
  };
  if (state.points.length) {
    data.point_coords = state.points.map((p) => [p.x, p.y]);
    data.point_labels = state.points.map((p) => p.label);
  }
  if (state.boxes.length === 1) data.box = state.boxes[0];
  if (state.boxes.length > 1) data.box = state.boxes;
  if ($("#refine").checked && state.lastPrediction) {
    data.mask_input_prediction = state.lastPrediction.id;
    data.mask_input_index = state.lastPrediction.index;
  }
  if (!data.point_coords && !data.box) {
    state.candidates = null;
    renderCandidates();
    render();
    return;
  }
  state.pending = state.requestSeq;
  spinner(true);
  socket.send("predict", data);
}

function showCandidates(data) {
  const masks = data.masks.map((rle) => decode(rle));
  state.candidates = { predictionId: data.prediction_id, masks, scores: data.scores, chosen: 0 };
  state.lastPrediction = { id: data.prediction_id, index: 0 };
  renderCandidates();
  render();
}

async function keepCandidate(index) {
  if (!state.candidates) return;
  const body = { version: state.image.version, index };
  const label = $("#label-select").value;
  if (label) body.label_id = Number(label);
  if (state.selected && $("#refine").checked) body.object_id = state.selected;
  const result = await write("POST", `/api/predictions/${state.candidates.predictionId}/choose/`, body);
  if (!result) return;
  upsertObject(result.object);
  state.selected = result.object.id;
  state.lastPrediction = { id: state.candidates.predictionId, index };
  state.points = [];
  state.boxes = [];
  state.candidates = null;
  renderCandidates();
  renderObjects();
  render();
}

// Every write carries the version this page saw; a 409 says someone else was faster.
async function write(method, url, body) {
  const result = await api(method, url, body);
  if (result.status === 409 && result.data?.error?.code === "stale_version") {
    conflictBanner(result.data.error.message, { body: { method, url, body }, current: result.data.current });
    return null;
  }
  if (!result.ok) {
    toast(errorMessage(result), "error");
    return null;
  }
  if (result.data?.image) {
    Object.assign(state.image, result.data.image);
    setStatus(state.image);
  }
  if ("can_undo" in (result.data || {})) {
    state.canUndo = result.data.can_undo;
    state.canRedo = result.data.can_redo;
  } else {
    state.canUndo = true;
    state.canRedo = false;
  }
  refreshUndoButtons();
  return result.data;
}

// ---------------------------------------------------------------- objects

function colorFor(obj, index) {
  return obj.label_color || PALETTE[index % PALETTE.length];
}

function maskCanvas(mask, color) {
  const { width, height } = state.image;
  const off = document.createElement("canvas");
  off.width = width;
  off.height = height;
  const c = off.getContext("2d");
  const pixels = c.createImageData(width, height);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      pixels.data[i * 4] = r;
      pixels.data[i * 4 + 1] = g;
      pixels.data[i * 4 + 2] = b;
      pixels.data[i * 4 + 3] = 255;
    }
  }
  c.putImageData(pixels, 0, 0);
  return off;
}

function setObjects(records) {
  const hidden = new Set(state.objects.filter((o) => o.hidden).map((o) => o.id));
  state.objects = records.map((record, i) => {
    const mask = decode(record.mask);
    const color = colorFor(record, i);
    return { ...record, mask, color, canvas: maskCanvas(mask, color), hidden: hidden.has(record.id) };
  });
  renderObjects();
}

function upsertObject(record) {
  const i = state.objects.findIndex((o) => o.id === record.id);
  const mask = decode(record.mask);
  const color = colorFor(record, i < 0 ? state.objects.length : i);
  const obj = { ...record, mask, color, canvas: maskCanvas(mask, color), hidden: false };
  if (i < 0) state.objects.push(obj);
  else state.objects[i] = obj;
}

function setAutomask(runs) {
  const run = runs[0];
  state.automask = run
    ? run.masks.map((m, i) => {
        const mask = decode(m.segmentation);
        return { id: m.id, mask, score: m.predicted_iou, canvas: maskCanvas(mask, PALETTE[i % PALETTE.length]) };
      })
    : [];
  state.automaskRun = run ? run.id : null;
  $("#automask-count").textContent = run ? `${state.automask.length} masks` : "none yet";
  $("#promote-all").disabled = !state.automask.length;
  $("#show-automask").disabled = !state.automask.length;
}

function renderObjects() {
  const list = $("#objects");
  list.replaceChildren();
  for (const obj of state.objects) {
    const item = document.createElement("li");
    item.className = obj.id === state.selected ? "selected" : "";
    item.dataset.id = obj.id;
    const swatch = `<span class="swatch" style="background:${obj.color}"></span>`;
    const options = config.labels
      .map((l) => `<option value="${l.id}" ${l.id === obj.label ? "selected" : ""}>${escapeHtml(l.name)}</option>`)
      .join("");
    item.innerHTML = `${swatch}<input class="name" aria-label="Object name" value="${escapeHtml(obj.name || "")}" placeholder="#${obj.id}">
      <select class="label" aria-label="Label"><option value="">—</option>${options}</select>
      <button type="button" class="icon hide" title="Hide or show" aria-label="Hide or show">${obj.hidden ? "◌" : "●"}</button>
      <button type="button" class="icon delete" title="Delete object" aria-label="Delete object">✕</button>`;
    item.addEventListener("click", (e) => {
      if (e.target.closest("input,select,button")) return;
      state.selected = state.selected === obj.id ? null : obj.id;
      renderObjects();
      render();
    });
    item.querySelector(".name").addEventListener("change", (e) => relabel(obj, { name: e.target.value }));
    item.querySelector(".label").addEventListener("change", (e) =>
      relabel(obj, { label_id: e.target.value ? Number(e.target.value) : null }),
    );
    item.querySelector(".hide").addEventListener("click", () => {
      obj.hidden = !obj.hidden;
      renderObjects();
      render();
    });
    item.querySelector(".delete").addEventListener("click", () => deleteObject(obj.id));
    list.append(item);
  }
  $("#object-count").textContent = state.objects.length;
}

async function relabel(obj, changes) {
  const result = await write("PATCH", `/api/objects/${obj.id}/`, { version: state.image.version, op: "label", ...changes });
  if (result) {
    upsertObject(result.object);
    renderObjects();
    render();
  }
}

async function deleteObject(id) {
  const result = await write("DELETE", `/api/objects/${id}/`, { version: state.image.version });
  if (!result) return;
  state.objects = state.objects.filter((o) => o.id !== id);
  if (state.selected === id) state.selected = null;
  renderObjects();
  render();
}

async function travel(direction) {
  if (!state.image) return;
  const result = await write("POST", `/api/images/${state.image.id}/${direction}/`, { version: state.image.version });
  if (!result) return;
  setObjects(result.objects);
  render();
}

async function promote(maskIds) {
  const body = { version: state.image.version };
  if (maskIds) body.mask_ids = maskIds;
  else body.run_id = state.automaskRun;
  const label = $("#label-select").value;
  if (label) body.label_id = Number(label);
  const result = await write("POST", `/api/images/${state.image.id}/promote/`, body);
  if (!result) return;
  for (const record of result.objects) upsertObject(record);
  renderObjects();
  render();
  toast(`${result.objects.length} object${result.objects.length === 1 ? "" : "s"} added.`);
}

async function runAutomask() {
  if (!state.image) return;
  spinner(true);
  const result = await api("POST", `/api/images/${state.image.id}/automask/`, { params: config.automaskParams || {} });
  spinner(false);
  if (!result.ok) {
    toast(errorMessage(result), "error");
    return;
  }
  const records = await api("GET", `/api/images/${state.image.id}/records/`);
  if (records.ok) setAutomask(records.data.automask_runs);
  const image = await api("GET", `/api/images/${state.image.id}/`);
  if (image.ok) Object.assign(state.image, image.data), setStatus(state.image);
  $("#show-automask").checked = true;
  render();
  toast(`Automask found ${state.automask.length} masks. Click one to keep it, or promote all.`);
}

// ---------------------------------------------------------------- brush, eraser, polygon

function stamp(stroke, x, y) {
  const { width, height } = state.image;
  const r = state.brush / 2;
  for (let yy = Math.max(0, Math.floor(y - r)); yy <= Math.min(height - 1, Math.ceil(y + r)); yy++) {
    for (let xx = Math.max(0, Math.floor(x - r)); xx <= Math.min(width - 1, Math.ceil(x + r)); xx++) {
      if ((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= r * r) stroke[yy * width + xx] = 1;
    }
  }
}

function strokeTo(x, y) {
  const d = state.drag;
  const steps = Math.max(1, Math.ceil(Math.hypot(x - d.lastX, y - d.lastY) / Math.max(1, state.brush / 4)));
  for (let i = 1; i <= steps; i++) stamp(d.stroke, d.lastX + ((x - d.lastX) * i) / steps, d.lastY + ((y - d.lastY) * i) / steps);
  d.lastX = x;
  d.lastY = y;
  d.strokeCanvas = maskCanvas(d.stroke, state.tool === "eraser" ? "#000000" : selectedObject()?.color || "#ffffff");
}

async function finishStroke() {
  const { stroke } = state.drag;
  const region = encode(stroke, state.image.width, state.image.height);
  const obj = selectedObject();
  let result;
  if (obj) {
    result = await write("PATCH", `/api/objects/${obj.id}/`, { version: state.image.version, op: state.tool, region });
  } else if (state.tool === "brush") {
    const body = { version: state.image.version, mask: region };
    const label = $("#label-select").value;
    if (label) body.label_id = Number(label);
    result = await write("POST", `/api/images/${state.image.id}/objects/`, body);
  } else {
    toast("Select an object to erase from.");
  }
  if (result?.object) {
    upsertObject(result.object);
    state.selected = result.object.id;
    renderObjects();
  }
  render();
}

async function closePolygon() {
  if (state.polygon.length < 3) {
    state.polygon = [];
    render();
    return;
  }
  const points = state.polygon.map((p) => [p.x, p.y]);
  state.polygon = [];
  const obj = selectedObject();
  let result;
  if (obj) {
    result = await write("PATCH", `/api/objects/${obj.id}/`, { version: state.image.version, op: "polygon", points });
  } else {
    const body = { version: state.image.version, points };
    const label = $("#label-select").value;
    if (label) body.label_id = Number(label);
    result = await write("POST", `/api/images/${state.image.id}/objects/`, body);
  }
  if (result?.object) {
    upsertObject(result.object);
    state.selected = result.object.id;
    renderObjects();
  }
  render();
}

function selectedObject() {
  return state.objects.find((o) => o.id === state.selected) || null;
}

// ---------------------------------------------------------------- view and drawing

function fit() {
  const rect = canvas.parentElement.getBoundingClientRect();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(rect.width * dpr);
  canvas.height = Math.round(rect.height * dpr);
  canvas.style.width = `${rect.width}px`;
  canvas.style.height = `${rect.height}px`;
  if (!state.image) return;
  const scale = Math.min(canvas.width / state.image.width, canvas.height / state.image.height) * 0.95;
  state.view = {
    scale,
    x: (canvas.width - state.image.width * scale) / 2,
    y: (canvas.height - state.image.height * scale) / 2,
  };
}

function toImage(event) {
  const rect = canvas.getBoundingClientRect();
  const dpr = canvas.width / rect.width;
  const sx = (event.clientX - rect.left) * dpr;
  const sy = (event.clientY - rect.top) * dpr;
  return { x: (sx - state.view.x) / state.view.scale, y: (sy - state.view.y) / state.view.scale, sx, sy };
}

function inside(p) {
  return state.image && p.x >= 0 && p.y >= 0 && p.x < state.image.width && p.y < state.image.height;
}

let frameRequested = false;
function render() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    draw();
  });
}

function draw() {
  const { scale, x, y } = state.view;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!state.image || !state.picture) return;
  ctx.setTransform(scale, 0, 0, scale, x, y);
  // Smooth when shrinking, sharp pixels when zoomed in.
  ctx.imageSmoothingEnabled = scale < 1;
  ctx.drawImage(state.picture, 0, 0, state.image.width, state.image.height);
  ctx.globalAlpha = state.opacity;
  if ($("#show-automask").checked) for (const m of state.automask) ctx.drawImage(m.canvas, 0, 0);
  for (const obj of state.objects) if (!obj.hidden) ctx.drawImage(obj.canvas, 0, 0);
  if (state.candidates) {
    const mask = state.candidates.masks[state.candidates.chosen];
    if (!state.candidates.canvas || state.candidates.canvasFor !== state.candidates.chosen) {
      state.candidates.canvas = maskCanvas(mask, "#ffd400");
      state.candidates.canvasFor = state.candidates.chosen;
    }
    ctx.globalAlpha = Math.min(1, state.opacity + 0.2);
    ctx.drawImage(state.candidates.canvas, 0, 0);
  }
  if (state.drag?.strokeCanvas) {
    ctx.globalAlpha = state.tool === "eraser" ? 0.6 : state.opacity;
    ctx.drawImage(state.drag.strokeCanvas, 0, 0);
  }
  ctx.globalAlpha = 1;
  const selected = selectedObject();
  if (selected && !selected.hidden) {
    ctx.globalAlpha = 0.9;
    ctx.drawImage(selected.canvas, 0, 0);
    ctx.globalAlpha = 1;
  }
  const unit = 1 / scale;
  ctx.lineWidth = 2 * unit;
  for (const b of state.boxes) {
    ctx.strokeStyle = "#00e5ff";
    ctx.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
  }
  if (state.drag?.kind === "box") {
    const d = state.drag;
    ctx.setLineDash([6 * unit, 4 * unit]);
    ctx.strokeStyle = "#00e5ff";
    ctx.strokeRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
    ctx.setLineDash([]);
  }
  for (const p of state.points) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, 6 * unit, 0, Math.PI * 2);
    ctx.fillStyle = p.label ? "#2ecc40" : "#ff4136";
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }
  if (state.polygon.length) {
    ctx.beginPath();
    state.polygon.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
    if (state.hover) ctx.lineTo(state.hover.x, state.hover.y);
    ctx.strokeStyle = "#ffdc00";
    ctx.stroke();
  }
  if ((state.tool === "brush" || state.tool === "eraser") && state.hover) {
    ctx.beginPath();
    ctx.arc(state.hover.x, state.hover.y, state.brush / 2, 0, Math.PI * 2);
    ctx.strokeStyle = state.tool === "eraser" ? "#ff4136" : "#fff";
    ctx.lineWidth = unit;
    ctx.stroke();
  }
}

// ---------------------------------------------------------------- input

canvas.addEventListener("contextmenu", (e) => e.preventDefault());

canvas.addEventListener("mousedown", (event) => {
  if (!state.image) return;
  const p = toImage(event);
  if (event.button === 1 || state.spaceDown) {
    state.drag = { kind: "pan", sx: p.sx, sy: p.sy, vx: state.view.x, vy: state.view.y };
    return;
  }
  if (!inside(p)) return;
  if (state.tool === "brush" || state.tool === "eraser") {
    if (config.readOnly) return toast("Your role can only view this project.");
    const stroke = new Uint8Array(state.image.width * state.image.height);
    state.drag = { kind: "stroke", stroke, lastX: p.x, lastY: p.y };
    stamp(stroke, p.x, p.y);
    strokeTo(p.x, p.y);
    render();
    return;
  }
  if (state.tool === "polygon") {
    state.polygon.push({ x: Math.round(p.x), y: Math.round(p.y) });
    render();
    return;
  }
  state.drag = { kind: "box", x0: p.x, y0: p.y, x1: p.x, y1: p.y, button: event.button, negative: event.button === 2 || event.altKey, add: event.shiftKey };
});

canvas.addEventListener("mousemove", (event) => {
  const p = toImage(event);
  state.hover = p;
  const d = state.drag;
  if (d?.kind === "pan") {
    state.view.x = d.vx + (p.sx - d.sx);
    state.view.y = d.vy + (p.sy - d.sy);
  } else if (d?.kind === "stroke") {
    strokeTo(p.x, p.y);
  } else if (d?.kind === "box") {
    d.x1 = Math.min(Math.max(p.x, 0), state.image.width - 1);
    d.y1 = Math.min(Math.max(p.y, 0), state.image.height - 1);
  }
  render();
});

window.addEventListener("mouseup", async () => {
  const d = state.drag;
  if (!d) return;
  if (d.kind === "stroke") {
    await finishStroke();
    state.drag = null;
    render();
    return;
  }
  state.drag = null;
  if (d.kind !== "box") return;
  if (config.readOnly) return toast("Your role can only view this project.");
  const dragged = Math.hypot((d.x1 - d.x0) * state.view.scale, (d.y1 - d.y0) * state.view.scale) > 8;
  if (dragged || state.tool === "box") {
    if (!dragged) return;
    const box = [Math.min(d.x0, d.x1), Math.min(d.y0, d.y1), Math.max(d.x0, d.x1), Math.max(d.y0, d.y1)].map(Math.round);
    state.boxes = d.add ? [...state.boxes, box] : [box];
  } else {
    state.points.push({ x: Math.round(d.x0), y: Math.round(d.y0), label: d.negative ? 0 : 1 });
  }
  render();
  predict();
});

canvas.addEventListener("dblclick", () => state.tool === "polygon" && closePolygon());

canvas.addEventListener("click", (event) => {
  if (state.tool !== "automask" || !$("#show-automask").checked) return;
  const p = toImage(event);
  if (!inside(p)) return;
  const index = Math.floor(p.y) * state.image.width + Math.floor(p.x);
  const hits = state.automask.filter((m) => m.mask[index]);
  if (hits.length) promote([hits[hits.length - 1].id]);
});

canvas.addEventListener(
  "wheel",
  (event) => {
    event.preventDefault();
    const p = toImage(event);
    const factor = Math.exp(-event.deltaY * 0.0015);
    const scale = Math.min(64, Math.max(0.05, state.view.scale * factor));
    state.view.x = p.sx - p.x * scale;
    state.view.y = p.sy - p.y * scale;
    state.view.scale = scale;
    render();
  },
  { passive: false },
);

window.addEventListener("resize", () => {
  fit();
  render();
});

const SHORTCUTS = {
  p: () => setTool("point"),
  b: () => setTool("box"),
  r: () => setTool("brush"),
  e: () => setTool("eraser"),
  g: () => setTool("polygon"),
  a: () => setTool("automask"),
  Escape: () => clearPrompt(),
  Enter: () => (state.tool === "polygon" ? closePolygon() : keepCandidate(state.candidates?.chosen ?? 0)),
  1: () => keepCandidate(0),
  2: () => keepCandidate(1),
  3: () => keepCandidate(2),
  "[": () => setBrush(state.brush - 2),
  "]": () => setBrush(state.brush + 2),
  d: () => navigate("next"),
  s: () => navigate("previous"),
  n: () => navigate("next_unprocessed"),
  c: () => completeAndNext(),
  h: () => $("#history-button").click(),
  f: () => (fit(), render()),
  Delete: () => state.selected && deleteObject(state.selected),
  "?": () => toggleHelp(),
  "\\": () => togglePanels(),
};

window.addEventListener("keydown", (event) => {
  if (event.target.closest("input,select,textarea")) return;
  if (event.key === " ") {
    state.spaceDown = true;
    event.preventDefault();
    return;
  }
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    travel(event.shiftKey ? "redo" : "undo");
    return;
  }
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "y") {
    event.preventDefault();
    travel("redo");
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const action = SHORTCUTS[event.key];
  if (action) {
    event.preventDefault();
    action();
  }
});
window.addEventListener("keyup", (event) => {
  if (event.key === " ") state.spaceDown = false;
});

// ---------------------------------------------------------------- panels and bars

function setTool(tool) {
  state.tool = tool;
  for (const button of document.querySelectorAll("[data-tool]")) button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
  canvas.dataset.tool = tool;
  if (tool === "automask") $("#show-automask").checked = state.automask.length > 0;
  saveSettings();
  render();
}

function setBrush(size) {
  state.brush = Math.max(1, Math.min(200, size));
  $("#brush-size").value = state.brush;
  $("#brush-size-value").textContent = state.brush;
  saveSettings();
  render();
}

function clearPrompt() {
  state.points = [];
  state.boxes = [];
  state.polygon = [];
  state.candidates = null;
  state.requestSeq += 1; // an answer still on its way is stale now
  spinner(false);
  renderCandidates();
  render();
}

function renderCandidates() {
  const list = $("#candidates");
  list.replaceChildren();
  const c = state.candidates;
  $("#candidates-panel").hidden = !c;
  if (!c) return;
  c.scores.forEach((score, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = i === c.chosen ? "candidate chosen" : "candidate";
    button.textContent = `${i + 1}: ${(score * 100).toFixed(1)}%`;
    button.title = "Click to preview, double-click (or press its number) to keep";
    button.addEventListener("click", () => {
      c.chosen = i;
      state.lastPrediction = { id: c.predictionId, index: i };
      renderCandidates();
      render();
    });
    button.addEventListener("dblclick", () => keepCandidate(i));
    list.append(button);
  });
}

function setStatus(image) {
  const badge = $("#status");
  badge.textContent = { unprocessed: "Unprocessed", in_progress: "In progress", completed: "Completed" }[image.status];
  badge.className = `status status-${image.status}`;
  $("#flags").textContent = [
    image.has_automask && "automask",
    image.has_manual_prediction && "prediction",
    image.has_manual_edit && "edited",
  ]
    .filter(Boolean)
    .join(" · ");
  $("#complete-toggle").textContent = image.completed ? "Reopen" : "Mark completed";
}

function refreshUndoButtons() {
  $("#undo").disabled = !state.canUndo;
  $("#redo").disabled = !state.canRedo;
}

function showPresence(users) {
  const others = users.filter((u) => u.username !== config.username);
  $("#presence").textContent = others.length ? `Also here: ${others.map((u) => u.username).join(", ")}` : "";
}

async function navigate(direction) {
  const from = state.image ? `&from=${state.image.id}` : "";
  const result = await api("GET", `/api/projects/${config.project}/navigate/?direction=${direction}${from}`);
  if (!result.ok) return toast(errorMessage(result), "error");
  if (!result.data.image) {
    toast(direction === "next_unprocessed" ? "Every image is completed." : "No more images that way.");
    return;
  }
  openImage(result.data.image.id);
}

async function completeAndNext() {
  if (!state.image || config.readOnly) return;
  const result = await api("POST", `/api/images/${state.image.id}/complete-and-next/`);
  if (!result.ok) return toast(errorMessage(result), "error");
  if (result.data.next) openImage(result.data.next.id);
  else {
    Object.assign(state.image, result.data.completed);
    setStatus(state.image);
    toast("Completed. Every image of the pool is completed now.");
  }
}

async function toggleCompleted() {
  const result = await api("POST", `/api/images/${state.image.id}/complete/`, { completed: !state.image.completed });
  if (!result.ok) return toast(errorMessage(result), "error");
  Object.assign(state.image, result.data);
  setStatus(state.image);
}

async function showHistory() {
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
    button.textContent = entry.image.path;
    button.addEventListener("click", () => {
      panel.hidden = true;
      openImage(entry.image.id);
    });
    panel.append(button);
  }
  panel.hidden = false;
}

function conflictBanner(message, retry) {
  const banner = $("#conflict");
  if (!message) {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  $("#conflict-message").textContent = message;
  $("#conflict-reapply").hidden = !retry;
  banner.retry = retry;
}

$("#conflict-reload").addEventListener("click", () => openImage(state.image.id, { pushHistory: false }));
$("#conflict-reapply").addEventListener("click", async () => {
  const { body, current } = $("#conflict").retry;
  conflictBanner(null);
  Object.assign(state.image, current.image);
  setObjects(current.records.objects);
  const result = await write(body.method, body.url, { ...body.body, version: state.image.version });
  if (result?.object) upsertObject(result.object);
  renderObjects();
  render();
});

let settingsTimer = null;
function saveSettings() {
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(() => {
    api("PATCH", `/api/projects/${config.project}/state/`, {
      ui_settings: { opacity: state.opacity, brush_size: state.brush, tool: state.tool, panels: state.panels },
    });
  }, 600);
}

function spinner(on) {
  $("#spinner").hidden = !on;
}

let toastTimer = null;
function toast(message, kind = "info") {
  const el = $("#toast");
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), kind === "error" ? 8000 : 4000);
}

function togglePanels(show = document.querySelector(".editor").classList.contains("no-side")) {
  document.querySelector(".editor").classList.toggle("no-side", !show);
  $("#panels-button").setAttribute("aria-pressed", String(show));
  state.panels = show ? "shown" : "hidden";
  fit();
  render();
  saveSettings();
}

function toggleHelp() {
  $("#help").hidden = !$("#help").hidden;
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

for (const button of document.querySelectorAll("[data-tool]")) button.addEventListener("click", () => setTool(button.dataset.tool));
$("#brush-size").addEventListener("input", (e) => setBrush(Number(e.target.value)));
$("#opacity").addEventListener("input", (e) => {
  state.opacity = Number(e.target.value) / 100;
  saveSettings();
  render();
});
$("#undo").addEventListener("click", () => travel("undo"));
$("#redo").addEventListener("click", () => travel("redo"));
$("#prev").addEventListener("click", () => navigate("previous"));
$("#next").addEventListener("click", () => navigate("next"));
$("#next-unprocessed").addEventListener("click", () => navigate("next_unprocessed"));
$("#complete-next").addEventListener("click", () => completeAndNext());
$("#complete-toggle").addEventListener("click", () => toggleCompleted());
$("#history-button").addEventListener("click", () => showHistory());
$("#help-button").addEventListener("click", () => toggleHelp());
$("#panels-button").addEventListener("click", () => togglePanels());
$("#help-close").addEventListener("click", () => toggleHelp());
$("#clear-prompt").addEventListener("click", () => clearPrompt());
$("#keep").addEventListener("click", () => keepCandidate(state.candidates?.chosen ?? 0));
$("#run-automask").addEventListener("click", () => runAutomask());
$("#promote-all").addEventListener("click", () => promote(null));
$("#show-automask").addEventListener("change", () => render());
window.addEventListener("popstate", (event) => event.state?.imageId && openImage(event.state.imageId, { pushHistory: false }));

$("#opacity").value = Math.round(state.opacity * 100);
state.panels = config.ui.panels || "shown";
document.querySelector(".editor").classList.toggle("no-side", state.panels === "hidden");
$("#panels-button").setAttribute("aria-pressed", String(state.panels !== "hidden"));
setBrush(state.brush);
setTool(state.tool);
fit();
if (config.image) openImage(config.image, { pushHistory: false });

// For tests and scripts driving the page.
window.annotatorEditor = { state, openImage, predict, keepCandidate };
