"""How fast a source registers: a folder of N image files walked and recorded.

Registering lists, it never reads pixels; this measures the walk and the database writes
against a baseline of one INSERT per image (what a naive loop would do), in the same run.

    .venv/bin/python benches/sources_register.py [--images 100000] [--baseline 5000]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def _setup(var_dir: Path) -> None:
    os.environ["ANNOTATOR_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _make_files(root: Path, count: int) -> None:
    # Empty files are enough: registering records names and sizes, it opens nothing.
    per_folder = 1000
    for start in range(0, count, per_folder):
        folder = root / f"batch{start // per_folder:04d}"
        folder.mkdir()
        for n in range(start, min(start + per_folder, count)):
            (folder / f"img{n:06d}.png").touch()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        temp = Path(temp)
        _setup(temp / "var")
        root = temp / "share"
        root.mkdir()
        _make_files(root, args.images)
        rows = _run(root, args)
    print(f"\n{'method':<44}{'images':>9}{'seconds':>10}{'images/s':>11}{'vs baseline':>13}")
    base_rate = rows[0][1] / rows[0][2]
    for name, count, seconds in rows:
        rate = count / seconds
        print(f"{name:<44}{count:>9}{seconds:>10.2f}{rate:>11.0f}{rate / base_rate:>12.1f}x")


def _run(root: Path, args) -> list[tuple[str, int, float]]:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from projects.models import Image, Source
    from projects.services import project_create
    from projects.sources.folder import folder_list
    from projects.sources.scan import scan_apply, source_listing

    settings.ANNOTATOR_FOLDER_ROOTS = [root]
    user = get_user_model().objects.create_user("bench")
    project = project_create(name="Bench", owner=user)
    extensions = settings.ANNOTATOR_IMAGE_EXTENSIONS

    def source(name):
        location = {"path": str(root), "recursive": True, "extensions": extensions}
        return Source.objects.create(
            project=project, kind=Source.Kind.FOLDER, name=name, location=location
        )

    rows = []
    naive = source("naive")
    listed = list(folder_list(root, recursive=True, extensions=extensions))[: args.baseline]
    started = time.perf_counter()
    for entry in listed:
        Image.objects.create(
            project=project, source=naive, path=entry.path, size=entry.size, etag=entry.etag
        )
    rows.append(("baseline: one INSERT per image", len(listed), time.perf_counter() - started))

    orm = source("orm")
    some = list(folder_list(root, recursive=True, extensions=extensions))[: args.baseline * 4]
    started = time.perf_counter()
    Image.objects.bulk_create(
        [Image(project=project, source=orm, path=e.path, size=e.size, etag=e.etag) for e in some],
        batch_size=500,
    )
    rows.append(("ORM bulk_create (for comparison)", len(some), time.perf_counter() - started))

    started = time.perf_counter()
    count = sum(1 for _ in folder_list(root, recursive=True, extensions=extensions))
    rows.append(("folder walk only (no database)", count, time.perf_counter() - started))

    fresh = source("fresh")
    started = time.perf_counter()
    result = scan_apply(fresh, source_listing(fresh))
    rows.append(("register: walk + batched inserts", result.added, time.perf_counter() - started))

    started = time.perf_counter()
    again = scan_apply(fresh, source_listing(fresh))
    assert again.added == 0 and again.listed == count
    rows.append(("re-scan, nothing changed", again.listed, time.perf_counter() - started))
    return rows


if __name__ == "__main__":
    main()
