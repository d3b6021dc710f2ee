// The assignment dialog (owners): hand images to annotators, split evenly or all to one, from
// the pool's current filter, the images selected on its tiles, or the whole pool. A dry run says who would get how many before
// Assign is offered; the table below says who has what and takes work back per person.
// Everything goes through /api/projects/<id>/assignments/ (projects.workflow.api).

import { api, errorMessage } from "../socket.js";
import { $, P, ask, guarded, refresh, say } from "./page.js";
import { onSelection, selectedImages } from "./pool.js";

const ENDPOINT = `/api/projects/${P}/assignments/`;
const FLAGS = ["available", "has_automask", "has_manual_prediction", "has_manual_edit", "open_issues"];
const FILTER_NAMES = { status: "status", source: "source", available: "availability", has_automask: "A", has_manual_prediction: "P", has_manual_edit: "E", open_issues: "open issues", search: "path" };

let people = []; // the members who may be given images: [{username, role}]
let planned = null; // the request body the shown preview answers
let previewRun = 0;
let summaryRun = 0;

const dialog = () => $("#assign-dialog");
const mode = () => $("#assign-form").elements.assign_mode.value;
const scope = () => $("#assign-form").elements.assign_scope.value;
const chosen = () => [...document.querySelectorAll("#assign-people input:checked")].map((box) => box.value);

// The pool panel's filters as the assignments API reads them; empty choices filter nothing.
function poolFilter() {
  const form = $("#pool-filters");
  const filter = {};
  if (form.elements.status.value) filter.status = form.elements.status.value;
  if (form.elements.source.value) filter.source = Number(form.elements.source.value);
  for (const flag of FLAGS) {
    const value = form.elements[flag]?.value;
    if (value === "true" || value === "false") filter[flag] = value === "true";
  }
  const search = form.elements.search.value.trim();
  if (search) filter.search = search;
  return filter;
}

function describe(filter) {
  const parts = Object.entries(filter).map(([name, value]) => `${FILTER_NAMES[name] || name}: ${value}`);
  return parts.length ? `(${parts.join(", ")})` : "(no filter set: the whole pool)";
}

function requestBody() {
  const names = chosen();
  if (!names.length) return { error: "Tick who should get the images." };
  // Images picked one by one are assigned as they are: the two narrowing boxes do not apply.
  if (scope() === "selected") {
    const image_ids = selectedImages();
    if (!image_ids.length) return { error: "Select images on the pool's tiles first." };
    return mode() === "split" ? { split: names, image_ids } : { user: names[0], image_ids };
  }
  const filter = scope() === "filter" ? poolFilter() : {};
  if ($("#assign-unassigned").checked) filter.assigned = false;
  if ($("#assign-open-work").checked) filter.completed = false;
  if (mode() === "split") return { split: names, filter };
  return { user: names[0], filter };
}

function showPeople({ tickAnnotators = false } = {}) {
  const box = $("#assign-people");
  const ticked = new Set(tickAnnotators ? people.filter((p) => p.role === "annotator").map((p) => p.username) : chosen());
  box.replaceChildren();
  if (!people.some((p) => p.role === "annotator")) {
    const hint = document.createElement("p");
    hint.className = "muted small";
    hint.textContent = "No annotators yet: add members in Project settings.";
    box.append(hint);
  }
  const type = mode() === "one" ? "radio" : "checkbox";
  let first = true;
  for (const person of people) {
    const label = document.createElement("label");
    label.className = "check";
    const input = document.createElement("input");
    input.type = type;
    input.name = "assign_person";
    input.value = person.username;
    // Switching to one person keeps the first one ticked before.
    input.checked = ticked.has(person.username) && (type === "checkbox" || first);
    if (input.checked) first = false;
    label.append(input, ` ${person.username}${person.role === "owner" ? " (owner)" : ""}`);
    box.append(label);
  }
}

async function preview() {
  const run = ++previewRun;
  planned = null;
  $("#assign-start").disabled = true;
  say($("#assign-message"), "");
  $("#assign-filter-text").textContent = describe(poolFilter());
  for (const id of ["#assign-unassigned", "#assign-open-work"]) $(id).disabled = scope() === "selected";
  const body = requestBody();
  const box = $("#assign-preview");
  if (body.error) {
    box.textContent = body.error;
    return;
  }
  box.textContent = "Counting…";
  const result = await api("POST", ENDPOINT, { ...body, dry_run: true });
  if (run !== previewRun) return; // the choices changed meanwhile
  if (!result.ok) {
    box.textContent = "";
    say($("#assign-message"), errorMessage(result), true);
    return;
  }
  const counts = Object.entries(result.data.assigned);
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  box.replaceChildren();
  const head = document.createElement("p");
  head.className = "assign-preview-total";
  head.textContent = total ? `Would assign ${total} image${total === 1 ? "" : "s"}:` : "No image matches: nothing to assign.";
  box.append(head);
  if (total) {
    const list = document.createElement("ul");
    list.className = "plain";
    for (const [name, n] of counts) {
      const item = document.createElement("li");
      item.dataset.user = name;
      item.textContent = `${name}: ${n} image${n === 1 ? "" : "s"}`;
      list.append(item);
    }
    box.append(list);
    planned = body;
    $("#assign-start").disabled = false;
  }
}

async function assign() {
  if (!planned) return;
  const body = planned;
  $("#assign-start").disabled = true;
  const result = await api("POST", ENDPOINT, body);
  if (!result.ok) {
    say($("#assign-message"), errorMessage(result), true);
    $("#assign-start").disabled = false;
    return;
  }
  planned = null;
  refresh("pool");
  await Promise.all([showSummary(), preview()]);
  const counts = Object.entries(result.data.assigned).map(([name, n]) => `${name} ${n}`);
  $("#assign-result").textContent = `Assigned: ${counts.join(", ")}.`;
}

async function takeBack(username, count) {
  const sure = await ask({
    title: `Take back ${username}'s images?`,
    text: `${count} image${count === 1 ? "" : "s"} go back to the shared pool; what ${username} saved stays.`,
    confirm: "Take back",
  });
  if (!sure) return;
  const result = await api("DELETE", ENDPOINT, { user: username });
  if (!result.ok) {
    say($("#assign-message"), errorMessage(result), true);
    return;
  }
  refresh("pool");
  await Promise.all([showSummary(), preview()]);
  const n = result.data.unassigned;
  $("#assign-result").textContent = `Took ${n} image${n === 1 ? "" : "s"} back from ${username}.`;
}

function cell(text, numeric = false) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "n";
  return td;
}

async function showSummary() {
  const run = ++summaryRun;
  const result = await api("GET", ENDPOINT);
  if (run !== summaryRun) return; // a later read is on its way
  const box = $("#assign-summary");
  if (!result.ok) {
    say($("#assign-message"), errorMessage(result), true);
    return;
  }
  const rows = new Map(people.map((p) => [p.username, { username: p.username, assigned: 0, completed: 0 }]));
  for (const row of result.data.people) rows.set(row.username, row);
  const table = document.createElement("table");
  table.className = "assign-table";
  table.innerHTML = '<thead><tr><th scope="col">Person</th><th scope="col" class="n">Assigned</th><th scope="col" class="n">Done</th><th scope="col" class="n">Left</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>';
  const body = document.createElement("tbody");
  for (const row of rows.values()) {
    const tr = document.createElement("tr");
    tr.dataset.user = row.username;
    tr.append(cell(row.username), cell(row.assigned, true), cell(row.completed, true), cell(row.assigned - row.completed, true));
    const actions = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Take back";
    button.setAttribute("aria-label", `Take back ${row.username}'s images`);
    button.disabled = !row.assigned;
    button.addEventListener("click", guarded(() => takeBack(row.username, row.assigned)));
    actions.append(button);
    tr.append(actions);
    body.append(tr);
  }
  table.append(body);
  const left = document.createElement("p");
  left.className = "muted small";
  left.id = "assign-unassigned-count";
  left.textContent = `${result.data.unassigned} image${result.data.unassigned === 1 ? "" : "s"} to do that no one is assigned.`;
  box.replaceChildren(table, left);
}

async function loadPeople() {
  const result = await api("GET", `/api/projects/${P}/members/`);
  if (!result.ok) {
    say($("#assign-message"), errorMessage(result), true);
    return;
  }
  const order = { annotator: 0, owner: 1 };
  people = result.data
    .filter((member) => member.role in order)
    .sort((a, b) => order[a.role] - order[b.role] || a.username.localeCompare(b.username));
  // Splitting among every annotator is the usual start; opening again keeps the last choice.
  showPeople({ tickAnnotators: !document.querySelector("#assign-people input") });
}

async function open() {
  dialog().showModal();
  say($("#assign-message"), "");
  $("#assign-preview").textContent = $("#assign-result").textContent = "";
  await loadPeople();
  await Promise.all([showSummary(), preview()]);
}

export function initAssign() {
  if (!$("#assign-dialog")) return;
  onSelection(showSelected);
  $("#assign-open").addEventListener("click", guarded(open));
  $("#assign-close").addEventListener("click", () => dialog().close());
  $("#assign-start").addEventListener("click", guarded(assign));
  $("#assign-form").addEventListener(
    "change",
    guarded(async (event) => {
      if (event.target.name === "assign_mode") showPeople();
      $("#assign-result").textContent = "";
      await preview();
    }),
  );
}

function showSelected(count) {
  const option = $("#assign-scope-selected");
  option.disabled = count === 0;
  $("#assign-selected-text").textContent = count
    ? `(${count} image${count === 1 ? "" : "s"})`
    : "(none selected: tick them on the pool's tiles)";
  if (count === 0 && option.checked) $("#assign-form").elements.assign_scope.value = "filter";
  if (dialog()?.open) preview();
}

// Another owner's change, or work completed, changes the table while the dialog is open.
export function assignmentEvent() {
  if (dialog()?.open) showSummary();
}
