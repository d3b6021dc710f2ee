"""The first click on an image: from a precomputed pool (features in the on-disk store), warm
(features in memory), and cold (no store: the encoder runs first), with what the store costs.

Each click is the app's service path (`prediction_run`: access to the image, validation, the
model, the saved record) on random-weight checkpoints built here (micro and hiera-tiny
shapes), 1024 x 768 images. "precomputed" clears the click worker's memory first, as a
click worker that never saw the image (another worker prepared it, or it restarted) has it;
"cold" turns the store off, as the app was before it. Precompute is a `prepare_embeddings`
job's run over one image (reading and hashing the file, encoding, writing the store, its
progress), against a bare SAM2ImagePredictor.set_image on the decoded pixels; and one job
over a pool of new pictures (the next image decoded while the current one encodes), per
image, against bare calls on the same pictures. Every
measurement of an image is taken next to the others (a shared machine's load hits them
alike); times are medians over the images, ratios medians of the per-image ratios.

    .venv/bin/python benches/first_click.py [--images 4] [--models micro,tiny]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="annotator-first-click-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
os.environ["ANNOTATOR_VAR_DIR"] = str(WORK / "var")
os.environ["ANNOTATOR_EMBEDDED_WORKER"] = "false"
os.environ["ANNOTATOR_MODEL_ROOTS"] = str(WORK)  # the random-weight checkpoints below
os.environ.pop("REDIS_URL", None)
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from inference import checkpoints, engine, refs  # noqa: E402
from inference.embeddings import embedding_store  # noqa: E402
from inference.services import embeddings, predictions  # noqa: E402
from inference.services.predictions import PromptInput  # noqa: E402
from projects import services as project_services  # noqa: E402
from projects.models import Image, Job, Source  # noqa: E402
from projects.sources import reader  # noqa: E402

WIDTH, HEIGHT = 1024, 768
CLICK = PromptInput.from_dict({"point_coords": [[600.0, 380.0]], "point_labels": [1]})


def picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgb = np.full((HEIGHT, WIDTH, 3), 210, np.uint8)
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    rgb[((xx - 600) / 180.0) ** 2 + ((yy - 380) / 120.0) ** 2 <= 1] = (40, 90, 170)
    return np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)


def setup_pool(name: str, count: int, ref: refs.ModelRef, *, first_seed: int = 0, user=None):
    user = user or get_user_model().objects.create_user(f"bench-{name}", password="bench-password")
    project = project_services.project_create(name=f"Bench {name}", owner=user)
    project.model_selection = {"active": ref.as_dict(), "status": "loaded"}
    project.save(update_fields=["model_selection"])
    source = Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name="bench")
    uploads = Path(settings.ANNOTATOR_UPLOAD_DIR)
    uploads.mkdir(parents=True, exist_ok=True)
    images = []
    for index in range(count):
        path = f"{name}-{index}.png"
        PILImage.fromarray(picture(first_seed + index)).save(uploads / path)
        images.append(Image.objects.create(project=project, source=source, path=path))
    return user, project, images


def ms(seconds: float) -> float:
    return seconds * 1000


def click_ms(image: Image, user) -> float:
    image.refresh_from_db()
    started = time.perf_counter()
    predictions.prediction_run(image=image, user=user, prompt=CLICK)
    return ms(time.perf_counter() - started)


def bare_predictor(ref: refs.ModelRef):
    build_sam, predictor_module, _ = engine.import_sam2()
    model = build_sam.build_sam2(
        ref.config, ref.checkpoint, device="cpu", hydra_overrides_extra=list(ref.overrides)
    )
    return engine.fit_feature_sizes(
        predictor_module.SAM2ImagePredictor(model), int(model.image_size)
    )


def set_image_ms(predictor, rgb: np.ndarray) -> float:
    started = time.perf_counter()
    with torch.inference_mode():
        predictor.set_image(rgb)
    return ms(time.perf_counter() - started)


def precompute_ms(project, user, image: Image) -> float:
    """The preparation job over this one image (so it pairs with a bare call next to it)."""
    job = embeddings.embeddings_start(
        project=project, user=user, image_filter={"image_ids": [image.pk]}
    )
    started = time.perf_counter()
    embeddings.embeddings_run(job_id=job.pk)
    took = ms(time.perf_counter() - started)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result["computed"] == 1, job.message
    return took


def decode_ms(path: Path) -> float:
    """Reading and decoding a picture's file as the job does (bytes, hash, pixels)."""
    started = time.perf_counter()
    reader.decode(path.read_bytes())
    return ms(time.perf_counter() - started)


def pool_precompute(
    name: str, ref: refs.ModelRef, count: int, user, bare
) -> tuple[float, float, float]:
    """One preparation job over a pool of pictures never seen (as "prepare embeddings" runs
    on a pool), per image, against bare set_image calls on the same pictures just before,
    and the decode of their files alone."""
    seeds = range(1000, 1000 + count)
    _, project, images = setup_pool(f"{name}-pool", count, ref, first_seed=seeds[0], user=user)
    bare_total = sum(set_image_ms(bare, picture(seed)) for seed in seeds)
    uploads = Path(settings.ANNOTATOR_UPLOAD_DIR)
    decode_total = sum(decode_ms(uploads / image.path) for image in images)
    job = embeddings.embeddings_start(project=project, user=user, image_filter={})
    started = time.perf_counter()
    embeddings.embeddings_run(job_id=job.pk)
    took = ms(time.perf_counter() - started)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result["computed"] == count, job.message
    return took / count, bare_total / count, decode_total / count


def cold_click_ms(image: Image, user) -> float:
    """A first click as before the store: nothing in memory, nothing on disk."""
    saved = settings.ANNOTATOR_EMBEDDING_STORE_GB
    settings.ANNOTATOR_EMBEDDING_STORE_GB = 0
    try:
        engine.embedding_cache().clear()
        return click_ms(image, user)
    finally:
        settings.ANNOTATOR_EMBEDDING_STORE_GB = saved


def measure(name: str, ref: refs.ModelRef, count: int) -> dict:
    """Each image in turn, every kind of measurement next to the others, so the load of a
    shared machine hits them alike; the ratios are medians of the per-image ratios."""
    user, project, images = setup_pool(name, count, ref)
    model = engine.get_engine(ref)
    bare = bare_predictor(ref)
    model.embed("0" * 64, lambda: picture(0))  # warm-up: a process's first encode is slower
    set_image_ms(bare, picture(0))
    store = embedding_store()
    rows: dict[str, list[float]] = {
        k: [] for k in ("bare", "precompute", "precomputed", "warm", "cold", "write", "read")
    }
    for index, image in enumerate(images):
        rows["bare"].append(set_image_ms(bare, picture(index)))
        rows["precompute"].append(precompute_ms(project, user, image))
        engine.embedding_cache().clear()  # a click worker that never saw this image
        rows["precomputed"].append(click_ms(image, user))
        rows["warm"].append(click_ms(image, user))
        rows["cold"].append(cold_click_ms(image, user))
        image.refresh_from_db()
        state = store.get(ref.cache_key, image.key, shapes=model.shapes)
        started = time.perf_counter()
        size = store.put(ref.cache_key, image.key, state)
        rows["write"].append(ms(time.perf_counter() - started))
        started = time.perf_counter()
        store.get(ref.cache_key, image.key, shapes=model.shapes)
        rows["read"].append(ms(time.perf_counter() - started))
    median = {key: statistics.median(values) for key, values in rows.items()}
    median["pool"], median["pool_bare"], median["pool_decode"] = pool_precompute(
        name, ref, count, user, bare
    )
    pairs = zip(rows["precomputed"], rows["warm"], strict=True)
    median["first_vs_warm"] = statistics.median(a / b for a, b in pairs)
    pairs = zip(rows["precompute"], rows["bare"], strict=True)
    median["precompute_vs_bare"] = statistics.median(a / b for a, b in pairs)
    median["bytes"] = size
    return median


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--models", default="micro,tiny")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    call_command("migrate", verbosity=0)
    load = os.getloadavg()
    builders = {
        "micro": (checkpoints.write_micro_checkpoint, checkpoints.MICRO_OVERRIDES),
        "tiny": (checkpoints.write_tiny_checkpoint, ()),
    }
    rows = []
    for name in args.models.split(","):
        write, overrides = builders[name]
        path = write(WORK / f"{name}.pt", seed=1)
        ref = refs.ModelRef(
            key="manual", checkpoint=str(path), config=checkpoints.TINY_CONFIG, overrides=overrides
        )
        rows.append((name, measure(name, ref, args.images)))
    print(f"\n{args.images} images of {WIDTH}x{HEIGHT}, {torch.get_num_threads()} torch threads")
    print("load average before:", load, "after:", os.getloadavg())
    print(
        "| model | first click, precomputed pool (ms) | warm click (ms) | ratio | "
        "cold first click, no store (ms) | store MB/image | write ms | read ms | "
        "precompute ms/image | bare set_image ms | ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(
            f"| {name} | {r['precomputed']:.1f} | {r['warm']:.1f} | "
            f"{r['first_vs_warm']:.2f}x | {r['cold']:.1f} | {r['bytes'] / 1e6:.2f} | "
            f"{r['write']:.1f} | {r['read']:.1f} | {r['precompute']:.0f} | {r['bare']:.0f} | "
            f"{r['precompute_vs_bare']:.2f}x |"
        )
    print(f"\nOne preparation job over a pool of {args.images} new pictures, per image:")
    print(
        "| model | pool job ms/image | bare set_image ms/image | ratio | decoding the file "
        "ms/image | job against decode + set_image |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        both = r["pool_bare"] + r["pool_decode"]
        print(
            f"| {name} | {r['pool']:.0f} | {r['pool_bare']:.0f} | "
            f"{r['pool'] / r['pool_bare']:.2f}x | {r['pool_decode']:.0f} | "
            f"{r['pool'] / both:.2f}x |"
        )


if __name__ == "__main__":
    main()
