// The sources panel and "Add images": uploads with progress, server folders, URLs, Azure
// containers; re-scan, rename, remove (with what it takes away) and restore.

import { api, csrfToken, errorMessage } from "../socket.js";
import { $, P, ask, formMessage, guarded, refresh, setProgress, toast } from "./page.js";

function changed() {
  refresh("sources");
  refresh("pool");
}

async function addSource(kind, body, form) {
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  const result = await api("POST", `/api/projects/${P}/sources/${kind}/`, body);
  if (button) button.disabled = false;
  if (!result.ok) return formMessage(form, errorMessage(result));
  formMessage(form, `Added “${result.data.source.name}”.`, false);
  form.reset();
  changed();
}

function folderBody(form) {
  const extensions = form.extensions.value.split(/[\s,]+/).filter(Boolean);
  const body = { path: form.path.value.trim(), recursive: form.recursive.checked };
  if (extensions.length) body.extensions = extensions;
  return body;
}

function azureBody(form) {
  const body = { prefix: form.prefix.value.trim() };
  if (form.sas_url.value.trim()) {
    body.sas_url = form.sas_url.value.trim();
  } else {
    body.account_url = form.account_url.value.trim();
    body.container = form.container.value.trim();
    const kind = form.credential_kind.value;
    body.credential = { kind, secret: form.secret.value, env_var: form.env_var.value.trim() };
  }
  return body;
}

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
      formMessage(form, body?.error?.message || `Upload failed (${request.status}).`);
      return;
    }
    const outcomes = Array.isArray(body) ? body : [];
    const duplicates = outcomes.filter((o) => o.duplicate).length;
    formMessage(form, `Uploaded ${outcomes.length - duplicates} image(s)${duplicates ? `, ${duplicates} already in the pool` : ""}.`, false);
    changed();
  };
  request.onerror = () => {
    box.hidden = true;
    formMessage(form, "The upload was interrupted: the server cannot be reached. Try again.");
  };
  request.send(data);
}

// Re-scan, rename, remove and restore: what each asks, and its request.
const ACTIONS = {
  async scan(id, button) {
    button.disabled = true;
    button.textContent = "Scanning…";
    return api("POST", `/api/sources/${id}/scan/`);
  },
  async rename(id, button) {
    const current = button.closest("[data-source]").querySelector("strong")?.textContent || "";
    const name = await ask({ title: "Rename this source", confirm: "Rename", input: { label: "New name", value: current } });
    if (!name || name === current) return null;
    return api("PATCH", `/api/sources/${id}/`, { name });
  },
  async remove(id) {
    const preview = await api("GET", `/api/sources/${id}/removal/`);
    if (!preview.ok && preview.status === 0) return preview;
    const text = preview.ok ? preview.data.message : "Its images leave the pool; their annotations are kept.";
    if (!(await ask({ title: "Remove this source?", text, confirm: "Remove", danger: true }))) return null;
    return api("DELETE", `/api/sources/${id}/`);
  },
  async restore(id) {
    return api("POST", `/api/sources/${id}/restore/`);
  },
};

async function sourceAction(event) {
  const button = event.target.closest("[data-action]");
  if (!button || !ACTIONS[button.dataset.action]) return;
  const id = button.closest("[data-source]").dataset.source;
  const result = await ACTIONS[button.dataset.action](id, button);
  if (result === null) return;
  if (!result.ok) toast(errorMessage(result), { error: true });
  changed();
}

function initTabs() {
  for (const tab of document.querySelectorAll("[data-tab]")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll("[data-tab]")) {
        other.setAttribute("aria-selected", String(other === tab));
        $(`#${other.dataset.tab}`).hidden = other !== tab;
      }
    });
  }
}

function initDropzone() {
  const dropzone = $("#dropzone");
  if (!dropzone) return;
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

function onSubmit(selector, body, kind) {
  $(selector)?.addEventListener(
    "submit",
    guarded(async (event) => {
      event.preventDefault();
      await addSource(kind, body(event.target), event.target);
    }),
  );
}

export function initSources() {
  initTabs();
  onSubmit("#tab-folder", folderBody, "folder");
  onSubmit("#tab-urls", (form) => ({ urls: form.urls.value }), "urls");
  onSubmit("#tab-azure", azureBody, "azure");
  $("#tab-azure")?.addEventListener("submit", (event) => (event.target.secret.value = ""));
  $("#azure-credential")?.addEventListener("change", (event) => {
    const kind = event.target.value;
    for (const el of document.querySelectorAll(".azure-secret")) el.hidden = kind === "default" || kind === "environment";
    for (const el of document.querySelectorAll(".azure-env")) el.hidden = kind !== "environment";
  });
  $("#azure-credential")?.dispatchEvent(new Event("change"));
  $("#upload-files")?.addEventListener("change", (event) => upload([...event.target.files]));
  initDropzone();
  $("#sources").addEventListener("click", guarded(sourceAction));
}
