// Automask on the open image: run it as a job and show its results when the job's events say
// they are saved, pick one result as an object (a click picks, nothing else), and promote many
// through a filter with a live count, so the background and specks stay out.

import { PALETTE } from "../lib/colors.js";
import { DEFAULT_FILTER, filterResults } from "../lib/mask-filter.js";
import { contains, decodeBounded } from "../lib/rle.js";
import { api, errorMessage } from "../socket.js";
import { jobSeen } from "./jobs.js";
import { drawLayer, maskLayer, outlineLayer } from "./masks.js";
import { $, config, focusCanvas, on, toast } from "./page.js";
import { session, updateImage, write } from "./session.js";
import { upsertObject } from "./objects.js";
import { addLayer, render, view } from "./view.js";

export const automask = {
  results: [], // {id, mask (bounded), area, score, layer}
  run: null, // the run's id
  job: null, // the job running on this image, or null
  hovered: null, // a result id
  filter: { ...DEFAULT_FILTER },
};

function shown() {
  return $("#show-automask").checked;
}

export function setAutomask(runs) {
  const run = runs[0];
  automask.results = run
    ? run.masks.map((m, i) => {
        const mask = decodeBounded(m.segmentation);
        return { id: m.id, mask, area: m.area, score: m.predicted_iou, layer: maskLayer(mask, PALETTE[i % PALETTE.length]) };
      })
    : [];
  automask.run = run ? run.id : null;
  automask.hovered = null;
  $("#automask-count").textContent = run ? `${automask.results.length} masks` : "none yet";
  $("#show-automask").disabled = !automask.results.length;
  const promote = $("#promote-open");
  if (promote) promote.disabled = config.readOnly || !automask.results.length;
  renderFilter();
  render();
}

export function resultAt(p) {
  if (!shown()) return null;
  for (let i = automask.results.length - 1; i >= 0; i--) if (contains(automask.results[i].mask, p.x, p.y)) return automask.results[i];
  return null;
}

export function hoverResult(id) {
  if (automask.hovered === id) return;
  automask.hovered = id;
  render();
}

async function promote(maskIds) {
  const body = { version: session.image.version, mask_ids: maskIds };
  const label = $("#label-select")?.value;
  if (label) body.label_id = Number(label);
  const result = await write("POST", `/api/images/${session.image.id}/promote/`, body);
  if (!result) return;
  for (const record of result.objects) upsertObject(record);
  toast(`${result.objects.length} object${result.objects.length === 1 ? "" : "s"} added.`);
}

// A click with the pick tool: the topmost result under the pointer becomes an object.
export function pickAt(p) {
  if (!automask.results.length) return toast("Run automask first: there are no results to pick on this image.");
  if (!shown()) {
    $("#show-automask").checked = true;
    render();
  }
  const hit = resultAt(p);
  if (hit) promote([hit.id]);
}

// ---------------------------------------------------------------- promotion through a filter

function passing() {
  const { width, height } = session.image;
  return filterResults(automask.results, automask.filter, width, height);
}

function renderFilter() {
  const panel = $("#promote-filter");
  if (!panel || panel.hidden || !session.image) return;
  const count = passing().length;
  $("#promote-count").textContent = `${count} of ${automask.results.length} masks pass`;
  const button = $("#promote-confirm");
  button.disabled = count === 0;
  button.textContent = `Promote ${count}`;
}

function readFilter() {
  automask.filter = {
    minArea: Number($("#filter-min-area").value) / 100,
    maxArea: Number($("#filter-max-area").value) / 100,
    minScore: Number($("#filter-min-score").value),
    skipBorder: $("#filter-border").checked,
  };
  renderFilter();
  render();
}

function openFilter(open = $("#promote-filter").hidden) {
  const panel = $("#promote-filter");
  panel.hidden = !open;
  if (open) {
    $("#show-automask").checked = true;
    $("#filter-min-area").value = automask.filter.minArea * 100;
    $("#filter-max-area").value = automask.filter.maxArea * 100;
    $("#filter-min-score").value = automask.filter.minScore;
    $("#filter-border").checked = automask.filter.skipBorder;
  }
  renderFilter();
  render();
}

// ---------------------------------------------------------------- running it

export async function runAutomask() {
  if (!session.image || config.readOnly || automask.job) return;
  const image = session.image.id;
  const result = await api("POST", `/api/images/${image}/automask/`, { params: config.automaskParams || {} });
  if (!result.ok) return toast(errorMessage(result), "error");
  automask.job = { id: result.data.id, image };
  showRunning("Automask queued…");
  const seen = jobSeen(result.data.id);
  if (seen) onAutomaskEvent("job.progress", seen); // it may have ended already
}

function showRunning(text) {
  const status = $("#automask-status");
  status.hidden = !text;
  status.textContent = text || "";
  const run = $("#run-automask");
  if (run) run.disabled = config.readOnly || Boolean(text);
}

async function refresh(imageId) {
  const [records, image] = await Promise.all([
    api("GET", `/api/images/${imageId}/records/`),
    api("GET", `/api/images/${imageId}/`),
  ]);
  if (session.image?.id !== imageId) return;
  if (records.ok) setAutomask(records.data.automask_runs);
  if (image.ok) updateImage(image.data);
}

// Events of the project socket: a job finished an image, or a job moved on.
export function onAutomaskEvent(type, data) {
  if (type === "automask.image") {
    if (data.image === session.image?.id) refresh(data.image);
    return;
  }
  if (type !== "job.progress" || automask.job?.id !== data.id) return;
  if (data.status === "running") showRunning("Automask running…");
  if (!["done", "failed", "cancelled"].includes(data.status)) return;
  const { image } = automask.job;
  automask.job = null;
  showRunning(null);
  if (data.status === "failed") return toast(data.message || "Automask failed.", "error");
  if (data.status === "cancelled") return toast("Automask was cancelled.");
  refresh(image).then(() => {
    if (session.image?.id !== image) return;
    $("#show-automask").checked = true;
    render();
    toast(`Automask found ${automask.results.length} masks. Pick one with A and a click, or promote them through a filter.`);
  });
}

// A new image: nothing from the old one runs on here.
export function resetAutomask() {
  if (automask.job && automask.job.image !== session.image?.id) showRunning(null);
  else if (automask.job) showRunning("Automask running…");
}

addLayer(10, (ctx, { scale }) => {
  if (!shown()) return;
  const filterOpen = !$("#promote-filter")?.hidden;
  const keep = filterOpen ? new Set(passing().map((r) => r.id)) : null;
  for (const r of automask.results) drawLayer(ctx, r.layer, keep && !keep.has(r.id) ? view.opacity * 0.25 : view.opacity);
  const hovered = automask.results.find((r) => r.id === automask.hovered);
  if (hovered) {
    drawLayer(ctx, hovered.layer, Math.min(1, view.opacity + 0.3));
    outlineLayer(ctx, hovered.layer, "#ffffff", scale);
  }
});

on("#show-automask", "change", () => {
  render();
  focusCanvas();
});
on("#run-automask", "click", () => {
  runAutomask();
  focusCanvas();
});
on("#promote-open", "click", () => openFilter());
on("#promote-cancel", "click", () => {
  openFilter(false);
  focusCanvas();
});
on("#promote-confirm", "click", async () => {
  const ids = passing().map((r) => r.id);
  openFilter(false);
  focusCanvas();
  if (ids.length) await promote(ids);
});
for (const id of ["#filter-min-area", "#filter-max-area", "#filter-min-score", "#filter-border"]) on(id, "input", readFilter);
