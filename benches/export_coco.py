"""Exporting 10,000 masks as COCO, against a bare pycocotools encode of the same masks.

Run: .venv/bin/python benches/export_coco.py [--images 100] [--per-image 100] [--size 512]

Builds a throwaway project in a temporary database, then times, each best of --repeat runs:
the baseline (pycocotools.mask.encode of every mask as a numpy array) and the full export
through the application (database reads, bbox and area, JSON writing) in each mask form.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(folder: str) -> None:
    os.environ["ANNOTATOR_VAR_DIR"] = folder
    os.environ.setdefault("ANNOTATOR_DEMO_PROJECT", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def make_masks(count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    masks = []
    for _ in range(count):
        cy, cx = rng.integers(0, size, 2)
        ry, rx = rng.integers(8, size // 4, 2)
        masks.append(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1)
    return masks


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--per-image", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    total = args.images * args.per_image

    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        from django.contrib.auth import get_user_model
        from pycocotools import mask as mask_utils

        from projects.encoding import mask_to_rle
        from projects.exports.formats import ExportOptions
        from projects.exports.selectors import Scope
        from projects.exports.services import export_write
        from projects.models import Image, MaskObject, Source
        from projects.services import project_create

        masks = make_masks(total, args.size)
        owner = get_user_model().objects.create_user(username="bench", password="x")
        project = project_create(name="Bench", owner=owner)
        label = project.labels.first()
        source = Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name="u")
        rows = []
        for i in range(args.images):
            image = Image.objects.create(
                project=project, source=source, path=f"{i}.png", width=args.size, height=args.size
            )
            chunk = masks[i * args.per_image : (i + 1) * args.per_image]
            rows += [MaskObject(image=image, label=label, mask=mask_to_rle(m)) for m in chunk]
        MaskObject.objects.bulk_create(rows, batch_size=1000)

        def baseline():
            for mask in masks:
                mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))

        def export(form: str):
            target = Path(folder) / f"coco-{form}.json"
            return lambda: export_write(
                project=project,
                scope=Scope("pool"),
                options=ExportOptions(format="coco", mask_form=form),
                target=target,
            )

        base = best(baseline, args.repeat)
        results = [("pycocotools encode (baseline)", base)]
        for form in ("coco_rle", "uncompressed_rle", "polygons"):
            results.append((f"export COCO, {form}", best(export(form), args.repeat)))

    print(f"{total} masks ({args.images} images x {args.per_image}, {args.size}x{args.size})")
    print(f"| {'what':<32} | {'seconds':>8} | {'masks/s':>9} | {'x baseline':>10} |")
    print(f"|{'-' * 34}|{'-' * 10}|{'-' * 11}|{'-' * 12}|")
    for name, seconds in results:
        print(f"| {name:<32} | {seconds:8.2f} | {total / seconds:9.0f} | {seconds / base:10.2f} |")


if __name__ == "__main__":
    main()
