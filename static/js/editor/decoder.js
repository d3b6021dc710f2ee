// SAM2's decoder in the browser: the project's decoder graph (ONNX) and the open image's
// features run in a Web Worker (static/js/decoder-worker.js), so a prompt is decoded here in
// milliseconds. Two uses: the hover preview (with the point tool, the mask a click would give
// follows the pointer) and an instant preview of a click while the server's answer is on its
// way. The server stays the record: a click still goes over the socket, and its saved masks
// replace the preview. When the browser cannot decode (no WebAssembly, the classic model,
// features not ready, a worker error) everything runs on the server and one status line says so.

import { promptInputs, upscaleMask, wantsMultimask } from "../lib/sam-decode.js";
import { api } from "../socket.js";
import { drawLayer, maskLayer } from "./masks.js";
import { $, config } from "./page.js";
import { prompt } from "./prompts.js";
import { session } from "./session.js";
import { addLayer, render } from "./view.js";

const HOVER_DEBOUNCE_MS = 12;
const FEATURE_RETRIES = 60; // every 1.5 s: a 1024 model's encoder on a CPU takes seconds
const HOVER_COLOR = "#e8f4ff";

export const decoder = {
  enabled: config.ui?.browser_decoder ?? true,
  hoverEnabled: config.ui?.hover_preview ?? true,
  state: "off", // off, starting, ready (decoding here), server (falling back)
  reason: "", // a few words on the status line
  detail: "", // the whole reason, in its tooltip
  threads: 0,
  featuresFor: null, // the image id whose features the worker holds
  header: null,
  startup: null, // {modelMs, modelBytes, featuresMs, featuresBytes, warmupMs}
  hover: null, // {imageId, key, x, y, mask, layer, score, ms, graphMs}
  instant: null, // {seq, imageId, layer}
  lastClick: null, // {seq, masks, scores, ms}: the local decode of the latest click
  hoverDecodes: 0,
};

let worker = null;
let generation = 0; // a restart makes every answer of the previous worker stale
let calls = 0;
let started = null; // the worker's init, which every other call waits for
let loadingFor = null; // the image id whose features are on their way
const waiting = new Map();

function call(type, data = {}, transfer = []) {
  const id = ++calls;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, type, ...data }, transfer);
  });
}

function onAnswer(event) {
  const { id, ok, ...data } = event.data;
  const pending = waiting.get(id);
  if (!pending) return;
  waiting.delete(id);
  if (ok) pending.resolve(data);
  else pending.reject(Object.assign(new Error(data.error), { status: data.status }));
}

function showStatus() {
  const element = $("#decoder-status");
  if (!element) return;
  const text = {
    off: "Decoding on the server",
    starting: "Starting the browser decoder…",
    ready: `Decoding here (WASM, ${decoder.threads} thread${decoder.threads === 1 ? "" : "s"})`,
    server: `Decoding on the server: ${decoder.reason}`,
  }[decoder.state];
  element.textContent = decoder.state === "off" && decoder.reason ? `Decoding on the server: ${decoder.reason}` : text;
  element.dataset.state = decoder.state;
  element.title =
    decoder.state === "ready"
      ? "Previews are decoded in this browser; every click is still saved by the server."
      : `Clicks are decoded on the server${decoder.detail ? `: ${decoder.detail}` : ""}.`;
}

// reason: a few words for the status line; detail: the whole story, in its tooltip.
function fallBack(reason, detail = "") {
  decoder.state = "server";
  decoder.reason = reason;
  decoder.detail = detail || reason;
  decoder.featuresFor = null; // nothing is decoded here until an image's features load again
  clearPreviews();
  showStatus();
}

function stop(reason) {
  generation += 1;
  if (worker) worker.terminate();
  worker = null;
  for (const pending of waiting.values()) pending.reject(new Error("stopped"));
  waiting.clear();
  started = null;
  loadingFor = null;
  decoder.featuresFor = null;
  decoder.state = "off";
  decoder.reason = reason;
  decoder.detail = reason;
  clearPreviews();
  showStatus();
}

export async function startDecoder() {
  stop("");
  if (config.readOnly) return;
  if (!decoder.enabled) return stop("browser decoder off");
  if (typeof WebAssembly === "undefined" || typeof Worker === "undefined") return fallBack("no WebAssembly", "this browser has no WebAssembly workers");
  const mine = ++generation;
  decoder.state = "starting";
  showStatus();
  // Asked first, so a project on the classic model (or none loaded) never requests a graph
  // it cannot have.
  const model = await api("GET", `/api/projects/${config.project}/model/`);
  if (mine !== generation) return;
  if (!model.ok) return fallBack("model unknown", "the project's model could not be read");
  if (model.data?.active?.key === "classic") return fallBack("classic model", "the project's model is classic, which has no SAM2 decoder");
  if (model.data?.status !== "loaded") return fallBack("no SAM2 model loaded", "no SAM2 model is loaded in this project");
  worker = new Worker(new URL("../decoder-worker.js", import.meta.url), { type: "module" });
  worker.addEventListener("message", onAnswer);
  worker.addEventListener("error", (event) => {
    event.preventDefault();
    if (mine === generation) fallBack("decoder error", `the decoder's worker failed (${event.message || "no detail"})`);
  });
  const threads = self.crossOriginIsolated ? 2 : 1;
  started = call("init", { modelUrl: `/api/projects/${config.project}/decoder.onnx`, threads });
  try {
    const answer = await started;
    if (mine !== generation) return;
    decoder.threads = answer.threads;
    decoder.startup = { modelMs: answer.ms, modelBytes: answer.bytes };
  } catch (error) {
    if (mine === generation) fallBack("decoder not available", error.message);
    return;
  }
  if (session.image) loadFeatures(session.image.id, mine);
}

async function loadFeatures(imageId, mine = generation, attempt = 0) {
  if (loadingFor === imageId && attempt === 0) return;
  loadingFor = imageId;
  decoder.featuresFor = null;
  clearPreviews();
  try {
    const loaded = await call("features", { url: `/api/images/${imageId}/features/`, key: String(imageId) });
    if (mine !== generation || session.image?.id !== imageId) return;
    decoder.header = loaded.header;
    const first = !decoder.startup.featuresMs;
    Object.assign(decoder.startup, { featuresMs: loaded.ms, featuresBytes: loaded.bytes });
    if (first) decoder.startup.warmupMs = (await call("warmup", { runs: 10, budgetMs: 1500 })).ms;
    if (mine !== generation || session.image?.id !== imageId) return;
    decoder.featuresFor = imageId;
    loadingFor = null;
    decoder.state = "ready";
    decoder.reason = "";
    decoder.detail = "";
    showStatus();
  } catch (error) {
    if (loadingFor === imageId) loadingFor = null;
    if (mine !== generation || session.image?.id !== imageId) return;
    if (error.status === 202 && attempt < FEATURE_RETRIES) {
      fallBack("features being prepared", "the image's features are being prepared on the server");
      setTimeout(() => loadFeatures(imageId, mine, attempt + 1), 1500);
      return;
    }
    fallBack("features not available", `the image's features could not be loaded (${error.message})`);
  }
}

// The editor opened an image: its features are fetched once (the browser revalidates them).
export function decoderOpened(imageId) {
  if (!worker || !started || decoder.featuresFor === imageId) return;
  const mine = generation;
  started.then(
    () => mine === generation && session.image?.id === imageId && loadFeatures(imageId, mine),
    () => {},
  );
}

function ready() {
  return Boolean(worker) && decoder.featuresFor !== null && decoder.featuresFor === session.image?.id;
}

// Whether the browser can decode this prompt as the server would: one box at most, and no
// previous mask as input (the server holds those logits).
function supported(points, boxes) {
  const refining = $("#refine")?.checked && prompt.lastPrediction;
  return boxes.length <= 1 && points.length + boxes.length > 0 && !refining;
}

// The masks the server would give for points and boxes, sorted by score: {masks, scores, ms}
// (bounded masks in image pixels), or null when the browser cannot decode it now. With `raw`,
// the best mask's low-resolution logits instead ({logits, size, scores, ms}).
export async function decodeHere(points, boxes, { keep = 3, raw = false } = {}) {
  if (!ready() || !supported(points, boxes)) return null;
  const image = session.image;
  const header = decoder.header;
  const { coords, labels, count } = promptInputs(points, boxes, { width: header.orig_hw[1], height: header.orig_hw[0] }, header.image_size);
  const mine = generation;
  try {
    const result = await call("decode", { key: String(image.id), coords, labels, count, multimask: wantsMultimask(points, boxes), keep, raw });
    return mine === generation && session.image?.id === image.id ? result : null;
  } catch (error) {
    if (mine === generation && error.message !== "stopped" && !/features are not loaded/.test(error.message)) fallBack("decoder error", `decoding failed (${error.message})`);
    return null;
  }
}

// ---------------------------------------------------------------- the hover preview

let latest = null; // the newest pointer position asked for, {imageId, key, x, y}
let inFlight = false;
let hoverTimer = null;

function promptKey() {
  return JSON.stringify([prompt.points, prompt.boxes, prompt.candidates?.predictionId ?? null]);
}

// The pointer moved over the image with the point tool (p in image pixels), or left it (null).
export function decoderHover(p) {
  if (!p || !decoder.hoverEnabled || !ready() || prompt.pending) {
    latest = null;
    if (decoder.hover) {
      decoder.hover = null;
      render();
    }
    return;
  }
  latest = { imageId: session.image.id, key: promptKey(), x: Math.round(p.x), y: Math.round(p.y) };
  if (decoder.hover && decoder.hover.x === latest.x && decoder.hover.y === latest.y && decoder.hover.key === latest.key) return;
  // One timer at most, never pushed back by the next move: a pointer that keeps moving still
  // gets a preview within the debounce time, at the position it has when the timer fires.
  if (!inFlight && hoverTimer === null) hoverSoon(HOVER_DEBOUNCE_MS);
}

function hoverSoon(ms) {
  clearTimeout(hoverTimer);
  hoverTimer = setTimeout(() => {
    hoverTimer = null;
    hoverDecode();
  }, ms);
}

async function hoverDecode() {
  const asked = latest;
  if (!asked || inFlight) return;
  inFlight = true;
  const points = [...prompt.points, { x: asked.x, y: asked.y, label: 1 }];
  const header = decoder.header;
  const result = await decodeHere(points, prompt.boxes, { keep: 1, raw: true });
  inFlight = false;
  // The newest position wins: one decode in flight, none queued behind it. The next one
  // starts before this one is upscaled and drawn, so the worker never waits for the page.
  if (latest && (latest.x !== asked.x || latest.y !== asked.y || latest.key !== asked.key)) {
    clearTimeout(hoverTimer);
    hoverTimer = null;
    hoverDecode();
  }
  const current = latest && latest.imageId === asked.imageId && latest.key === promptKey();
  if (!result || !current || header !== decoder.header) return;
  const [height, width] = header.orig_hw;
  const mask = upscaleMask(result.logits, 0, result.size, width, height, header.mask_threshold || 0);
  decoder.hover = { ...asked, mask, layer: maskLayer(mask, HOVER_COLOR), score: result.scores[0], ms: result.ms, graphMs: result.decodeMs };
  decoder.hoverDecodes += 1;
  render();
}

// ---------------------------------------------------------------- the click's instant preview

// Called by prompts.js with each request it sends: the local answer shows until the server's.
export async function decoderClick(data) {
  decoder.hover = null;
  latest = null;
  const seq = prompt.pending;
  if (seq === null) return;
  const t0 = performance.now();
  const result = await decodeHere(prompt.points.map((p) => ({ ...p })), prompt.boxes.slice());
  if (!result) return;
  decoder.lastClick = { seq, requestId: data.request_id, masks: result.masks, scores: result.scores, ms: performance.now() - t0 };
  if (prompt.pending === seq && result.masks[0]) {
    decoder.instant = { seq, imageId: session.image.id, layer: maskLayer(result.masks[0], "#ffd400") };
    render();
  }
}

function clearPreviews() {
  decoder.hover = null;
  decoder.instant = null;
  latest = null;
  render();
}

// Light, below the tools and the prompt's points: the click's instant mask while the server
// answers, else the hover preview.
addLayer(35, (ctx) => {
  const image = session.image;
  if (!image) return;
  const instant = decoder.instant;
  if (instant && instant.seq === prompt.pending && instant.imageId === image.id) {
    drawLayer(ctx, instant.layer, 0.45);
    return;
  }
  decoder.instant = null;
  const hover = decoder.hover;
  if (hover && hover.imageId === image.id && hover.key === promptKey() && !prompt.pending) drawLayer(ctx, hover.layer, 0.35);
});

// ---------------------------------------------------------------- the two settings

async function saveSetting(name, value) {
  await api("PATCH", `/api/projects/${config.project}/my-settings/`, { [name]: value });
}

export function initDecoder() {
  const browser = $("#browser-decoder");
  const hover = $("#hover-preview");
  if (browser) {
    browser.checked = decoder.enabled;
    browser.addEventListener("change", () => {
      decoder.enabled = browser.checked;
      saveSetting("browser_decoder", decoder.enabled);
      startDecoder();
    });
  }
  if (hover) {
    hover.checked = decoder.hoverEnabled;
    hover.addEventListener("change", () => {
      decoder.hoverEnabled = hover.checked;
      saveSetting("hover_preview", decoder.hoverEnabled);
      if (!decoder.hoverEnabled) clearPreviews();
    });
  }
  // A newly loaded model has its own decoder and features.
  document.addEventListener("annotator:event", (event) => {
    const { type, data } = event.detail || {};
    if (type === "model.state" && data?.status === "loaded") startDecoder();
  });
  startDecoder();
}
