// The tools and what the pointer does with each: point and box prompts, select, brush and
// eraser strokes, polygon fill and picking automask results. Selecting: the Select tool (V),
// or Ctrl+click (⌘+click) with any prompt tool, takes the topmost object under the pointer.

import { normalizeBox } from "../lib/geometry.js";
import { encode } from "../lib/rle.js";
import { automask, hoverResult, pickAt, resultAt } from "./automask.js";
import { drawLayer, maskLayer } from "./masks.js";
import { $, canvas, config, focusCanvas, toast } from "./page.js";
import { decoderHover } from "./decoder.js";
import { addBox, addPoint, clearPrompt } from "./prompts.js";
import { hover, objectAt, objects, select, selectedObject, upsertObject } from "./objects.js";
import { session, write } from "./session.js";
import { addLayer, inside, pan, render, toImage, view, zoom } from "./view.js";

export const TOOLS = ["point", "box", "select", "brush", "eraser", "polygon", "automask"];
const WRITING = new Set(["point", "box", "brush", "eraser", "polygon", "automask"]);

export const tools = {
  tool: "point",
  brush: 12,
  polygon: [], // {x, y} in image pixels
  drag: null,
  spaceDown: false,
};

let onChange = () => {};

// Called after the tool or the brush size changed, to save the user's settings.
export function onToolChange(listener) {
  onChange = listener;
}

export function setTool(tool) {
  if (!TOOLS.includes(tool)) tool = "point";
  if (config.readOnly && WRITING.has(tool)) tool = "select";
  if (tool !== tools.tool) {
    clearPrompt();
    tools.polygon = [];
  }
  tools.tool = tool;
  for (const button of document.querySelectorAll("[data-tool]")) button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
  canvas.dataset.tool = tool;
  if (tool === "automask" && automask.results.length) $("#show-automask").checked = true;
  hover(null);
  hoverResult(null);
  onChange();
  render();
}

export function setBrush(size) {
  tools.brush = Math.max(1, Math.min(200, Math.round(size) || 1));
  $("#brush-size").value = tools.brush;
  $("#brush-size-value").textContent = tools.brush;
  onChange();
  render();
}

// ---------------------------------------------------------------- brush and eraser strokes

function stamp(d, x, y) {
  const { width, height } = session.image;
  const r = tools.brush / 2;
  const top = Math.max(0, Math.floor(y - r));
  const bottom = Math.min(height - 1, Math.ceil(y + r));
  const left = Math.max(0, Math.floor(x - r));
  const right = Math.min(width - 1, Math.ceil(x + r));
  for (let yy = top; yy <= bottom; yy++) {
    for (let xx = left; xx <= right; xx++) {
      if ((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= r * r) d.stroke[yy * width + xx] = 1;
    }
  }
  d.bounds = d.bounds
    ? [Math.min(d.bounds[0], left), Math.min(d.bounds[1], top), Math.max(d.bounds[2], right), Math.max(d.bounds[3], bottom)]
    : [left, top, right, bottom];
}

function strokeTo(x, y) {
  const d = tools.drag;
  const steps = Math.max(1, Math.ceil(Math.hypot(x - d.lastX, y - d.lastY) / Math.max(1, tools.brush / 4)));
  for (let i = 1; i <= steps; i++) stamp(d, d.lastX + ((x - d.lastX) * i) / steps, d.lastY + ((y - d.lastY) * i) / steps);
  d.lastX = x;
  d.lastY = y;
  d.layer = strokeLayer(d);
}

function strokeLayer(d) {
  if (!d.bounds) return null;
  const { width } = session.image;
  const [x0, y0, x1, y1] = d.bounds;
  const box = { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
  const data = new Uint8Array(box.width * box.height);
  for (let y = 0; y < box.height; y++) data.set(d.stroke.subarray((y0 + y) * width + x0, (y0 + y) * width + x1 + 1), y * box.width);
  const color = tools.tool === "eraser" ? "#000000" : selectedObject()?.color || "#ffffff";
  return maskLayer({ ...box, data }, color);
}

function newObjectBody(body) {
  const label = $("#label-select")?.value;
  if (label) body.label_id = Number(label);
  return body;
}

async function finishStroke(d) {
  const { width, height } = session.image;
  const region = encode(d.stroke, width, height);
  const obj = selectedObject();
  let result = null;
  if (obj) {
    result = await write("PATCH", `/api/objects/${obj.id}/`, { version: session.image.version, op: tools.tool, region });
  } else if (tools.tool === "brush") {
    result = await write("POST", `/api/images/${session.image.id}/objects/`, newObjectBody({ version: session.image.version, mask: region }));
  } else {
    toast("Select an object to erase from: click it with the Select tool (V), or start erasing on it.");
  }
  if (result?.object) {
    upsertObject(result.object);
    select(result.object.id);
  }
}

// ---------------------------------------------------------------- polygon

export async function closePolygon() {
  if (tools.polygon.length < 3) {
    tools.polygon = [];
    render();
    return;
  }
  const points = tools.polygon.map((p) => [p.x, p.y]);
  tools.polygon = [];
  const obj = selectedObject();
  const result = obj
    ? await write("PATCH", `/api/objects/${obj.id}/`, { version: session.image.version, op: "polygon", points })
    : await write("POST", `/api/images/${session.image.id}/objects/`, newObjectBody({ version: session.image.version, points }));
  if (result?.object) {
    upsertObject(result.object);
    select(result.object.id);
  }
  render();
}

export function cancelPolygon() {
  tools.polygon = [];
  render();
}

// ---------------------------------------------------------------- the pointer

function selecting(event) {
  return tools.tool === "select" || ((tools.tool === "point" || tools.tool === "box") && (event.ctrlKey || event.metaKey));
}

canvas.addEventListener("contextmenu", (e) => e.preventDefault());

canvas.addEventListener("mousedown", (event) => {
  focusCanvas();
  if (!session.image) return;
  const p = toImage(event);
  if (event.button === 1 || tools.spaceDown) {
    event.preventDefault();
    tools.drag = { kind: "pan", sx: p.sx, sy: p.sy, vx: view.transform.x, vy: view.transform.y };
    return;
  }
  if (!inside(p)) return;
  if (selecting(event)) {
    const hit = objectAt(p);
    select(hit ? hit.id : null);
    return;
  }
  if (config.readOnly) return;
  if (tools.tool === "automask") {
    if (event.button === 0) pickAt(p);
    return;
  }
  if (tools.tool === "brush" || tools.tool === "eraser") {
    if (event.button !== 0) return;
    if (tools.tool === "eraser" && !selectedObject()) {
      const hit = objectAt(p);
      if (hit) select(hit.id);
    }
    const stroke = new Uint8Array(session.image.width * session.image.height);
    tools.drag = { kind: "stroke", tool: tools.tool, stroke, bounds: null, lastX: p.x, lastY: p.y };
    stamp(tools.drag, p.x, p.y);
    strokeTo(p.x, p.y);
    render();
    return;
  }
  if (tools.tool === "polygon") {
    if (event.button === 0) tools.polygon.push({ x: Math.round(p.x), y: Math.round(p.y) });
    render();
    return;
  }
  tools.drag = { kind: "box", x0: p.x, y0: p.y, x1: p.x, y1: p.y, negative: event.button === 2 || event.altKey, another: event.shiftKey };
});

canvas.addEventListener("mousemove", (event) => {
  const p = toImage(event);
  view.hover = p;
  const d = tools.drag;
  if (d?.kind === "pan") {
    pan(d.vx + (p.sx - d.sx), d.vy + (p.sy - d.sy));
    return;
  }
  if (d?.kind === "stroke") strokeTo(p.x, p.y);
  else if (d?.kind === "box") {
    d.x1 = Math.min(Math.max(p.x, 0), session.image.width - 1);
    d.y1 = Math.min(Math.max(p.y, 0), session.image.height - 1);
  } else if (session.image && inside(p)) {
    const objectsHover = selecting(event) || tools.tool === "brush" || tools.tool === "eraser";
    hover(objectsHover ? objectAt(p)?.id ?? null : null);
    hoverResult(tools.tool === "automask" ? resultAt(p)?.id ?? null : null);
    decoderHover(tools.tool === "point" && !selecting(event) && !config.readOnly ? p : null);
  } else decoderHover(null);
  // A frame only when something drawn follows the pointer: with the point tool a redraw per
  // move would take the cores the hover preview's decoder needs. (Hovered objects, results
  // and previews ask for their own frame when they change.)
  if (d || tools.polygon.length || tools.tool === "brush" || tools.tool === "eraser") render();
});

canvas.addEventListener("mouseleave", () => {
  view.hover = null;
  decoderHover(null);
  hover(null);
  hoverResult(null);
  render();
});

window.addEventListener("mouseup", async () => {
  const d = tools.drag;
  if (!d) return;
  tools.drag = null;
  if (d.kind === "stroke") {
    await finishStroke(d);
    render();
    return;
  }
  if (d.kind !== "box") return;
  const dragged = Math.hypot((d.x1 - d.x0) * view.transform.scale, (d.y1 - d.y0) * view.transform.scale) > 8;
  if (dragged) addBox(normalizeBox(d.x0, d.y0, d.x1, d.y1), { another: d.another });
  else if (tools.tool === "point") addPoint(d.x0, d.y0, !d.negative);
  render();
});

canvas.addEventListener("dblclick", () => tools.tool === "polygon" && closePolygon());

canvas.addEventListener(
  "wheel",
  (event) => {
    event.preventDefault();
    const p = toImage(event);
    zoom(p.sx, p.sy, Math.exp(-event.deltaY * 0.0015));
  },
  { passive: false },
);

addLayer(40, (ctx, { scale }) => {
  const unit = 1 / scale;
  const d = tools.drag;
  if (d?.kind === "stroke") drawLayer(ctx, d.layer, d.tool === "eraser" ? 0.6 : view.opacity);
  ctx.globalAlpha = 1;
  ctx.lineWidth = 2 * unit;
  if (d?.kind === "box") {
    ctx.setLineDash([6 * unit, 4 * unit]);
    ctx.strokeStyle = "#00e5ff";
    ctx.strokeRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
    ctx.setLineDash([]);
  }
  if (tools.polygon.length) {
    ctx.beginPath();
    tools.polygon.forEach((p, i) => (i ? ctx.lineTo(p.x, p.y) : ctx.moveTo(p.x, p.y)));
    if (view.hover) ctx.lineTo(view.hover.x, view.hover.y);
    ctx.strokeStyle = "#ffdc00";
    ctx.stroke();
  }
  if ((tools.tool === "brush" || tools.tool === "eraser") && view.hover) {
    ctx.beginPath();
    ctx.arc(view.hover.x, view.hover.y, tools.brush / 2, 0, Math.PI * 2);
    ctx.strokeStyle = tools.tool === "eraser" ? "#ff4136" : "#fff";
    ctx.lineWidth = unit;
    ctx.stroke();
  }
});

for (const button of document.querySelectorAll("[data-tool]")) {
  button.addEventListener("click", () => {
    setTool(button.dataset.tool);
    focusCanvas();
  });
}
$("#brush-size").addEventListener("input", (e) => setBrush(Number(e.target.value)));
$("#brush-size").addEventListener("change", () => focusCanvas());
