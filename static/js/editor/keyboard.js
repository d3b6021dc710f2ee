// Keyboard shortcuts. They work wherever focus is, except while typing into a text field;
// after any other sidebar control (a label list, a checkbox, a button) focus goes back to the
// canvas, so the next key is a shortcut again.

import { $, canvas, config, focusCanvas } from "./page.js";
import { navigate, completeAndNext, showHistory, travel } from "./navigation.js";
import { chooseCandidate, clearPrompt, keepCandidate, prompt } from "./prompts.js";
import { deleteObject, objects, select } from "./objects.js";
import { cancelPolygon, closePolygon, setBrush, setTool, tools } from "./tools.js";
import { fit, render } from "./view.js";

const TEXT_TYPES = new Set(["text", "search", "number", "email", "password", "url", "tel"]);

let panels = () => {};
let help = () => {};

// The two page toggles the keyboard drives as well.
export function useToggles({ togglePanels, toggleHelp }) {
  panels = togglePanels;
  help = toggleHelp;
}

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.closest("textarea, [contenteditable='true']")) return true;
  const input = target.closest("input");
  return Boolean(input) && TEXT_TYPES.has(input.type);
}

function escape() {
  if (!$("#help").hidden) return help();
  if (tools.polygon.length) return cancelPolygon();
  if (prompt.points.length || prompt.boxes.length || prompt.candidates) return clearPrompt();
  if (objects.selected !== null) select(null);
}

function enter() {
  if (tools.tool === "polygon") return closePolygon();
  return keepCandidate(prompt.candidates?.chosen ?? 0);
}

function digit(index) {
  // A number keeps that candidate; with several boxes it keeps them all.
  if (!prompt.candidates) return;
  if (prompt.candidates.perBox) return keepCandidate(0);
  chooseCandidate(index);
  return keepCandidate(index);
}

const SHORTCUTS = {
  p: () => setTool("point"),
  b: () => setTool("box"),
  v: () => setTool("select"),
  r: () => setTool("brush"),
  e: () => setTool("eraser"),
  g: () => setTool("polygon"),
  a: () => setTool("automask"),
  Escape: escape,
  Enter: enter,
  1: () => digit(0),
  2: () => digit(1),
  3: () => digit(2),
  "[": () => setBrush(tools.brush - 2),
  "]": () => setBrush(tools.brush + 2),
  d: () => navigate("next"),
  s: () => navigate("previous"),
  n: () => navigate("next_unprocessed"),
  c: () => completeAndNext(),
  h: () => showHistory(),
  f: () => (fit(), render()),
  Delete: () => objects.selected !== null && !config.readOnly && deleteObject(objects.selected),
  Backspace: () => objects.selected !== null && !config.readOnly && deleteObject(objects.selected),
  "?": () => help(),
  "\\": () => panels(),
};

window.addEventListener("keydown", (event) => {
  if (typing(event.target)) {
    if (event.key === "Escape" || event.key === "Enter") event.target.blur?.();
    if (event.key === "Escape") focusCanvas();
    return;
  }
  if (event.key === " ") {
    tools.spaceDown = true;
    event.preventDefault();
    return;
  }
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "y")) {
    event.preventDefault();
    travel(key === "y" || event.shiftKey ? "redo" : "undo");
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const action = SHORTCUTS[event.key] || SHORTCUTS[key];
  if (!action) return;
  // A shortcut wins over the control that has focus (no type-ahead in a list, no button press).
  event.preventDefault();
  if (event.target !== canvas) focusCanvas();
  action();
});

window.addEventListener("keyup", (event) => {
  if (event.key === " ") tools.spaceDown = false;
});

// Focus returns to the canvas after a sidebar control was used.
for (const selector of ["#label-select", "#refine", "#opacity", "#show-automask"]) {
  $(selector)?.addEventListener("change", () => focusCanvas());
}
document.addEventListener("click", (event) => {
  const control = event.target instanceof Element && event.target.closest(".toolbar button, .side button, .navbar button");
  if (control && !control.closest("#history") && control.id !== "history-button") focusCanvas();
});
