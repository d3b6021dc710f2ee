"""The browser's SAM2 decoder in headless Chromium against native onnxruntime on the same file.

A real `manage.py serve` (its own var dir) with a folder of photo-like pictures; per model
(random-weight micro, 512 px, and the hiera-tiny shape, 1024 px), the editor opens an image
and the bench reads, in the same run:

- start-up: navigation to "Decoding here" and its parts (the graph, the features, warm-up);
- the features' download per image (bytes on the wire, compressed) and their raw size;
- decode latency per prompt in the editor's worker (one point, two points, a box, a box and a
  point), including the upscale to the image and the threshold, and the graph alone;
- native onnxruntime (Python, 2 threads) on the same ONNX file and the same features;
- click to visible mask: the browser's own mask against the server's answer, per click;
- hover updates per second while the pointer sweeps across the picture.

    .venv/bin/python benches/browser_decoder.py [--repeats 30] [--width 1024 --height 768]
"""

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image as PILImage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PASSWORD = "bench-password"
CHROMIUM = "/usr/bin/chromium"

PROMPTS = {
    "one point": {"points": [{"x": 0.45, "y": 0.5, "label": 1}], "boxes": []},
    "two points": {
        "points": [{"x": 0.45, "y": 0.5, "label": 1}, {"x": 0.2, "y": 0.8, "label": 0}],
        "boxes": [],
    },
    "box": {"points": [], "boxes": [[0.3, 0.3, 0.7, 0.75]]},
    "box + point": {"points": [{"x": 0.5, "y": 0.5, "label": 1}], "boxes": [[0.3, 0.3, 0.7, 0.75]]},
}

# One prompt, timed `repeats` times in the editor's worker.
TIME_IN_PAGE = """async ([prompt, repeats, width, height]) => {
  const m = await import('/static/js/editor/decoder.js');
  const points = prompt.points.map(
    (p) => ({ x: Math.round(p.x * width), y: Math.round(p.y * height), label: p.label }));
  const boxes = prompt.boxes.map(
    (b) => [b[0] * width, b[1] * height, b[2] * width, b[3] * height].map(Math.round));
  const total = [], graph = [], worker = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    const result = await m.decodeHere(points, boxes);
    if (!result) throw new Error('the editor did not decode here');
    total.push(performance.now() - t);
    graph.push(result.decodeMs);
    worker.push(result.ms);
  }
  return { total, graph, worker };
}"""


READY = "document.querySelector('#decoder-status')?.textContent.startsWith('Decoding here')"


def picture(path: Path, width: int, height: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    pixels = np.full((height, width, 3), 100, np.uint8)
    for _ in range(6):
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        r = rng.integers(height // 10, height // 3)
        pixels[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = rng.integers(0, 255, 3)
    noise = rng.normal(0, 6, pixels.shape)
    PILImage.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(path, quality=90)


class Server:
    def __init__(self, folder: Path):
        self.var = Path(tempfile.mkdtemp(prefix="bench-decoder-"))
        self.env = {
            **os.environ,
            "ANNOTATOR_VAR_DIR": str(self.var),
            "ANNOTATOR_ADMIN_PASSWORD": PASSWORD,
            "ANNOTATOR_FOLDER_ROOTS": str(folder),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.env.pop("REDIS_URL", None)
        run = [PYTHON, "manage.py"]
        subprocess.run([*run, "migrate", "--noinput", "-v0"], cwd=ROOT, env=self.env, check=True)
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.log = (self.var / "serve.log").open("w")
        self.process = subprocess.Popen(
            [*run, "serve", "--port", str(port)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{self.base}/healthz", timeout=1)
                return
            except httpx.TransportError:
                assert self.process.poll() is None, "the server stopped"
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def call(page, method, url, body=None):
    return page.evaluate(
        """async ([method, url, body]) => {
            const token = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
            const headers = { "X-CSRFToken": token, "Content-Type": "application/json" };
            const options = { method, headers };
            if (body !== null) options.body = JSON.stringify(body);
            const r = await fetch(url, options);
            const text = await r.text();
            return { status: r.status, data: text ? JSON.parse(text) : null };
        }""",
        [method, url, body],
    )


def wait(check, timeout=300.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


class Native:
    """onnxruntime (Python, 2 threads) on the same ONNX file and the same float16 features."""

    def __init__(self, model_path: Path, wire: bytes, width: int, height: int):
        import onnxruntime

        from inference import features

        self.header, tensors = features.unpack(wire)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        self.session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        size = self.header["image_size"]
        self.base = {name: tensors[name].astype(np.float32) for name in tensors}
        self.base["mask_input"] = np.zeros((1, 1, size // 4, size // 4), np.float32)
        self.base["has_mask_input"] = np.zeros(1, np.float32)
        self.size, self.width, self.height = size, width, height

    def inputs(self, prompt: dict) -> dict:
        coords, labels = [], []
        for b in prompt["boxes"]:
            box = [round(b[0] * self.width), round(b[1] * self.height)]
            corner = [round(b[2] * self.width), round(b[3] * self.height)]
            coords += [box, corner]
            labels += [2, 3]
        for p in prompt["points"]:
            coords.append([round(p["x"] * self.width), round(p["y"] * self.height)])
            labels.append(p["label"])
        scale = np.array([self.size / self.width, self.size / self.height], np.float32)
        inputs = dict(self.base)
        inputs["point_coords"] = (np.array(coords, np.float32) * scale)[None]
        inputs["point_labels"] = np.array(labels, np.float32)[None]
        return inputs

    def times(self, prompt: dict, repeats: int) -> list[float]:
        inputs = self.inputs(prompt)
        out = []
        for _ in range(repeats):
            started = time.perf_counter()
            self.session.run(None, inputs)
            out.append((time.perf_counter() - started) * 1000)
        return out


def canvas_frame(page) -> list[float]:
    """Where image pixel (0, 0) is on the screen, and screen pixels per image pixel."""
    return page.evaluate(
        """() => { const s = window.annotatorEditor.state, c = document.querySelector('#canvas');
          const r = c.getBoundingClientRect(), k = r.width / c.width;
          return [r.left + s.view.x * k, r.top + s.view.y * k, s.view.scale * k]; }"""
    )


def hover_rate(page, width, height, seconds=4.0):
    left, top, scale = canvas_frame(page)
    before = page.evaluate("window.annotatorEditor.decoder.hoverDecodes")
    started = time.monotonic()
    moves = 0
    while time.monotonic() - started < seconds:
        t = (time.monotonic() - started) / seconds
        x = (0.15 + 0.7 * t) * width
        y = (0.5 + 0.25 * np.sin(t * 12)) * height
        page.mouse.move(left + x * scale, top + y * scale)
        moves += 1
        page.wait_for_timeout(8)
    elapsed = time.monotonic() - started
    after = page.evaluate("window.annotatorEditor.decoder.hoverDecodes")
    return (after - before) / elapsed, moves / elapsed


# The same sweep from inside the page: one pointer move per frame (60 Hz), as a mouse delivers
# them, with no driver process taking the cores between moves.
SWEEP_IN_PAGE = """async ([left, top, scale, width, height, seconds]) => {
  const editor = window.annotatorEditor, canvas = document.querySelector('#canvas');
  const before = editor.decoder.hoverDecodes, started = performance.now();
  let moves = 0, decodeMs = [], graphMs = [];
  let last = editor.decoder.hover;
  while (performance.now() - started < seconds * 1000) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const t = (performance.now() - started) / (seconds * 1000);
    const x = (0.15 + 0.7 * t) * width, y = (0.5 + 0.25 * Math.sin(t * 12)) * height;
    canvas.dispatchEvent(new MouseEvent('mousemove',
      { clientX: left + x * scale, clientY: top + y * scale, bubbles: true }));
    moves += 1;
    if (editor.decoder.hover && editor.decoder.hover !== last) {
      last = editor.decoder.hover;
      decodeMs.push(last.ms);
      graphMs.push(last.graphMs);
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  return { rate: (editor.decoder.hoverDecodes - before) / elapsed, moves: moves / elapsed,
           decodeMs, graphMs };
}"""


# Clicks with the point tool, as the canvas takes them: from the press to the first frame that
# holds the browser's own mask, and to the first that holds the server's answer (the round
# trip every click makes, which then replaces the local mask).
CLICKS_IN_PAGE = """async ([left, top, scale, x, y, count]) => {
  const editor = window.annotatorEditor, decoder = editor.decoder;
  const canvas = document.querySelector('#canvas');
  const prompts = await import('/static/js/editor/prompts.js');
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const local = [], server = [];
  let serverFirst = 0;
  for (let i = 0; i < count; i++) {
    prompts.clearPrompt();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const before = editor.state.candidates;
    const at = { clientX: left + (x + (i % 5) * 3) * scale, clientY: top + y * scale,
                 bubbles: true, button: 0 };
    const started = performance.now();
    canvas.dispatchEvent(new MouseEvent('mousedown', at));
    window.dispatchEvent(new MouseEvent('mouseup', at));
    let here = null, there = null;
    while (there === null && performance.now() - started < 20000) {
      await frame();
      const now = performance.now() - started;
      if (here === null && decoder.instant && decoder.instant.layer) here = now;
      if (editor.state.candidates && editor.state.candidates !== before) there = now;
    }
    if (there === null) throw new Error('no answer from the server');
    if (here === null) serverFirst += 1;
    else local.push(here);
    server.push(there);
  }
  prompts.clearPrompt();
  return { local, server, serverFirst };
}"""


def clicks_in_page(page, width, height, count=15):
    left, top, scale = canvas_frame(page)
    got = page.evaluate(
        CLICKS_IN_PAGE, [left, top, scale, int(0.45 * width), int(0.5 * height), count]
    )
    return median(got["local"]), median(got["server"]), got["serverFirst"], count


def hover_rate_in_page(page, width, height, seconds=4.0):
    left, top, scale = canvas_frame(page)
    got = page.evaluate(SWEEP_IN_PAGE, [left, top, scale, width, height, seconds])
    return got["rate"], got["moves"], median(got["decodeMs"]), median(got["graphMs"])


def median(values):
    return statistics.median(values) if values else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--models", default="micro,tiny")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    import django

    django.setup()
    from playwright.sync_api import sync_playwright

    from inference import checkpoints

    work = Path(tempfile.mkdtemp(prefix="bench-decoder-data-"))
    folder = work / "photos"
    folder.mkdir()
    for i in range(2):
        picture(folder / f"photo_{i}.jpg", args.width, args.height, seed=i)
    server = Server(work)
    models = {
        "micro": (checkpoints.write_micro_checkpoint, checkpoints.MICRO_OVERRIDES),
        "tiny": (checkpoints.write_tiny_checkpoint, ()),
    }
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            print(f"Chromium {browser.version}, {os.cpu_count()} cores, {platform.platform()}")
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            page.goto(f"{server.base}/")
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{server.base}/")
            for name in args.models.split(","):
                writer, overrides = models[name]
                checkpoint = server.var / "models" / f"{name}.pt"
                writer(checkpoint, seed=1)
                project = call(page, "POST", "/api/projects/", {"name": f"decoder-{name}"})["data"]
                pid = project["id"]
                call(page, "POST", f"/api/projects/{pid}/sources/folder/", {"path": str(folder)})
                wait(
                    lambda pid=pid: (
                        len(call(page, "GET", f"/api/projects/{pid}/images/")["data"]["results"])
                        == 2
                    )
                )
                images = sorted(
                    r["id"]
                    for r in call(page, "GET", f"/api/projects/{pid}/images/")["data"]["results"]
                )
                choice = {
                    "key": "manual",
                    "checkpoint": str(checkpoint),
                    "config": checkpoints.TINY_CONFIG,
                    "overrides": list(overrides),
                }
                call(page, "POST", f"/api/projects/{pid}/model/load/", choice)
                wait(
                    lambda pid=pid: (
                        call(page, "GET", f"/api/projects/{pid}/model/")["data"].get("status")
                        == "loaded"
                    )
                )
                # The server's first export and features are not the browser's cost: once
                # ahead, as a prepared pool has them.
                for image in images:
                    url = f"{server.base}/api/images/{image}/features/"
                    wait(lambda url=url: page.request.get(url).status == 200)
                assert page.request.get(f"{server.base}/api/projects/{pid}/decoder.onnx").ok
                page.goto("about:blank")
                started = time.monotonic()
                page.goto(f"{server.base}/projects/{pid}/images/{images[0]}/")
                try:
                    page.wait_for_function(READY, timeout=180_000)
                except Exception:
                    print("status:", page.locator("#decoder-status").text_content())
                    raise
                startup_s = time.monotonic() - started
                startup = page.evaluate("window.annotatorEditor.decoder.startup")
                status = page.locator("#decoder-status").text_content()
                wire = page.request.get(f"{server.base}/api/images/{images[0]}/features/").body()
                from inference import features

                key = features.unpack(wire)[0]["model"]
                onnx = server.var / "cache" / "decoders" / f"{key}.onnx"
                native = Native(onnx, wire, args.width, args.height)
                header = native.header
                # Warm both (V8 and the WASM engine still tier up after the editor's warm-up),
                # then alternate small batches of each, so the machine's other load falls on
                # both sides alike.
                for spec in PROMPTS.values():
                    page.evaluate(TIME_IN_PAGE, [spec, 10, args.width, args.height])
                    native.times(spec, 10)
                here = {prompt: {"total": [], "graph": [], "worker": []} for prompt in PROMPTS}
                there: dict[str, list[float]] = {prompt: [] for prompt in PROMPTS}
                for _ in range(max(1, args.repeats // 5)):
                    for prompt, spec in PROMPTS.items():
                        got = page.evaluate(TIME_IN_PAGE, [spec, 5, args.width, args.height])
                        here[prompt]["total"] += got["total"]
                        here[prompt]["graph"] += got["graph"]
                        here[prompt]["worker"] += got["worker"]
                        there[prompt] += native.times(spec, 5)
                clicks = clicks_in_page(page, args.width, args.height)
                hovers, moves = hover_rate(page, args.width, args.height)
                page.mouse.move(0, 0)
                in_page, in_page_moves, hover_ms, hover_graph_ms = hover_rate_in_page(
                    page, args.width, args.height
                )
                rows.append(
                    {
                        "model": name,
                        "status": status,
                        "startup_s": startup_s,
                        "startup": startup,
                        "wire_mb": len(wire) / 1e6,
                        "raw_mb": header["raw_bytes"] / 1e6,
                        "onnx_mb": onnx.stat().st_size / 1e6,
                        "here": here,
                        "native": there,
                        "hovers": hovers,
                        "moves": moves,
                        "in_page": in_page,
                        "in_page_moves": in_page_moves,
                        "hover_ms": hover_ms,
                        "hover_graph_ms": hover_graph_ms,
                        "clicks": clicks,
                    }
                )
            browser.close()
    finally:
        server.stop()

    print(f"load average after the run: {os.getloadavg()}")
    for row in rows:
        s = row["startup"]
        print(
            f"\n## {row['model']} ({row['status']}): decoder {row['onnx_mb']:.1f} MB, features "
            f"{row['wire_mb']:.2f} MB on the wire ({row['raw_mb']:.1f} MB float16)"
        )
        print(
            f"start-up: {row['startup_s']:.2f} s from navigation to 'Decoding here' (graph "
            f"{s['modelMs']:.0f} ms, features {s['featuresMs']:.0f} ms, warm-up "
            f"{s['warmupMs']:.0f} ms)"
        )
        print(
            "| prompt | browser, ms (in the worker; graph only) | native ORT, ms | ratio (graph) |"
        )
        print("|---|---|---|---|")
        for prompt in PROMPTS:
            total = median(row["here"][prompt]["total"])
            graph = median(row["here"][prompt]["graph"])
            worker = median(row["here"][prompt]["worker"])
            there = median(row["native"][prompt])
            print(
                f"| {prompt} | {total:.1f} ({worker:.1f}; {graph:.1f}) | {there:.1f} | "
                f"{graph / there:.2f}x |"
            )
        here, there, server_first, count = row["clicks"]
        print(
            f"click to visible mask: {here:.0f} ms decoded here, {there:.0f} ms for the "
            f"server's answer ({server_first} of {count} clicks answered by the server first)"
        )
        print(
            f"hover, pointer driven by Playwright: {row['hovers']:.1f} previews per second "
            f"({row['moves']:.0f} pointer moves per second)"
        )
        print(
            f"hover, one pointer move per frame in the page: {row['in_page']:.1f} previews per "
            f"second ({row['in_page_moves']:.0f} moves per second; {row['hover_ms']:.0f} ms per "
            f"preview in the worker, {row['hover_graph_ms']:.0f} of them the graph)"
        )


if __name__ == "__main__":
    main()
