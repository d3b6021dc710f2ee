// The canvas editor, as native modules under ./editor/: page (config, toast), session (the
// open image and versioned writes), view (zoom, pan, frame), masks (mask layers), objects,
// prompts (SAM2 prompts and candidates), automask, tools (the pointer), navigation,
// keyboard and image-menu. This entry wires them to the project socket and the settings.

import { ProjectSocket, api } from "./socket.js";
import { automask, onAutomaskEvent } from "./editor/automask.js";
import { comments, loadComments, onCommentChanged } from "./editor/comments.js";
import "./editor/image-menu.js";
import "./notices.js";
import { decoder, decoderClick, decoderOpened, initDecoder } from "./editor/decoder.js";
import { noteJob } from "./editor/jobs.js";
import { useToggles } from "./editor/keyboard.js";
import { onOpened, openImage } from "./editor/navigation.js";
import { objects } from "./editor/objects.js";
import { $, config, focusCanvas, on, toast } from "./editor/page.js";
import { clearPrompt, isCurrent, keepCandidate, onPrediction, onPredictionError, predict, prompt, useLocalDecoder, usePromptSender } from "./editor/prompts.js";
import { onImageChanged, review } from "./editor/review.js";
import { conflictBanner, session } from "./editor/session.js";
import { onToolChange, setBrush, setTool, tools } from "./editor/tools.js";
import { fit, render, view } from "./editor/view.js";

const CONNECTION = {
  connecting: "Connecting…",
  connected: "Live",
  reconnected: "Live (reconnected)",
  reconnecting: "Connection lost — reconnecting…",
  refused: "Not allowed — log in again",
};

const socket = new ProjectSocket(config.project, {
  onMessage: handleMessage,
  onState: (state) => {
    const element = $("#connection");
    element.textContent = CONNECTION[state] || state;
    element.dataset.state = state;
  },
});
usePromptSender((type, data) => socket.send(type, data));
useLocalDecoder(decoderClick);
onOpened((imageId) => {
  socket.sendSticky("open_image", { image_id: imageId });
  decoderOpened(imageId);
  loadComments({ opened: true });
});

function handleMessage({ type, data }) {
  switch (type) {
    case "prediction":
      if (isCurrent(data.request_id)) onPrediction(data);
      break;
    case "error":
      if (!data.request_id || isCurrent(data.request_id)) onPredictionError(data.message);
      break;
    case "presence":
      if (session.image && data.image_id === session.image.id) showPresence(data.users);
      break;
    case "image.changed":
      if (session.image && data.image_id === session.image.id && data.version > session.image.version && data.by !== config.username) {
        conflictBanner(`${data.by} changed this image.`);
      }
      onImageChanged(data);
      break;
    case "comment.changed":
      onCommentChanged(data);
      break;
    case "automask.image":
      onAutomaskEvent(type, data);
      break;
    default:
      if (type === "job.progress") {
        noteJob(data);
        onAutomaskEvent(type, data);
      }
      if (type.startsWith("model") || type.startsWith("job") || type === "notice") {
        document.dispatchEvent(new CustomEvent("annotator:event", { detail: { type, data } }));
      }
  }
}

function showPresence(users) {
  const others = users.filter((u) => u.username !== config.username);
  $("#presence").textContent = others.length ? `Also here: ${others.map((u) => u.username).join(", ")}` : "";
}

// ---------------------------------------------------------------- the user's own settings

const settings = { panels: config.ui.panels || "shown", failed: false };
let settingsTimer = null;

function saveSettings() {
  clearTimeout(settingsTimer);
  settingsTimer = setTimeout(async () => {
    const body = { opacity: view.opacity, brush_size: tools.brush, tool: tools.tool, panels: settings.panels };
    const result = await api("PATCH", `/api/projects/${config.project}/my-settings/`, body);
    if (!result.ok && !settings.failed) toast("Your editor settings could not be saved; they will be tried again on the next change.", "error");
    settings.failed = !result.ok;
  }, 600);
}

function togglePanels(show = document.querySelector(".editor").classList.contains("no-side")) {
  document.querySelector(".editor").classList.toggle("no-side", !show);
  $("#panels-button").setAttribute("aria-pressed", String(show));
  settings.panels = show ? "shown" : "hidden";
  fit();
  render();
  saveSettings();
}

function toggleHelp() {
  $("#help").hidden = !$("#help").hidden;
  if ($("#help").hidden) focusCanvas();
}

useToggles({ togglePanels, toggleHelp });
onToolChange(saveSettings);
on("#panels-button", "click", () => togglePanels());
on("#help-button", "click", () => toggleHelp());
on("#help-close", "click", () => toggleHelp());
on("#clear-prompt", "click", () => clearPrompt());
on("#opacity", "input", (e) => {
  view.opacity = Number(e.target.value) / 100;
  saveSettings();
  render();
});

view.opacity = config.ui.opacity ?? 0.5;
$("#opacity").value = Math.round(view.opacity * 100);
document.querySelector(".editor").classList.toggle("no-side", settings.panels === "hidden");
$("#panels-button").setAttribute("aria-pressed", String(settings.panels !== "hidden"));
setBrush(config.ui.brush_size ?? 12);
setTool(config.ui.tool || (config.readOnly ? "select" : "point"));
fit();
initDecoder();
if (config.image) openImage(config.image, { pushHistory: false });
focusCanvas();

// For tests and scripts driving the page: one read-only view over the modules' state.
const state = {
  get image() { return session.image; },
  get picture() { return view.picture; },
  get view() { return view.transform; },
  get tool() { return tools.tool; },
  get objects() { return objects.list; },
  get selected() { return objects.selected; },
  get hovered() { return objects.hovered; },
  get points() { return prompt.points; },
  get boxes() { return prompt.boxes; },
  get candidates() { return prompt.candidates; },
  get automask() { return automask.results; },
  get comments() { return comments.threads; },
  get issueDraft() { return review.issues; },
};
window.annotatorEditor = { state, openImage, predict, keepCandidate, setTool, decoder };
