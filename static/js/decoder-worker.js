// The browser's SAM2 decoder, off the page's thread: one onnxruntime-web session (the CPU
// build: WASM, SIMD, threads when the page is cross-origin isolated) of the project's decoder
// graph, the open image's features, and decodes of prompts already turned into the graph's
// inputs. Every message is {id, type, ...}; every answer {id, ok, ...} or {id, ok: false, error}.

import { byScore, splitFeatures, unshuffle, upscaleMask } from "./lib/sam-decode.js";

const VENDOR = new URL("../vendor/onnxruntime-web/", import.meta.url);
let ort = null;
let session = null;
let image = null; // {key, header, tensors: {name: ort.Tensor}}

async function loadRuntime(threads) {
  try {
    ort = await import(new URL("ort.wasm.min.mjs", VENDOR).href);
  } catch (error) {
    throw new Error(`onnxruntime-web is not installed on the server (bin/serve installs it): ${error.message}`);
  }
  ort.env.wasm.wasmPaths = {
    mjs: new URL("ort-wasm-simd-threaded.mjs", VENDOR).href,
    wasm: new URL("ort-wasm-simd-threaded.wasm", VENDOR).href,
  };
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = "error";
}

async function fetchOk(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error?.message || message;
    } catch {
      // not JSON: keep the status line
    }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return response;
}

async function init({ modelUrl, threads }) {
  const started = performance.now();
  if (!ort) await loadRuntime(threads);
  const model = new Uint8Array(await (await fetchOk(modelUrl)).arrayBuffer());
  session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  image = null;
  return { ms: performance.now() - started, threads: ort.env.wasm.numThreads, bytes: model.byteLength };
}

async function loadFeatures({ url, key }) {
  const started = performance.now();
  const response = await fetchOk(url);
  if (response.status === 202) {
    const error = new Error((await response.json()).message || "the image's features are being prepared");
    error.status = 202;
    throw error;
  }
  const buffer = await response.arrayBuffer();
  const { header, compressed } = splitFeatures(buffer);
  const stream = new Blob([compressed]).stream().pipeThrough(new DecompressionStream("gzip"));
  const raw = new Uint8Array(await new Response(stream).arrayBuffer());
  const tensors = {};
  for (const entry of header.tensors) tensors[entry.name] = new ort.Tensor("float32", unshuffle(raw, entry), entry.shape);
  image = { key, header, tensors };
  return { ms: performance.now() - started, bytes: buffer.byteLength, header };
}

// No previous mask: the same zero tensors for every prompt on an image of this size.
let noMask = null;

function inputs(coords, labels, count) {
  const size = image.header.image_size / 4;
  if (noMask?.size !== size) {
    noMask = {
      size,
      mask_input: new ort.Tensor("float32", new Float32Array(size * size), [1, 1, size, size]),
      has_mask_input: new ort.Tensor("float32", new Float32Array(1), [1]),
    };
  }
  return {
    ...image.tensors,
    point_coords: new ort.Tensor("float32", coords, [1, count, 2]),
    point_labels: new ort.Tensor("float32", labels, [1, count]),
    mask_input: noMask.mask_input,
    has_mask_input: noMask.has_mask_input,
  };
}

// {key, coords, labels, count, multimask, keep, raw}: the `keep` best masks, sorted by score,
// in image pixels; with `raw`, the best one's low-resolution logits instead ({logits, size}),
// for the page to upscale while this worker runs the next prompt.
async function decode({ key, coords, labels, count, multimask, keep = 3, raw = false }) {
  if (!session) throw new Error("the decoder is not started");
  if (!image || image.key !== key) throw new Error("the image's features are not loaded");
  const started = performance.now();
  const out = await session.run(inputs(coords, labels, count));
  const logits = multimask ? out.masks : out.single_mask;
  const scores = Array.from((multimask ? out.scores : out.single_score).data);
  const decoded = performance.now();
  const [, , height, width] = logits.dims;
  const [origHeight, origWidth] = image.header.orig_hw;
  const order = byScore(scores).slice(0, keep);
  if (raw) {
    const best = logits.data.slice(order[0] * height * width, (order[0] + 1) * height * width);
    return { scores: [scores[order[0]]], logits: best, size: width, decodeMs: decoded - started, ms: performance.now() - started };
  }
  const threshold = image.header.mask_threshold || 0;
  const masks = order.map((i) => upscaleMask(logits.data, i * height * width, width, origWidth, origHeight, threshold));
  return { scores: order.map((i) => scores[i]), masks, decodeMs: decoded - started, ms: performance.now() - started };
}

// Dummy decodes on the loaded features, so the engine is warm before the first real one
// (the first runs of a fresh session are several times slower).
async function warmup({ runs = 10, budgetMs = 1500 }) {
  if (!session || !image) throw new Error("nothing to warm up on yet");
  const started = performance.now();
  const size = image.header.image_size;
  for (let i = 0; i < runs && (i < 2 || performance.now() - started < budgetMs); i++) {
    const n = 1 + (i % 2);
    await session.run(inputs(new Float32Array(2 * n).fill(size / 2), new Float32Array(n).fill(1), n));
  }
  return { ms: performance.now() - started };
}

const HANDLERS = { init, features: loadFeatures, decode, warmup };

self.addEventListener("message", async (event) => {
  const { id, type, ...data } = event.data;
  try {
    const result = await HANDLERS[type](data);
    const transfer = result.masks ? result.masks.map((m) => m.data.buffer) : result.logits ? [result.logits.buffer] : [];
    self.postMessage({ id, ok: true, ...result }, transfer);
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error?.message || error), status: error?.status || 0 });
  }
});
