// The labels card: rename, recolour, delete (asked in the page) and add.

import { api, errorMessage } from "../socket.js";
import { $, P, ask, formMessage, guarded, toast } from "./page.js";

async function edit(event) {
  const item = event.target.closest("[data-id]");
  if (!item) return;
  const body = event.target.type === "color" ? { color: event.target.value } : { name: event.target.value };
  const result = await api("PATCH", `/api/labels/${item.dataset.id}/`, body);
  if (!result.ok) toast(errorMessage(result), { error: true });
}

async function remove(event) {
  const button = event.target.closest(".label-delete");
  if (!button) return;
  const item = button.closest("[data-id]");
  const name = item.querySelector(".label-name")?.value || "this label";
  const yes = await ask({ title: `Delete “${name}”?`, text: "Objects keep their masks and lose the label.", confirm: "Delete", danger: true });
  if (!yes) return;
  const result = await api("DELETE", `/api/labels/${item.dataset.id}/`);
  if (result.ok) item.remove();
  else toast(errorMessage(result), { error: true });
}

async function add(event) {
  event.preventDefault();
  const form = event.target;
  const result = await api("POST", `/api/projects/${P}/labels/`, { name: form.name.value.trim(), color: form.color.value });
  if (!result.ok) return formMessage(form, errorMessage(result));
  location.reload();
}

export function initLabels() {
  $("#labels").addEventListener("change", guarded(edit));
  $("#labels").addEventListener("click", guarded(remove));
  $("#label-add")?.addEventListener("submit", guarded(add));
}
