// The editor page itself: its configuration, element lookup, the toast line, the spinner and
// an in-page confirm dialog (never the browser's native dialogs).

export const $ = (selector) => document.querySelector(selector);
export const config = JSON.parse($("#editor-config").textContent);
export const canvas = $("#canvas");

// Controls that only a role allowed to write has; a viewer's page does not render them.
export function on(selector, event, handler) {
  const element = $(selector);
  if (element) element.addEventListener(event, handler);
}

export function spinner(shown) {
  $("#spinner").hidden = !shown;
}

let toastTimer = null;
export function toast(message, kind = "info") {
  const element = $("#toast");
  element.textContent = message;
  element.className = `toast ${kind}`;
  element.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (element.hidden = true), kind === "error" ? 8000 : 4000);
}

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Focus goes back to the canvas after any sidebar control, so shortcuts keep working.
export function focusCanvas() {
  canvas.focus({ preventScroll: true });
}
