// The image's objects: their masks and layers, which one is selected and which one is under
// the pointer, the side list, and the writes that rename, relabel and delete them. Each
// instance has its own colour; its label is shown beside it.

import { instanceColor } from "../lib/colors.js";
import { contains, decodeBounded } from "../lib/rle.js";
import { drawLayer, maskLayer, outlineLayer } from "./masks.js";
import { $, config, escapeHtml, focusCanvas } from "./page.js";
import { session, write } from "./session.js";
import { addLayer, render, view } from "./view.js";

export const objects = {
  list: [], // {id, label, name, mask (bounded), layer, color, hidden}
  selected: null, // an object id
  hovered: null, // an object id
};

function labelOf(id) {
  return config.labels.find((l) => l.id === id) || null;
}

function build(record, hidden = false) {
  const mask = decodeBounded(record.mask);
  const color = instanceColor(record.id);
  return { ...record, mask, color, layer: maskLayer(mask, color), hidden };
}

export function setObjects(records) {
  const hidden = new Set(objects.list.filter((o) => o.hidden).map((o) => o.id));
  objects.list = records.map((record) => build(record, hidden.has(record.id)));
  if (!objects.list.some((o) => o.id === objects.selected)) objects.selected = null;
  objects.hovered = null;
  renderObjects();
  render();
}

export function upsertObject(record) {
  const i = objects.list.findIndex((o) => o.id === record.id);
  const obj = build(record, i >= 0 && objects.list[i].hidden);
  if (i < 0) objects.list.push(obj);
  else objects.list[i] = obj;
  renderObjects();
  render();
}

export function selectedObject() {
  return objects.list.find((o) => o.id === objects.selected) || null;
}

export function select(id) {
  objects.selected = id;
  renderObjects();
  render();
}

// The topmost visible object under an image point (the last drawn is on top).
export function objectAt(p) {
  for (let i = objects.list.length - 1; i >= 0; i--) {
    const obj = objects.list[i];
    if (!obj.hidden && contains(obj.mask, p.x, p.y)) return obj;
  }
  return null;
}

export function hover(id) {
  if (objects.hovered === id) return;
  objects.hovered = id;
  for (const item of document.querySelectorAll("#objects li")) item.classList.toggle("hovered", Number(item.dataset.id) === id);
  render();
}

export async function relabel(obj, changes) {
  const result = await write("PATCH", `/api/objects/${obj.id}/`, { version: session.image.version, op: "label", ...changes });
  if (result) upsertObject(result.object);
}

export async function deleteObject(id) {
  const result = await write("DELETE", `/api/objects/${id}/`, { version: session.image.version });
  if (!result) return;
  objects.list = objects.list.filter((o) => o.id !== id);
  if (objects.selected === id) objects.selected = null;
  if (objects.hovered === id) objects.hovered = null;
  renderObjects();
  render();
}

function labelOptions(selected) {
  return config.labels
    .map((l) => `<option value="${l.id}" ${l.id === selected ? "selected" : ""}>${escapeHtml(l.name)}</option>`)
    .join("");
}

export function renderObjects() {
  const list = $("#objects");
  list.replaceChildren();
  const disabled = config.readOnly ? "disabled" : "";
  for (const obj of objects.list) {
    const item = document.createElement("li");
    item.className = obj.id === objects.selected ? "selected" : "";
    item.dataset.id = obj.id;
    item.innerHTML = `<span class="swatch" style="background:${obj.color}"></span>
      <input class="name" aria-label="Object name" value="${escapeHtml(obj.name || "")}" placeholder="#${obj.id}" ${disabled}>
      <select class="label" aria-label="Label" ${disabled}><option value="">—</option>${labelOptions(obj.label)}</select>
      <button type="button" class="icon hide" title="Hide or show" aria-label="Hide or show">${obj.hidden ? "◌" : "●"}</button>
      ${config.readOnly ? "" : '<button type="button" class="icon delete" title="Delete object (Delete)" aria-label="Delete object">✕</button>'}`;
    item.addEventListener("click", (e) => {
      if (e.target.closest("input,select,button")) return;
      select(objects.selected === obj.id ? null : obj.id);
      focusCanvas();
    });
    item.addEventListener("mouseenter", () => hover(obj.id));
    item.addEventListener("mouseleave", () => hover(null));
    item.querySelector(".name").addEventListener("change", (e) => relabel(obj, { name: e.target.value }));
    item.querySelector(".label").addEventListener("change", (e) => {
      relabel(obj, { label_id: e.target.value ? Number(e.target.value) : null });
      focusCanvas();
    });
    item.querySelector(".hide").addEventListener("click", () => {
      obj.hidden = !obj.hidden;
      renderObjects();
      render();
      focusCanvas();
    });
    item.querySelector(".delete")?.addEventListener("click", () => {
      deleteObject(obj.id);
      focusCanvas();
    });
    list.append(item);
  }
  $("#object-count").textContent = objects.list.length;
}

function drawTag(ctx, obj, scale) {
  if (!obj.layer) return;
  const text = [labelOf(obj.label)?.name || "unlabeled", obj.name || `#${obj.id}`].join(" · ");
  const size = 13 / scale;
  ctx.globalAlpha = 1;
  ctx.font = `${size}px system-ui, sans-serif`;
  const width = ctx.measureText(text).width + 8 / scale;
  const x = obj.layer.x;
  const y = Math.max(0, obj.layer.y - size - 6 / scale);
  ctx.fillStyle = obj.color;
  ctx.fillRect(x, y, width, size + 6 / scale);
  ctx.fillStyle = "#fff";
  ctx.fillText(text, x + 4 / scale, y + size);
}

addLayer(20, (ctx, { scale }) => {
  for (const obj of objects.list) if (!obj.hidden) drawLayer(ctx, obj.layer, view.opacity);
  const selected = selectedObject();
  if (selected && !selected.hidden) drawLayer(ctx, selected.layer, 0.9);
  const hovered = objects.list.find((o) => o.id === objects.hovered);
  if (hovered && !hovered.hidden) {
    if (hovered !== selected) drawLayer(ctx, hovered.layer, Math.min(1, view.opacity + 0.25));
    outlineLayer(ctx, hovered.layer, "#ffffff", scale);
  }
  for (const obj of [selected, hovered]) if (obj && !obj.hidden) drawTag(ctx, obj, scale);
});
