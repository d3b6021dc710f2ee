// The project dashboard: a line plot per day, one line per annotator, drawn as SVG from the
// numbers the page carries, and the project's recent activity read from the API.

import { PALETTE } from "./lib/colors.js";

const SVG = "http://www.w3.org/2000/svg";
const SIZE = { width: 860, height: 300, left: 48, right: 16, top: 16, bottom: 40 };
const MAX_DATE_TICKS = 8;
const RECENT = 25;

const ACTIONS = {
  "object.created": "created an object",
  "object.painted": "painted an object",
  "object.replaced": "replaced an object",
  "object.labelled": "relabelled an object",
  "object.deleted": "deleted an object",
  "objects.imported": "imported objects",
  "edit.undone": "undid an edit",
  "edit.redone": "redid an edit",
  "image.opened": "opened",
  "image.completed": "completed",
  "image.reopened": "reopened",
  "image.submitted": "submitted for review",
  "image.withdrawn": "withdrew the submission of",
  "image.accepted": "accepted",
  "image.rejected": "rejected",
  "issue.opened": "opened an issue on",
  "issue.resolved": "resolved an issue on",
  "ground_truth.set": "made ground truth",
  "ground_truth.cleared": "removed ground truth from",
  "quality.scored": "was scored on",
  assigned: "assigned",
};

const config = JSON.parse(document.getElementById("dashboard-config").textContent);

function node(name, attributes = {}, text = "") {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text) element.textContent = text;
  return element;
}

// Whole numbers for the y axis (it counts things): 0 to at least `top`, in steps of 1, 2 or
// 5 times a power of 10.
function yTicks(top) {
  const rough = Math.max(top, 1) / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough));
  const ticks = [];
  for (let value = 0; value < top + step; value += step) ticks.push(value);
  if (ticks.length < 2) ticks.push(step);
  return ticks;
}

function scales(days, ticks) {
  const inner = {
    width: SIZE.width - SIZE.left - SIZE.right,
    height: SIZE.height - SIZE.top - SIZE.bottom,
  };
  const top = ticks[ticks.length - 1];
  const x = (i) => SIZE.left + (days.length > 1 ? (i / (days.length - 1)) * inner.width : inner.width / 2);
  const y = (value) => SIZE.top + inner.height - (value / top) * inner.height;
  return { x, y };
}

function axes(svg, days, ticks, { x, y }) {
  const group = node("g", { class: "axis" });
  const bottom = SIZE.height - SIZE.bottom;
  group.append(node("line", { x1: SIZE.left, x2: SIZE.width - SIZE.right, y1: bottom, y2: bottom }));
  group.append(node("line", { x1: SIZE.left, x2: SIZE.left, y1: SIZE.top, y2: bottom }));
  for (const value of ticks) {
    group.append(node("line", { x1: SIZE.left - 4, x2: SIZE.left, y1: y(value), y2: y(value) }));
    group.append(node("text", { x: SIZE.left - 8, y: y(value) + 4, "text-anchor": "end" }, String(value)));
  }
  const every = Math.max(1, Math.ceil(days.length / MAX_DATE_TICKS));
  days.forEach((day, i) => {
    if (i % every && i !== days.length - 1) return;
    group.append(node("line", { x1: x(i), x2: x(i), y1: bottom, y2: bottom + 4 }));
    group.append(node("text", { x: x(i), y: bottom + 18, "text-anchor": "middle" }, day.slice(5)));
  });
  group.append(node("text", { x: SIZE.left + 4, y: SIZE.top - 4 }, "per day"));
  svg.append(group);
}

function line(svg, row, measure, color, { x, y }) {
  const points = row.days.map((day, i) => [x(i), y(day[measure])]);
  const d = points.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)},${py.toFixed(1)}`).join(" ");
  const path = node("path", {
    d,
    fill: "none",
    stroke: color,
    "stroke-width": 2,
    class: "series",
    "data-user": row.username,
  });
  path.append(node("title", {}, row.username));
  svg.append(path);
  for (const [i, [px, py]] of points.entries()) {
    const dot = node("circle", { cx: px, cy: py, r: 3, fill: color, class: "point" });
    dot.append(node("title", {}, `${row.username}, ${row.days[i].day}: ${row.days[i][measure]}`));
    svg.append(dot);
  }
}

function legend(rows) {
  const list = document.createElement("ul");
  list.className = "legend";
  rows.forEach((row, i) => {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = PALETTE[i % PALETTE.length];
    item.append(swatch, row.username);
    list.append(item);
  });
  return list;
}

function drawPlot(measure) {
  const box = document.getElementById("plot");
  const { days, rows } = config.dashboard;
  box.replaceChildren();
  if (!days.length || !rows.length) {
    const empty = document.createElement("p");
    empty.className = "muted";
    empty.textContent = "Nothing to plot yet: no one has completed an image or made an object.";
    box.append(empty);
    return;
  }
  const top = Math.max(0, ...rows.flatMap((row) => row.days.map((day) => day[measure])));
  const ticks = yTicks(top);
  const scale = scales(days, ticks);
  const svg = node("svg", {
    viewBox: `0 0 ${SIZE.width} ${SIZE.height}`,
    role: "img",
    "aria-label": `${measure.replace("_", " ")} per day, one line per annotator`,
  });
  axes(svg, days, ticks, scale);
  rows.forEach((row, i) => line(svg, row, measure, PALETTE[i % PALETTE.length], scale));
  box.append(svg, legend(rows));
}

function describe(event) {
  const who = event.username || "someone";
  const what = ACTIONS[event.action] || event.action;
  return `${who} ${what}`;
}

function activityItem(event) {
  const item = document.createElement("li");
  const when = document.createElement("time");
  when.dateTime = event.at;
  when.textContent = new Date(event.at).toLocaleString();
  item.append(when, " · ", describe(event));
  if (event.image_id) {
    const link = document.createElement("a");
    link.href = `/projects/${config.project}/images/${event.image_id}/`;
    link.textContent = event.image_name || `image ${event.image_id}`;
    item.append(" ", link);
  }
  item.dataset.action = event.action;
  return item;
}

async function loadRecent() {
  const list = document.getElementById("recent-activity");
  try {
    const response = await fetch(`${config.activityUrl}?limit=${RECENT}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const page = await response.json();
    list.replaceChildren(...page.results.map(activityItem));
    if (!page.results.length) list.innerHTML = '<li class="muted">No activity yet.</li>';
  } catch (error) {
    list.replaceChildren();
    const item = document.createElement("li");
    item.className = "error";
    item.textContent = `The activity could not be loaded: ${error.message}`;
    list.append(item);
  }
}

const measure = document.getElementById("plot-measure");
measure.addEventListener("change", () => drawPlot(measure.value));
drawPlot(measure.value);
loadRecent();
