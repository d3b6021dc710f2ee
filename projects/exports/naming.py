"""How every export names its images: one rule for COCO, CSV, seed JSON and the PNG formats.

An image is named by the name a person sees (`Image.display_name`) when no other image of
the export has that name. Where names clash (two uploads of `a.png`, two folders with an
`a.png` each), each of those images is named by its path inside its source; where that
clashes too (the same path in two sources), the source's name goes before it. A name that
is still taken gets the image id. Every name is a relative path without `..`, `.` or empty
parts, and a URL loses its scheme and fragment: no name leaves the folder it is unpacked in,
and none is the path an upload is stored under.
"""

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath

from django.db.models import QuerySet

from projects.models import Image, Source
from projects.selectors import image_source_path

URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
FILE_STEM = re.compile(r"[^\w.-]+")
FIELDS = ("path", "source", "source__kind", "source__name", "source__location")


def relative_safe(name: str) -> str:
    """`name` as a relative path that stays inside the folder it lands in ("" if nothing
    is left of it)."""
    name = CONTROL.sub("_", name.replace("\\", "/"))
    parts = ["_" if part == ".." else part for part in name.split("/") if part not in {"", "."}]
    return "/".join(parts)


def _safe(image: Image, name: str) -> str:
    if image.source.kind == Source.Kind.URL:
        name = URL_SCHEME.sub("", name).split("#", 1)[0]
    return relative_safe(name) or f"image-{image.pk}"


def _clashing(names: dict[int, str], taken: Iterable[str] = ()) -> set[int]:
    counts = Counter(names.values())
    counts.update(set(taken))
    return {pk for pk, name in names.items() if counts[name] > 1}


def _source_prefixes(images: list[Image]) -> dict[int, str]:
    """A folder name per source of the export: its name made safe, with its id where two
    sources would share one."""
    sources = {image.source_id: image.source for image in images}
    safe = {
        pk: FILE_STEM.sub("_", source.name).strip("._") or f"source-{pk}"
        for pk, source in sources.items()
    }
    shared = _clashing(safe)
    return {pk: f"{name}-{pk}" if pk in shared else name for pk, name in safe.items()}


def _with_id(name: str, pk: int) -> str:
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}-{pk}{path.suffix}"))


def names_for(images: list[Image]) -> dict[int, str]:
    """The export name of each image (the images' sources loaded), in the images' order."""
    plain = {image.pk: _safe(image, image.display_name) for image in images}
    clash = _clashing(plain)
    kept = [name for pk, name in plain.items() if pk not in clash]
    inside = {
        image.pk: _safe(image, image_source_path(image)) for image in images if image.pk in clash
    }
    still = _clashing(inside, kept)
    prefixes = _source_prefixes([image for image in images if image.pk in still])
    names: dict[int, str] = {}
    used: set[str] = set()
    for image in images:
        name = plain[image.pk]
        if image.pk in still:
            name = f"{prefixes[image.source_id]}/{inside[image.pk]}"
        elif image.pk in clash:
            name = inside[image.pk]
        while name in used:
            name = _with_id(name, image.pk)
        used.add(name)
        names[image.pk] = name
    return names


def export_names(images: QuerySet[Image]) -> dict[int, str]:
    """The export name of every image of a scope, keyed by id in the scope's order."""
    return names_for(list(images.select_related("source").only(*FIELDS)))


def file_stem(name: str, pk: int) -> str:
    """A file name for per-image files (VOC maps, binary masks): the export name without its
    extension, every run of characters other than letters, digits, `_`, `.` and `-` (the
    folder separators too) turned into `_`."""
    path = PurePosixPath(name)
    stem = str(path.with_suffix("")) if path.suffix and path.stem else name
    return FILE_STEM.sub("_", stem).strip("._") or f"image-{pk}"
