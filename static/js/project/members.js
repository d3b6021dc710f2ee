// The owner's settings dialog: name and description, members and their roles, and deleting
// the project (confirmed by typing its name).

import { api, errorMessage } from "../socket.js";
import { $, P, ask, guarded, refresh, say, toast } from "./page.js";

function settingsMessage(text, error = false) {
  say($("#settings-message"), text, error);
}

async function save() {
  const form = $("#settings-form");
  const result = await api("PATCH", `/api/projects/${P}/`, {
    name: form.name.value.trim(),
    description: form.description.value,
    review_required: form.review_required.checked,
  });
  if (!result.ok) return settingsMessage(errorMessage(result), true);
  $("#project-name").textContent = result.data.name;
  document.title = `${result.data.name} · Annotator`;
  settingsMessage("Saved.");
}

async function addMember() {
  const result = await api("POST", `/api/projects/${P}/members/`, { username: $("#member-username").value.trim(), role: $("#member-role").value });
  if (!result.ok) return settingsMessage(errorMessage(result), true);
  $("#member-username").value = "";
  settingsMessage("Member added.");
  refresh("members");
}

async function changeRole(event) {
  const row = event.target.closest("[data-user]");
  if (!row) return;
  const result = await api("PATCH", `/api/projects/${P}/members/${row.dataset.user}/`, { role: event.target.value });
  if (!result.ok) settingsMessage(errorMessage(result), true);
  refresh("members");
}

async function removeMember(event) {
  if (!event.target.closest(".member-remove")) return;
  const row = event.target.closest("[data-user]");
  const name = row.querySelector("td")?.textContent.trim() || "this member";
  if (!(await ask({ title: `Remove ${name} from the project?`, confirm: "Remove", danger: true }))) return;
  const result = await api("DELETE", `/api/projects/${P}/members/${row.dataset.user}/`);
  if (!result.ok) settingsMessage(errorMessage(result), true);
  refresh("members");
}

async function deleteProject() {
  const name = $("#project-name").textContent;
  const typed = await ask({
    title: "Delete this project?",
    text: "This deletes the project and every annotation in it.",
    confirm: "Delete the project",
    danger: true,
    input: { label: `Type the project's name (${name}) to confirm`, mustEqual: name },
  });
  if (typed !== name) return;
  const result = await api("DELETE", `/api/projects/${P}/`);
  if (!result.ok) return toast(errorMessage(result), { error: true });
  location.href = "/";
}

export function initMembers() {
  $("#settings-close")?.addEventListener("click", () => $("#settings-dialog").close());
  $("#settings-save")?.addEventListener("click", guarded(save));
  $("#member-add")?.addEventListener("click", guarded(addMember));
  $("#members")?.addEventListener("change", guarded(changeRole));
  $("#members")?.addEventListener("click", guarded(removeMember));
  $("#project-delete")?.addEventListener("click", guarded(deleteProject));
}
