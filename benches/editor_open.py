"""Opening a 12 MP camera photo with many masks in the editor, in a real browser.

What it runs: Debian's Chromium (Playwright, launched as tests/ui/conftest.py launches it)
against a real `manage.py serve` (daphne with the embedded worker, as the live_app fixture
runs it), once for this checkout and once for a baseline checkout (a git worktree, by default
/tmp/old68 at commit 68432af: `git worktree add /tmp/old68 68432af`), each with its own
database filled with the same records in the same run.

The data: for each mask count C (--counts, default 0,50,200) a project with two synthetic
4000 x 3000 photo-like JPEGs (smooth colour fields plus sensor-like noise, ~2.4 MB each, no
EXIF), each with one automask run of C masks (ellipses of log-uniform size, as SAM2's
automask gives on camera photos) and min(C, --objects) objects, stored as the app stores them
(AutomaskRun / AutomaskMask.segmentation and MaskObject.mask, COCO RLE).

What it measures, for each count, in a fresh tab:
  open   time to interactive of the first image: from navigation start (the page's
         performance.timeOrigin) until window.annotatorEditor.state.picture is set, the state
         holds this image with all its objects and automask masks, and two animation frames
         have passed since (so the frame that draws them has run), with the canvas drawn (its
         centre pixel is not transparent);
  next   the same from the key press of "d" (next image) on the first image, after the
         annotator has looked at it for --dwell seconds (time a prefetch may use);
  heap   JS heap in use (CDP Performance.getMetrics JSHeapUsedSize) after
         HeapProfiler.collectGarbage, with the image open (after open, and after next);
  rss    resident memory of the browser's renderer processes (from /proc), which also holds
         canvas pixels, and the bytes of the editor's image file as served.

Run:  .venv/bin/python benches/editor_open.py [--counts 0,50,200] [--objects 50]
      [--baseline /tmp/old68] [--no-baseline] [--dwell 2]
"""

import argparse
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
from PIL import Image as PILImage
from playwright.sync_api import sync_playwright
from pycocotools import mask as mask_utils

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-editor-password"
WIDTH, HEIGHT = 4000, 3000
WAIT_MS = 240_000

SEED = r"""
import json, os, sys
sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
import django
django.setup()
from django.contrib.auth import get_user_model
from projects import services
from projects.models import AutomaskMask, AutomaskRun, Image, MaskObject, Source

spec = json.load(open(sys.argv[1]))
User = get_user_model()
admin = User.objects.filter(username="admin").first() or User.objects.create_superuser(
    "admin", "admin@example.com", spec["password"])
out = {}
for project_spec in spec["projects"]:
    project = services.project_create(name=project_spec["name"], owner=admin)
    source = Source.objects.create(project=project, kind="folder", name="photos",
                                   location={"path": spec["folder"]})
    ids = []
    for image_spec in project_spec["images"]:
        image = Image.objects.create(project=project, source=source, path=image_spec["path"])
        run = AutomaskRun.objects.create(image=image)
        AutomaskMask.objects.bulk_create(
            AutomaskMask(run=run, segmentation=m["rle"], area=m["area"], bbox=m["bbox"],
                         predicted_iou=0.9, stability_score=0.95)
            for m in image_spec["masks"])
        MaskObject.objects.bulk_create(
            MaskObject(image=image, mask=m["rle"], name=f"object {i}")
            for i, m in enumerate(image_spec["objects"]))
        Image.objects.filter(pk=image.pk).update(has_automask=True)
        ids.append(image.pk)
    out[project_spec["name"]] = {"project": project.pk, "images": ids}
print(json.dumps(out))
"""

WAIT_OPEN = """async ([id, objects, masks]) => {
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const ready = () => {
    const s = window.annotatorEditor && window.annotatorEditor.state;
    // The picture of this image (an editor may still show the last one while it loads).
    const picture = s && s.picture;
    const shown = picture && picture.complete && (picture.dataset.imageId === String(id) ||
      String(picture.src).includes(`/images/${id}/file/`));
    return shown && s.image && s.image.id === id &&
      s.objects.length === objects && s.automask.length === masks;
  };
  while (!ready()) await frame();
  await frame();
  await frame();
  const canvas = document.querySelector("#canvas");
  const pixel = canvas.getContext("2d").getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1);
  return { at: performance.now(), drawn: pixel.data[3] > 0 };
}"""


def photo(seed: int) -> bytes:
    """A 12 MP photo-like JPEG: smooth colour fields and fine noise, ~2.4 MB at quality 85."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 255, (HEIGHT // 100 + 1, WIDTH // 100 + 1, 3), dtype=np.uint8)
    mid = rng.integers(0, 255, (HEIGHT // 12, WIDTH // 12, 3), dtype=np.uint8)
    base = cv2.resize(low, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    detail = cv2.resize(mid, (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    noise = rng.normal(0, 5, (HEIGHT, WIDTH, 1)).astype(np.float32)
    pixels = np.clip(base * 0.7 + detail * 0.3 + noise, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def blobs(count: int, seed: int) -> list[dict]:
    """`count` elliptic masks, radii log-uniform from 15 to 500 px, as COCO RLE records."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    out = []
    for _ in range(count):
        rx, ry = np.exp(rng.uniform(np.log(15), np.log(500), 2)).astype(int)
        cx, cy = int(rng.integers(rx, WIDTH - rx)), int(rng.integers(ry, HEIGHT - ry))
        angle = float(rng.uniform(0, 180))
        canvas[:] = 0
        cv2.ellipse(canvas, (cx, cy), (int(rx), int(ry)), angle, 0, 360, 1, -1)
        rle = mask_utils.encode(np.asfortranarray(canvas))
        x, y, w, h = (int(v) for v in mask_utils.toBbox(rle))
        out.append(
            {
                "rle": {"size": [HEIGHT, WIDTH], "counts": rle["counts"].decode()},
                "area": int(mask_utils.area(rle)),
                "bbox": [x, y, w, h],
            }
        )
    return out


def build_data(folder: Path, counts: list[int], objects_cap: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    projects = []
    for count in counts:
        images = []
        for side in ("a", "b"):
            name = f"photo_{count:03d}_{side}.jpg"
            (folder / name).write_bytes(photo(seed=count * 2 + (side == "b")))
            masks = blobs(count, seed=1000 + count * 2 + (side == "b"))
            objects = blobs(min(count, objects_cap), seed=5000 + count * 2 + (side == "b"))
            images.append({"path": name, "masks": masks, "objects": objects})
        projects.append({"name": f"masks-{count}", "images": images})
    return {"password": PASSWORD, "folder": str(folder), "projects": projects}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`manage.py serve` of one checkout with its own database, seeded with `spec`."""

    def __init__(self, tree: Path, spec_path: Path, folder: Path):
        self.tree = tree
        self.var = Path(tempfile.mkdtemp(prefix=f"bench-editor-{tree.name}-"))
        self.env = {
            **os.environ,
            "ANNOTATOR_VAR_DIR": str(self.var),
            "ANNOTATOR_ADMIN_PASSWORD": PASSWORD,
            "ANNOTATOR_FOLDER_ROOTS": str(folder),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        manage = [PYTHON, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=tree, env=self.env, check=True)
        seeded = subprocess.run(
            [PYTHON, "-c", SEED, str(spec_path)],
            cwd=tree,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.ids = json.loads(seeded.stdout.strip().splitlines()[-1])
        self.base = f"http://127.0.0.1:{free_port()}"
        self.log = self.var / "serve.log"
        self.process = subprocess.Popen(
            [*manage, "serve", "--port", self.base.rsplit(":", 1)[1]],
            cwd=tree,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                httpx.get(f"{self.base}/healthz", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("server did not start:\n" + self.log.read_text()) from None
                time.sleep(0.3)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def renderer_rss_mb() -> float:
    """Resident memory of the Chromium renderer processes below this process, in MB."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    total, stack = 0, [os.getpid()]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"--type=renderer" in cmdline:
            rss = next(line for line in status.splitlines() if line.startswith("VmRSS"))
            total += int(rss.split()[1])
    return total / 1024


def heap_mb(cdp, page) -> float:
    """The page's JS heap after a full collection, typed-array backing stores included
    (performance.memory with --enable-precise-memory-info; CDP's JSHeapUsedSize leaves
    ArrayBuffers out, and masks live in them)."""
    cdp.send("HeapProfiler.collectGarbage")
    return page.evaluate("performance.memory.usedJSHeapSize") / 1e6


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable"):
            return int(line.split()[1]) / 1024
    return float("inf")


def login(page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def measure(browser, server: Server, counts: list[int], objects_cap: int, dwell: float) -> dict:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    login(page, server.base)
    page.close()
    results: dict[int, dict] = {}
    per_layer = 0.0  # renderer MB per mask layer, from the counts measured so far
    for count in counts:
        layers = count + min(count, objects_cap)
        if per_layer * layers > 0.8 * available_mb():
            print(f"  {server.tree.name} {count:>4} masks: skipped, would not fit in memory")
            results[count] = {}
            continue
        row = measure_count(context, server, count, min(count, objects_cap), dwell)
        if layers and 0 in results and results[0]:
            per_layer = max(per_layer, (row["open_rss_mb"] - results[0]["open_rss_mb"]) / layers)
        results[count] = row
        print(f"  {server.tree.name} {count:>4} masks: {json.dumps(row)}", flush=True)
    context.close()
    return results


def measure_count(context, server: Server, count: int, objects: int, dwell: float) -> dict:
    """First open, then next after `dwell` seconds, of the two images with `count` masks."""
    ids = server.ids[f"masks-{count}"]
    first, second = ids["images"]
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    files: list[int] = []
    page.on("response", lambda r: "/file/" in r.url and files.append(_length(r)))
    cdp = context.new_cdp_session(page)
    page.goto(f"{server.base}/projects/{ids['project']}/images/{first}/", wait_until="commit")
    opened = page.evaluate(WAIT_OPEN, [first, objects, count])
    row = {"open_ms": opened["at"], "open_drawn": opened["drawn"]}
    row["open_heap_mb"] = heap_mb(cdp, page)
    row["open_rss_mb"] = renderer_rss_mb()
    row["file_mb"] = (max(files) if files else 0) / 1e6
    row.update(requests(page, first, "open"))
    # Moving on builds the next image's layers while this one's still live: about twice.
    if row["open_rss_mb"] < available_mb():
        time.sleep(dwell)
        start = page.evaluate("performance.now()")
        page.keyboard.press("d")
        reached = page.evaluate(WAIT_OPEN, [second, objects, count])
        row["next_ms"] = reached["at"] - start
        row["next_drawn"] = reached["drawn"]
        row["next_heap_mb"] = heap_mb(cdp, page)
        row["next_rss_mb"] = renderer_rss_mb()
        row.update(requests(page, second, "next"))
    row["errors"] = errors
    cdp.detach()
    page.close()
    return row


def requests(page, image_id: int, prefix: str) -> dict:
    """How long the image's open request and its file took (resource timing: start to end,
    in ms), to tell the server's part from the browser's."""
    entries = page.evaluate(
        """(id) => performance.getEntriesByType("resource")
          .filter((e) => e.name.includes(`/images/${id}/`))
          .map((e) => [e.name, e.startTime, e.responseEnd])""",
        image_id,
    )
    out = {}
    for name, start, end in entries:
        kind = "file" if "/file/" in name else "open" if "/open/" in name else None
        if kind:
            out[f"{prefix}_{kind}_request_ms"] = round(end - start)
            out[f"{prefix}_{kind}_at_ms"] = round(start)
    return out


def _length(response) -> int:
    return int(response.headers.get("content-length") or 0)


def table(results: dict, counts: list[int], objects_cap: int) -> str:
    metrics = [
        ("open_ms", "open, ms"),
        ("next_ms", "next, ms"),
        ("open_heap_mb", "JS heap open, MB"),
        ("next_heap_mb", "JS heap next, MB"),
        ("open_rss_mb", "renderer RSS open, MB"),
        ("file_mb", "image file, MB"),
    ]
    trees = list(results)
    head = "| masks (objects) | measure | " + " | ".join(trees)
    head += " | baseline / this |" if len(trees) == 2 else " |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for count in counts:
        for key, name in metrics:
            values = [results[tree][count].get(key) for tree in trees]
            cells = ["-" if v is None else f"{v:,.0f}" if v >= 10 else f"{v:.2f}" for v in values]
            line = f"| {count} ({min(count, objects_cap)}) | {name} | " + " | ".join(cells)
            if len(values) == 2:
                known = None not in values and values[1]
                line += f" | {values[0] / values[1]:.1f}x |" if known else " | - |"
            else:
                line += " |"
            lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="0,50,200", help="automask mask counts")
    parser.add_argument("--objects", type=int, default=50, help="objects per image, at most")
    parser.add_argument("--baseline", default="/tmp/old68", help="worktree of the old code")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--dwell", type=float, default=2.0, help="seconds before pressing next")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    trees = [] if args.no_baseline else [Path(args.baseline)]
    trees.append(ROOT)
    work = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    started = time.monotonic()
    spec = build_data(work / "photos", counts, args.objects)
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    print(f"data built in {time.monotonic() - started:.0f} s in {work}", flush=True)
    results = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                "--enable-precise-memory-info",
            ],
        )
        print(f"Chromium {browser.version}", flush=True)
        for tree in trees:
            server = Server(tree, spec_path, work / "photos")
            try:
                label = "baseline" if tree != ROOT else "this"
                results[f"{label} ({tree.name})"] = measure(
                    browser, server, counts, args.objects, args.dwell
                )
            finally:
                server.stop()
        browser.close()
    print()
    print(table(results, counts, args.objects))
    print(f"\nwhole run: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
