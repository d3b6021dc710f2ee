// What every part of the project page shares: its config, panel refreshes, inline messages,
// toasts and the in-page confirm dialog (no native alert, confirm or prompt).

export const $ = (selector, root = document) => root.querySelector(selector);
export const config = JSON.parse($("#project-config").textContent);
export const P = config.project;

// HTMX panels listen for `<what>-changed` on the body.
export function refresh(what) {
  document.body.dispatchEvent(new Event(`${what}-changed`));
}

export function say(element, text, error = false) {
  element.textContent = text;
  element.classList.toggle("error", error);
}

export function setProgress(box, fraction, text) {
  box.hidden = false;
  const bar = box.querySelector(".progress-bar");
  const percent = Math.round(Math.min(1, Math.max(0, fraction || 0)) * 100);
  bar.style.width = `${percent}%`;
  box.setAttribute("role", "progressbar");
  box.setAttribute("aria-valuenow", String(percent));
  box.querySelector(".progress-text").textContent = text;
}

// A message under a form, made the first time it is needed.
export function formMessage(form, text, error = true) {
  let box = form.querySelector(".form-message");
  if (!box) {
    box = document.createElement("p");
    box.className = "form-message";
    form.append(box);
  }
  box.setAttribute("role", error ? "alert" : "status");
  say(box, text, error);
}

// A short message at the corner of the page; errors stay longer and can be closed.
export function toast(text, { error = false } = {}) {
  const item = document.createElement("div");
  item.className = `toast-item${error ? " error" : ""}`;
  item.setAttribute("role", error ? "alert" : "status");
  const words = document.createElement("span");
  words.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "icon";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "✕";
  close.addEventListener("click", () => item.remove());
  item.append(words, close);
  $("#toasts").append(item);
  setTimeout(() => item.remove(), error ? 12000 : 5000);
  return item;
}

// A listener whose unexpected failure becomes a readable message, never an uncaught error.
export function guarded(handler) {
  return async (event) => {
    try {
      await handler(event);
    } catch (error) {
      console.warn(error);
      toast(`Something went wrong: ${error?.message || error}. Reload the page and try again.`, { error: true });
    }
  };
}

// The in-page confirm dialog. Resolves to true (or the typed text when `input` is given) on
// confirm, null on cancel. `input.mustEqual`: confirm stays disabled until the text matches.
export function ask({ title, text = "", confirm = "OK", danger = false, input = null }) {
  const dialog = $("#confirm-dialog");
  const field = $("#confirm-input");
  const label = $("#confirm-input-label");
  const ok = $("#confirm-ok");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  $("#confirm-text").hidden = !text;
  ok.textContent = confirm;
  ok.classList.toggle("danger", danger);
  ok.classList.toggle("primary", !danger);
  label.hidden = field.hidden = !input;
  field.value = input?.value || "";
  label.textContent = input?.label || "";
  const check = () => {
    const value = field.value.trim();
    ok.disabled = Boolean(input) && (input.mustEqual !== undefined ? value !== input.mustEqual : !value);
  };
  field.oninput = check;
  check();
  return new Promise((resolve) => {
    const done = (value) => {
      dialog.onclose = null;
      ok.onclick = null;
      $("#confirm-cancel").onclick = null;
      if (dialog.open) dialog.close();
      resolve(value);
    };
    ok.onclick = (event) => {
      event.preventDefault();
      if (!ok.disabled) done(input ? field.value.trim() : true);
    };
    $("#confirm-cancel").onclick = () => done(null);
    $("#confirm-form").onsubmit = (event) => {
      event.preventDefault();
      ok.click();
    };
    dialog.onclose = () => done(null);
    dialog.showModal();
    (input ? field : $("#confirm-cancel")).focus();
  });
}
