"""Importing 10,000 COCO RLE masks, against a bare pycocotools decode of the same masks.

Run: .venv/bin/python benches/import_coco.py [--images 500] [--per-image 20] [--size 512]

Builds throwaway projects in a temporary database (each with the same pool of --images
uploads of --size x --size), writes one COCO file of --images x --per-image compressed RLE
masks (ellipses of random size), then times, each best of --repeat runs:
  baseline   json.load of the file and pycocotools.mask.decode of every mask;
  objects    the whole import job through the application, as final objects: the upload
             saved, the file parsed, images matched, every RLE checked, then objects, undo
             steps and image versions written in one transaction;
  predictions the same, as one automask run per image (area and bbox of every mask).
Each import run goes into a fresh project, so none finds the masks of another.
"""

import argparse
import json
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


def make_rles(count: int, size: int, seed: int = 0) -> list[dict]:
    from projects.encoding import mask_to_rle

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    rles = []
    for _ in range(count):
        cy, cx = rng.integers(0, size, 2)
        ry, rx = rng.integers(8, size // 4, 2)
        rles.append(mask_to_rle(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1))
    return rles


def coco_file(images: int, per_image: int, size: int) -> bytes:
    rles = make_rles(images * per_image, size)
    document = {
        "images": [
            {"id": i + 1, "file_name": f"img-{i:05d}.png", "width": size, "height": size}
            for i in range(images)
        ],
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [
            {
                "id": n + 1,
                "image_id": n // per_image + 1,
                "category_id": 1,
                "segmentation": rle,
                "iscrowd": 0,
            }
            for n, rle in enumerate(rles)
        ],
    }
    return json.dumps(document).encode()


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--per-image", type=int, default=20)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    total = args.images * args.per_image

    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        from django.contrib.auth import get_user_model
        from django.core.files.uploadedfile import SimpleUploadedFile
        from pycocotools import mask as mask_utils

        from projects.imports.services import import_run, import_start
        from projects.models import AutomaskMask, Image, Job, MaskObject, Source
        from projects.services import project_create

        data = coco_file(args.images, args.per_image, args.size)
        owner = get_user_model().objects.create_user(username="bench", password="x")
        projects = []

        def fresh_project():
            project = project_create(name=f"Bench {len(projects)}", owner=owner)
            source = Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name="u")
            Image.objects.bulk_create(
                Image(
                    project=project,
                    source=source,
                    path=f"{project.pk}/{i:016x}/img-{i:05d}.png",
                    width=args.size,
                    height=args.size,
                )
                for i in range(args.images)
            )
            projects.append(project)
            return project

        def baseline():
            document = json.loads(data)
            for annotation in document["annotations"]:
                rle = annotation["segmentation"]
                mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})

        def run(mode: str):
            project = fresh_project()
            upload = SimpleUploadedFile("bench.json", data)

            def go():
                job = import_start(
                    project=project,
                    user=owner,
                    upload=upload,
                    format="coco",
                    mode=mode,
                    create_labels=True,
                )
                import_run(job_id=job.pk)
                job = Job.objects.get(pk=job.pk)
                assert job.status == "done", job.message

            return go

        timings = {"baseline": best(baseline, args.repeat)}
        for mode in ("objects", "predictions"):
            runs = []
            for _ in range(args.repeat):
                go = run(mode)
                start = time.perf_counter()
                go()
                runs.append(time.perf_counter() - start)
            timings[mode] = min(runs)
        assert MaskObject.objects.count() == total * args.repeat
        assert AutomaskMask.objects.count() == total * args.repeat

    print(f"{total} masks, {args.images} images of {args.size}x{args.size}, best of {args.repeat}")
    print(f"{'step':<12} {'seconds':>8} {'masks/s':>9} {'vs baseline':>12}")
    for name, seconds in timings.items():
        ratio = seconds / timings["baseline"]
        print(f"{name:<12} {seconds:>8.2f} {total / seconds:>9,.0f} {ratio:>11.2f}x")


if __name__ == "__main__":
    main()
