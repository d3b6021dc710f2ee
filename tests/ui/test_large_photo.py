"""A 12 MP camera photo with 200 automask masks in the editor: it opens, its masks show in
their colours where they are, and the next image opens from what was fetched ahead."""

import io
import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np
from PIL import Image as PILImage
from pycocotools import mask as mask_utils

from tests.ui.conftest import ROOT, login, screenshot

WIDTH, HEIGHT = 4000, 3000
MASKS = 200
# A flat grey patch of the first photo and the object painted over part of it.
PATCH = (slice(1000, 1400), slice(1200, 1700))
OBJECT = (slice(1050, 1350), slice(1300, 1600))
GREY = 128
# static/js/lib/colors.js: each object instance has PALETTE[(id * 7) % 16].
PALETTE = [
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
    "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075",
]  # fmt: skip

SEED = r"""
import json, os
from django.contrib.auth import get_user_model
from projects import services
from projects.models import AutomaskMask, AutomaskRun, Image, MaskObject, Source
spec = json.load(open(os.environ["LARGE_PHOTO_SPEC"]))
admin = get_user_model().objects.get(username="admin")
project = services.project_create(name="Large photo", owner=admin)
source = Source.objects.create(project=project, kind="folder", name="photos",
                               location={"path": spec["folder"]})
out = {"project": project.pk, "images": [], "objects": []}
for item in spec["images"]:
    image = Image.objects.create(project=project, source=source, path=item["path"])
    run = AutomaskRun.objects.create(image=image)
    AutomaskMask.objects.bulk_create(
        AutomaskMask(run=run, segmentation=m["rle"], area=m["area"], bbox=m["bbox"],
                     predicted_iou=0.9, stability_score=0.95) for m in item["masks"])
    made = MaskObject.objects.bulk_create(MaskObject(image=image, mask=m) for m in item["objects"])
    out["images"].append(image.pk)
    out["objects"].append([o.pk for o in made])
print(json.dumps(out))
"""


def _photo(seed: int, patch: bool) -> bytes:
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 255, (HEIGHT // 100 + 1, WIDTH // 100 + 1, 3), dtype=np.uint8)
    pixels = cv2.resize(low, (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 5, (HEIGHT, WIDTH, 1))
    pixels = np.clip(pixels + noise, 0, 255).astype(np.uint8)
    if patch:
        pixels[PATCH] = GREY
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask))
    return {"size": [HEIGHT, WIDTH], "counts": rle["counts"].decode()}


def _automask(seed: int) -> list[dict]:
    """MASKS ellipses of log-uniform size, kept off the grey patch."""
    rng = np.random.default_rng(seed)
    canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    out = []
    while len(out) < MASKS:
        rx, ry = (int(r) for r in np.exp(rng.uniform(np.log(15), np.log(400), 2)))
        cx, cy = int(rng.integers(rx, WIDTH - rx)), int(rng.integers(ry, HEIGHT - ry))
        canvas[:] = 0
        cv2.ellipse(canvas, (cx, cy), (rx, ry), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        if canvas[PATCH].any():
            continue
        rle = mask_utils.encode(np.asfortranarray(canvas))
        bbox = [int(v) for v in mask_utils.toBbox(rle)]
        area = int(mask_utils.area(rle))
        out.append({"rle": _rle(canvas), "area": area, "bbox": bbox})
    return out


def _seed(live_app) -> dict:
    folder = live_app["datasets"] / "large"
    folder.mkdir(exist_ok=True)
    images = []
    for i in range(2):
        name = f"camera_{i}.jpg"
        (folder / name).write_bytes(_photo(seed=i, patch=i == 0))
        shape = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
        shape[OBJECT] = 1
        images.append({"path": name, "masks": _automask(seed=10 + i), "objects": [_rle(shape)]})
    spec = folder / "spec.json"
    spec.write_text(json.dumps({"folder": str(folder), "images": images}))
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(live_app["var"]), "LARGE_PHOTO_SPEC": str(spec)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


READY = """([id, masks]) => {
  const s = window.annotatorEditor && window.annotatorEditor.state;
  return Boolean(s && s.picture && s.image && s.image.id === id && s.automask.length === masks
    && s.objects.length === 1);
}"""


def _shown_rgb(page, x: float, y: float) -> list[int]:
    """The colour the canvas shows at image pixel (x, y), after the next frame."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page.evaluate(
        """([x, y]) => {
            const s = window.annotatorEditor.state, c = document.querySelector('#canvas');
            const px = Math.round(s.view.x + (x + 0.5) * s.view.scale);
            const py = Math.round(s.view.y + (y + 0.5) * s.view.scale);
            return Array.from(c.getContext('2d').getImageData(px, py, 1, 1).data.slice(0, 3));
        }""",
        [x, y],
    )


def test_a_large_photo_with_200_masks_opens_and_the_next_comes_from_the_prefetch(
    page, live_app, console_errors
):
    base = live_app["base"]
    seeded = _seed(live_app)
    first, second = seeded["images"]
    file_requests: list[str] = []
    page.on("request", lambda r: "/file/" in r.url and file_requests.append(r.url))
    login(page, base)
    page.goto(f"{base}/projects/{seeded['project']}/images/{first}/", wait_until="commit")
    page.wait_for_function(READY, arg=[first, MASKS], timeout=60_000)

    # The object shows in its instance's colour over the grey patch, at the page's opacity.
    object_id = seeded["objects"][0][0]
    colour = PALETTE[(object_id * 7) % len(PALETTE)]
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    opacity = int(page.locator("#opacity").input_value()) / 100
    centre = (1450, 1200)
    expected = [round(GREY * (1 - opacity) + c * opacity) for c in rgb]
    shown = _shown_rgb(page, *centre)
    assert all(abs(a - b) <= 6 for a, b in zip(shown, expected, strict=True)), (shown, expected)
    # Beside the object, on the patch, the photo itself.
    assert all(abs(v - GREY) <= 6 for v in _shown_rgb(page, 1250, 1020))
    # Selected, the object is drawn again over itself at 0.9: closer to its colour.
    page.locator(f"#objects li[data-id='{object_id}']").click(position={"x": 2, "y": 2})
    selected = _shown_rgb(page, *centre)
    over = [round(e * 0.1 + c * 0.9) for e, c in zip(expected, rgb, strict=True)]
    assert all(abs(a - b) <= 6 for a, b in zip(selected, over, strict=True)), (selected, over)
    # The automask layer, when shown, covers the photo with the run's masks.
    page.locator("#show-automask").check()
    screenshot(page, "large-photo-automask")

    # While the annotator looks, the next image is fetched once, ahead of "next".
    deadline = time.monotonic() + 30
    while not any(f"/images/{second}/file/" in url for url in file_requests):
        assert time.monotonic() < deadline, "the next image was not fetched ahead"
        page.wait_for_timeout(200)
    page.wait_for_timeout(1500)
    page.locator("#canvas").focus()
    started = time.monotonic()
    page.keyboard.press("d")
    page.wait_for_function(READY, arg=[second, MASKS], timeout=10_000)
    elapsed = time.monotonic() - started
    assert page.evaluate("window.annotatorEditor.state.picture.dataset.imageId") == str(second)
    assert [u for u in file_requests if f"/images/{second}/file/" in u] == [file_requests[-1]]
    assert elapsed < 2.0, f"next took {elapsed:.2f} s"
    page.wait_for_function(
        "document.querySelector('#position').textContent.trim() === '2 / 2'", timeout=10_000
    )
    screenshot(page, "large-photo-next")
    assert console_errors == []
