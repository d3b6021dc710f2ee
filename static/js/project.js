// The project page: sources (add, re-scan, rename, remove, restore), uploads with progress,
// the automask launcher, the export dialog, labels, members and settings. Panels are HTMX
// partials; actions go to the REST API, then the affected panel refreshes.

import { ProjectSocket, api, csrfToken, errorMessage } from "./socket.js";

const $ = (selector) => document.querySelector(selector);
const config = JSON.parse($("#project-config").textContent);
const P = config.project;

function refresh(what) {
  document.body.dispatchEvent(new Event(`${what}-changed`));
}

function say(element, text, error = false) {
  element.textContent = text;
  element.classList.toggle("error", error);
}

function setProgress(box, fraction, text) {
  box.hidden = false;
  box.querySelector(".progress-bar").style.width = `${Math.round((fraction || 0) * 100)}%`;
  box.querySelector(".progress-text").textContent = text;
}

// ------------------------------------------------------------------ live events

const jobHandlers = new Map(); // job kind -> handler
new ProjectSocket(P, {
  onMessage: (message) => {
    const data = message.data;
    if (message.type === "job.progress") {
      jobHandlers.get(data.kind)?.(data);
      if (data.kind === "source_scan" && data.status === "done") {
        refresh("sources");
        refresh("pool");
      }
    }
    if (message.type === "image.changed" || message.type === "automask.image") refreshPoolSoon();
    document.dispatchEvent(new CustomEvent("annotator:event", { detail: message }));
  },
  onState: (state) => {
    const el = $("#connection");
    el.textContent = { connected: "live", reconnected: "live (reconnected)", reconnecting: "connection lost — reconnecting…", connecting: "connecting…", refused: "not allowed" }[state];
    el.dataset.state = state;
  },
});

let poolTimer = null;
function refreshPoolSoon() {
  clearTimeout(poolTimer);
  poolTimer = setTimeout(() => refresh("pool"), 400);
}

// The last pool filters are part of the project's UI settings.
$("#pool-filters").addEventListener("change", () => {
  const form = $("#pool-filters");
  const pool_filters = { status: form.status.value, source: form.source.value, available: form.available.value, search: form.search.value };
  api("PATCH", `/api/projects/${P}/state/`, { ui_settings: { pool_filters } });
});

// ------------------------------------------------------------------ sources

for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[data-tab]")) {
      other.setAttribute("aria-selected", String(other === tab));
      $(`#${other.dataset.tab}`).hidden = other !== tab;
    }
  });
}

async function addSource(kind, body, form) {
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  const result = await api("POST", `/api/projects/${P}/sources/${kind}/`, body);
  if (button) button.disabled = false;
  if (!result.ok) return alertBox(form, errorMessage(result));
  alertBox(form, `Added “${result.data.source.name}”.`, false);
  form.reset();
  refresh("sources");
  refresh("pool");
}

function alertBox(form, text, error = true) {
  let box = form.querySelector(".form-message");
  if (!box) {
    box = document.createElement("p");
    box.className = "form-message";
    box.setAttribute("role", error ? "alert" : "status");
    form.append(box);
  }
  say(box, text, error);
}

$("#tab-folder")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const extensions = form.extensions.value.split(/[\s,]+/).filter(Boolean);
  const body = { path: form.path.value.trim(), recursive: form.recursive.checked };
  if (extensions.length) body.extensions = extensions;
  addSource("folder", body, form);
});

$("#tab-urls")?.addEventListener("submit", (event) => {
  event.preventDefault();
  addSource("urls", { urls: event.target.urls.value }, event.target);
});

$("#azure-credential")?.addEventListener("change", (event) => {
  const kind = event.target.value;
  for (const el of document.querySelectorAll(".azure-secret")) el.hidden = kind === "default" || kind === "environment";
  for (const el of document.querySelectorAll(".azure-env")) el.hidden = kind !== "environment";
});
$("#azure-credential")?.dispatchEvent(new Event("change"));

$("#tab-azure")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { prefix: form.prefix.value.trim() };
  if (form.sas_url.value.trim()) {
    body.sas_url = form.sas_url.value.trim();
  } else {
    body.account_url = form.account_url.value.trim();
    body.container = form.container.value.trim();
    const kind = form.credential_kind.value;
    body.credential = { kind, secret: form.secret.value, env_var: form.env_var.value.trim() };
  }
  addSource("azure", body, form);
  form.secret.value = "";
});

function upload(files) {
  if (!files.length) return;
  const form = $("#tab-upload");
  const box = form.querySelector(".progress");
  const data = new FormData();
  for (const file of files) data.append("files", file);
  const request = new XMLHttpRequest();
  request.open("POST", `/api/projects/${P}/uploads/`);
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.upload.onprogress = (e) => e.lengthComputable && setProgress(box, e.loaded / e.total, `Uploading ${files.length} file(s)… ${Math.round((100 * e.loaded) / e.total)}%`);
  request.onload = () => {
    box.hidden = true;
    let body = null;
    try {
      body = JSON.parse(request.responseText);
    } catch {
      body = null;
    }
    if (request.status >= 300) {
      alertBox(form, body?.error?.message || `Upload failed (${request.status}).`);
      return;
    }
    const outcomes = Array.isArray(body) ? body : [];
    const duplicates = outcomes.filter((o) => o.duplicate).length;
    alertBox(form, `Uploaded ${outcomes.length - duplicates} image(s)${duplicates ? `, ${duplicates} already in the pool` : ""}.`, false);
    refresh("sources");
    refresh("pool");
  };
  request.onerror = () => alertBox(form, "The upload was interrupted. Try again.");
  request.send(data);
}

$("#upload-files")?.addEventListener("change", (event) => upload([...event.target.files]));
const dropzone = $("#dropzone");
if (dropzone) {
  dropzone.addEventListener("dragover", (e) => {
    e.preventDefault();
    dropzone.classList.add("over");
  });
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("over"));
  dropzone.addEventListener("drop", (e) => {
    e.preventDefault();
    dropzone.classList.remove("over");
    upload([...e.dataTransfer.files]);
  });
}

$("#sources").addEventListener("click", async (event) => {
  const button = event.target.closest("[data-action]");
  if (!button) return;
  const id = button.closest("[data-source]").dataset.source;
  const action = button.dataset.action;
  let result;
  if (action === "scan") {
    button.disabled = true;
    button.textContent = "Scanning…";
    result = await api("POST", `/api/sources/${id}/scan/`);
  } else if (action === "rename") {
    const name = prompt("New name for this source:");
    if (!name) return;
    result = await api("PATCH", `/api/sources/${id}/`, { name });
  } else if (action === "remove") {
    const preview = await api("GET", `/api/sources/${id}/removal/`);
    const text = preview.ok ? preview.data.message : "Remove this source?";
    if (!confirm(`${text}\n\nRemove it?`)) return;
    result = await api("DELETE", `/api/sources/${id}/`);
  } else if (action === "restore") {
    result = await api("POST", `/api/sources/${id}/restore/`);
  }
  if (result && !result.ok) alert(errorMessage(result));
  refresh("sources");
  refresh("pool");
});

// ------------------------------------------------------------------ automask the pool

const automask = {
  start: $("#automask-start"),
  cancel: $("#automask-cancel"),
  resume: $("#automask-resume"),
  box: $("#automask-progress"),
  message: $("#automask-message"),
  job: null,
};

function automaskParams() {
  const params = {};
  for (const input of $("#automask-form").querySelectorAll("input")) {
    if (input.value !== "") params[input.name] = Number(input.value);
  }
  return params;
}

function showAutomaskJob(job) {
  automask.job = job.id;
  const running = ["queued", "running", "cancelling"].includes(job.status);
  automask.start.hidden = running;
  automask.cancel.hidden = !running;
  automask.resume.hidden = !(job.status === "cancelled" || job.status === "failed");
  const eta = job.eta_seconds ? ` · about ${formatSeconds(job.eta_seconds)} left` : "";
  setProgress(automask.box, job.total ? job.done / job.total : 0, `${job.done} / ${job.total}${eta}`);
  say(automask.message, job.message || job.status, job.status === "failed");
  if (!running && job.status === "done") refresh("pool");
}

function formatSeconds(seconds) {
  return seconds < 90 ? `${Math.ceil(seconds)} s` : `${Math.ceil(seconds / 60)} min`;
}

jobHandlers.set("automask_pool", showAutomaskJob);

automask.start.addEventListener("click", async () => {
  const params = automaskParams();
  api("PATCH", `/api/projects/${P}/state/`, { ui_settings: { automask_params: params } });
  const result = await api("POST", `/api/projects/${P}/automask/`, { params });
  if (!result.ok) return say(automask.message, errorMessage(result), true);
  showAutomaskJob(result.data.job || result.data);
});
automask.cancel.addEventListener("click", async () => {
  const result = await api("POST", `/api/automask/${automask.job}/cancel/`);
  if (!result.ok) say(automask.message, errorMessage(result), true);
});
automask.resume.addEventListener("click", async () => {
  const result = await api("POST", `/api/automask/${automask.job}/resume/`);
  if (!result.ok) return say(automask.message, errorMessage(result), true);
  showAutomaskJob(result.data.job || result.data);
});

// ------------------------------------------------------------------ export

const exporter = { dialog: $("#export-dialog"), box: $("#export-progress"), message: $("#export-message"), download: $("#export-download"), job: null };

for (const opener of document.querySelectorAll("[data-dialog]")) {
  opener.addEventListener("click", () => $(`#${opener.dataset.dialog}`).showModal());
}
$("#export-close").addEventListener("click", () => exporter.dialog.close());

(function restoreExportChoices() {
  const choices = config.exportSettings?.choices || {};
  const form = $("#export-form");
  if (choices.format) form.format.value = choices.format;
  if (choices.mask_form) form.mask_form.value = choices.mask_form;
  if (choices.records) for (const box of form.querySelectorAll("[name=records]")) box.checked = choices.records.includes(box.value);
  if (choices.scope) form.scope.value = choices.scope === "filter" ? "filter" : "pool";
})();

function showExportJob(job, downloadUrl) {
  exporter.job = job.id;
  setProgress(exporter.box, job.total ? job.done / job.total : 0, `${job.done} / ${job.total} images`);
  say(exporter.message, job.message || job.status, job.status === "failed");
  if (job.status === "done") {
    exporter.download.href = downloadUrl || `/api/exports/${job.id}/download/`;
    exporter.download.hidden = false;
    say(exporter.message, "Your export is ready.");
  }
}
jobHandlers.set("export", (job) => job.id === exporter.job && showExportJob(job));

$("#export-start").addEventListener("click", async () => {
  const form = $("#export-form");
  exporter.download.hidden = true;
  const body = {
    format: form.format.value,
    records: [...form.querySelectorAll("[name=records]:checked")].map((b) => b.value),
    scope: form.scope.value,
  };
  if (body.format === "coco") body.mask_form = form.mask_form.value;
  else if (form.mask_form.value !== "polygons") body.mask_form = form.mask_form.value;
  if (body.scope === "filter") body.completed_only = true;
  const result = await api("POST", `/api/projects/${P}/exports/`, body);
  if (!result.ok) return say(exporter.message, errorMessage(result), true);
  showExportJob(result.data.job, result.data.download_url);
});

// ------------------------------------------------------------------ labels

$("#labels").addEventListener("change", async (event) => {
  const item = event.target.closest("[data-id]");
  if (!item) return;
  const body = event.target.type === "color" ? { color: event.target.value } : { name: event.target.value };
  const result = await api("PATCH", `/api/labels/${item.dataset.id}/`, body);
  if (!result.ok) alert(errorMessage(result));
});
$("#labels").addEventListener("click", async (event) => {
  const button = event.target.closest(".label-delete");
  if (!button) return;
  const item = button.closest("[data-id]");
  if (!confirm("Delete this label? Objects keep their masks and lose the label.")) return;
  const result = await api("DELETE", `/api/labels/${item.dataset.id}/`);
  if (result.ok) item.remove();
  else alert(errorMessage(result));
});
$("#label-add")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const result = await api("POST", `/api/projects/${P}/labels/`, { name: form.name.value.trim(), color: form.color.value });
  if (!result.ok) return alert(errorMessage(result));
  location.reload();
});

// ------------------------------------------------------------------ settings and members

$("#settings-close")?.addEventListener("click", () => $("#settings-dialog").close());
$("#settings-save")?.addEventListener("click", async () => {
  const form = $("#settings-form");
  const result = await api("PATCH", `/api/projects/${P}/`, { name: form.name.value.trim(), description: form.description.value });
  if (!result.ok) return alert(errorMessage(result));
  $("#project-name").textContent = result.data.name;
  document.title = `${result.data.name} · Annotator`;
});
$("#member-add")?.addEventListener("click", async () => {
  const result = await api("POST", `/api/projects/${P}/members/`, { username: $("#member-username").value.trim(), role: $("#member-role").value });
  if (!result.ok) return alert(errorMessage(result));
  $("#member-username").value = "";
  refresh("members");
});
$("#members")?.addEventListener("change", async (event) => {
  const row = event.target.closest("[data-user]");
  const result = await api("PATCH", `/api/projects/${P}/members/${row.dataset.user}/`, { role: event.target.value });
  if (!result.ok) alert(errorMessage(result));
  refresh("members");
});
$("#members")?.addEventListener("click", async (event) => {
  if (!event.target.closest(".member-remove")) return;
  const row = event.target.closest("[data-user]");
  const result = await api("DELETE", `/api/projects/${P}/members/${row.dataset.user}/`);
  if (!result.ok) alert(errorMessage(result));
  refresh("members");
});
$("#project-delete")?.addEventListener("click", async () => {
  const name = prompt(`This deletes the project and every annotation in it.\nType the project's name (${$("#project-name").textContent}) to confirm:`);
  if (name !== $("#project-name").textContent) return;
  const result = await api("DELETE", `/api/projects/${P}/`);
  if (!result.ok) return alert(errorMessage(result));
  location.href = "/";
});
