"""Readers of annotation files: COCO instance segmentation, Ultralytics YOLO-seg, mask PNGs,
the seed's JSON schema (what the seed_json export writes) and Label Studio JSON exports.

Each reader turns a file into entries, one per image the file names, each with its
annotations as shapes (projects.imports.masks) that become masks once the image is known.
A file that cannot be read at all raises ImportRefused; one bad annotation is listed in
`invalid` with the reason and the rest are read. Zips are read member by member, never
unpacked to disk, with bounds on member count, sizes and names.
"""

import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import yaml

from projects.imports.masks import Shape

FORMATS = ("coco", "yolo_seg", "mask_png", "seed_json", "label_studio")
ZIP_FORMATS = ("yolo_seg", "mask_png")
MODES = ("objects", "predictions")
# A file with more is refused: no import needs this many, and a hostile one would.
MAX_ANNOTATIONS = 100_000
MAX_ENTRIES = 100_000
MAX_MEMBERS = 200_000
MAX_MEMBER_BYTES = 64 * 2**20  # one member of a zip (a PNG, a label file, a manifest)
UNPACKED_FACTOR = 4  # a zip may unpack to this many times the upload limit
MAX_YAML_BYTES = 2**20
MAX_REPORTED = 1_000  # entries of each list of the report
UNLABELED = "unlabeled"
BACKGROUND = {"background", "_background_", "__background__"}


class ImportRefused(ValueError):
    """The file as a whole cannot be imported; the message says why."""


@dataclass
class Annotation:
    where: str  # how the report names it: "annotation 12", "labels/a.txt line 3"
    shape: Shape
    label: str | None = None
    score: float | None = None
    name: str = ""
    crowd: bool = False
    optional: bool = False  # a class absent from a label map: skipped without a word


@dataclass
class Entry:
    """An image as the file names it, with its annotations."""

    where: str
    names: tuple[str, ...]  # best first: file names or paths, or file stems with `stem`
    key: str = ""  # the seed's image hash
    stem: bool = False
    size: tuple[int, int] | None = None  # (height, width) the file says the image has
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class Parsed:
    entries: list[Entry] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    invalid_count: int = 0
    annotations: int = 0

    def entry(self, entry: Entry) -> Entry:
        if len(self.entries) >= MAX_ENTRIES:
            raise ImportRefused(f"The file names more than {MAX_ENTRIES} images.")
        self.entries.append(entry)
        return entry

    def add(self, entry: Entry, annotation: Annotation) -> None:
        self.annotations += 1
        if self.annotations > MAX_ANNOTATIONS:
            raise ImportRefused(
                f"The file has more than {MAX_ANNOTATIONS} annotations; split it into "
                "smaller files."
            )
        entry.annotations.append(annotation)

    def refuse(self, where: str, reason: str, image: str = "") -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_REPORTED:
            self.invalid.append({"image": image, "annotation": where, "reason": reason})


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _size(height: object, width: object) -> tuple[int, int] | None:
    h, w = _int(height), _int(width)
    return (h, w) if h and w and h > 0 and w > 0 else None


def _score(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if np.isfinite(number):
            return number
    return None


def _text(value: object, limit: int = 200) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _label(value: object) -> str | None:
    name = _text(value, 100).strip()
    return None if not name or name == UNLABELED else name


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def json_document(data: bytes) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:
        raise ImportRefused(f"The file is not valid JSON ({str(error)[:200]}).") from None


# Zips ---------------------------------------------------------------------------------------


class SafeZip:
    """A zip read in memory, member by member: refused when its names could leave a folder,
    when it holds too many members or unpacks past the limit (whatever it declares)."""

    def __init__(self, path: Path, max_unpacked: int):
        self.left = max_unpacked
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise ImportRefused(f"The file is not a readable zip ({error}).") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ImportRefused(f"The zip holds more than {MAX_MEMBERS} files.")
        self.members: dict[str, zipfile.ZipInfo] = {}
        declared = 0
        for info in infos:
            if info.is_dir():
                continue
            name = info.filename
            if not _safe_member(name):
                raise ImportRefused(f"The zip holds an unsafe file name: {_short(name)}.")
            if info.flag_bits & 0x1:
                raise ImportRefused("The zip is encrypted.")
            if name in self.members:
                raise ImportRefused(f"The zip holds {_short(name)} twice.")
            declared += info.file_size
            self.members[name] = info
        if declared > max_unpacked:
            raise ImportRefused(
                f"The zip unpacks to {declared / 2**20:.0f} MiB; at most "
                f"{max_unpacked / 2**20:.0f} MiB are read."
            )

    def close(self) -> None:
        self.zip.close()

    def names(self, *suffixes: str) -> list[str]:
        return sorted(n for n in self.members if n.lower().endswith(suffixes))

    def read(self, name: str) -> bytes:
        limit = min(MAX_MEMBER_BYTES, self.left)
        try:
            with self.zip.open(self.members[name]) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
            raise ImportRefused(
                f"The zip member {_short(name)} cannot be read ({error})."
            ) from None
        if len(data) > limit:
            raise ImportRefused(
                f"The zip member {_short(name)} unpacks past the limit "
                f"({limit / 2**20:.0f} MiB): refused as a zip bomb."
            )
        self.left -= len(data)
        return data

    def loader(self, name: str) -> Callable[[], bytes]:
        return lambda: self.read(name)


def _safe_member(name: str) -> bool:
    if not name or "\\" in name or name.startswith("/") or re.search(r"[\x00-\x1f\x7f]", name):
        return False
    parts = name.split("/")
    return ".." not in parts and not re.match(r"^[A-Za-z]:", name)


def _skipped_member(name: str) -> bool:
    """macOS resource forks and hidden files that zips made by hand carry along."""
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


# COCO ---------------------------------------------------------------------------------------


def read_coco(document: object, parsed: Parsed) -> None:
    if not isinstance(document, dict):
        raise ImportRefused("A COCO file is a JSON object with images and annotations.")
    images, annotations = document.get("images"), document.get("annotations")
    if not isinstance(images, list) or not isinstance(annotations, list):
        raise ImportRefused("A COCO file lists its images and annotations: both are missing.")
    categories = document.get("categories")
    names: dict[object, str] = {}
    for category in categories if isinstance(categories, list) else []:
        if isinstance(category, dict) and isinstance(category.get("id"), int | str):
            names[category["id"]] = _text(category.get("name"), 100)
    entries: dict[object, Entry] = {}
    for index, image in enumerate(images):
        key = image.get("id") if isinstance(image, dict) else None
        if not isinstance(key, int | str) or not isinstance(image.get("file_name"), str):
            parsed.refuse(f"images[{index}]", "An image needs an id and a file_name.")
            continue
        name = image["file_name"][:2048]
        entries[key] = parsed.entry(
            Entry(
                where=name,
                names=(name,),
                size=_size(image.get("height"), image.get("width")),
            )
        )
    for index, annotation in enumerate(annotations):
        _coco_annotation(annotation, index, entries, names, parsed)


def _coco_annotation(
    annotation: object,
    index: int,
    entries: dict[object, Entry],
    categories: dict[object, str],
    parsed: Parsed,
) -> None:
    if not isinstance(annotation, dict):
        parsed.refuse(f"annotations[{index}]", "An annotation is a JSON object.")
        return
    where = f"annotation {_short(annotation.get('id', index))}"
    image_id = annotation.get("image_id")
    entry = entries.get(image_id) if isinstance(image_id, int | str) else None
    if entry is None:
        parsed.refuse(where, f"Its image_id {_short(image_id)} is not among the file's images.")
        return
    segmentation = annotation.get("segmentation")
    if isinstance(segmentation, dict):
        shape = Shape("rle", segmentation)
    elif isinstance(segmentation, list) and segmentation:
        shape = Shape("polygons", segmentation)
    else:
        parsed.refuse(where, "It has no segmentation (a box alone is no mask).", entry.where)
        return
    category = annotation.get("category_id")
    label = None
    if category is not None:
        if not isinstance(category, int | str) or category not in categories:
            parsed.refuse(
                where,
                f"Its category_id {_short(category)} is not among the categories.",
                entry.where,
            )
            return
        label = _label(categories[category])
    attributes = annotation.get("attributes")
    name = _text(attributes.get("name")) if isinstance(attributes, dict) else ""
    parsed.add(
        entry,
        Annotation(
            where=where,
            shape=shape,
            label=label,
            score=_score(annotation.get("score")),
            name=name,
            crowd=annotation.get("iscrowd") == 1,
        ),
    )


# The seed's JSON schema ---------------------------------------------------------------------

HASH = re.compile(r"^[0-9a-f]{64}$")


def read_seed_json(document: object, parsed: Parsed) -> None:
    images = document.get("images") if isinstance(document, dict) else None
    if not isinstance(images, dict):
        raise ImportRefused(
            "A seed JSON file is an object whose images are keyed by the image hash."
        )
    for key, item in images.items():
        if not isinstance(item, dict):
            parsed.refuse(_short(key), "An image entry is a JSON object.")
            continue
        names = tuple(
            item[name][:2048] for name in ("file_name", "path") if isinstance(item.get(name), str)
        )
        digest = str(key).split("#", 1)[0]
        entry = parsed.entry(
            Entry(
                where=names[0] if names else str(key)[:80],
                names=names,
                key=digest if HASH.match(digest) else "",
                size=_size(item.get("height"), item.get("width")),
            )
        )
        masks = item.get("final_masks")
        if masks is None and isinstance(item.get("outputs"), dict):
            masks = item["outputs"].get("final_masks")
        for number, mask in enumerate(masks if isinstance(masks, list) else [], start=1):
            _seed_mask(mask, f"final mask {number}", entry, parsed)


def _seed_mask(mask: object, where: str, entry: Entry, parsed: Parsed) -> None:
    if isinstance(mask, dict) and "counts" in mask:
        parsed.add(entry, Annotation(where=where, shape=Shape("rle", mask)))
    elif isinstance(mask, dict) and isinstance(mask.get("mask"), dict):
        parsed.add(
            entry,
            Annotation(
                where=where,
                shape=Shape("rle", mask["mask"]),
                label=_label(mask.get("label")),
                name=_text(mask.get("name")),
            ),
        )
    else:
        parsed.refuse(where, "A final mask is an RLE, or an object with its mask.", entry.where)


# Label Studio -------------------------------------------------------------------------------

UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")
POLYGONS = {"polygonlabels": "polygonlabels", "polygon": None}
BRUSHES = {"brushlabels", "brush"}


def studio_names(reference: str, upload: str = "") -> tuple[str, ...]:
    """The names a Label Studio task's image may have here: the local file it points to,
    its path, its file name, and that name without the prefix an upload gets."""
    parts = urlsplit(reference)
    names: list[str] = []
    local = parse_qs(parts.query).get("d")
    if local:
        names.append(local[0])
    path = unquote(parts.path)
    upload_path = re.sub(r"^/?data/upload/\d+/", "", path)
    names += [upload_path, path]
    for name in (PurePosixPath(path).name, upload):
        names.append(name)
        plain = UPLOAD_PREFIX.match(name)
        if plain:
            names.append(plain.group(1))
    return tuple(dict.fromkeys(n for n in names if n))


def read_label_studio(document: object, parsed: Parsed) -> None:
    tasks = [document] if isinstance(document, dict) else document
    if not isinstance(tasks, list):
        raise ImportRefused("A Label Studio export is a JSON list of tasks.")
    for index, task in enumerate(tasks):
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            parsed.refuse(f"task {index}", "A task has no data.")
            continue
        reference = data.get("image")
        if not isinstance(reference, str):
            reference = next((v for v in data.values() if isinstance(v, str)), "")
        names = studio_names(reference[:2048], _text(task.get("file_upload"), 2048))
        entry = parsed.entry(Entry(where=reference[:200] or f"task {index}", names=names))
        results, score = _studio_results(task)
        for number, result in enumerate(results):
            _studio_result(
                result, f"task {task.get('id', index)} result {number}", score, entry, parsed
            )


def _studio_results(task: dict) -> tuple[list, float | None]:
    """The results of the task's latest annotation not cancelled; else of its latest
    prediction (with the prediction's score)."""
    for key in ("annotations", "completions"):
        kept = [
            a
            for a in task.get(key) or []
            if isinstance(a, dict)
            and not a.get("was_cancelled")
            and isinstance(a.get("result"), list)
        ]
        if kept:
            return kept[-1]["result"], None
    predictions = [
        p
        for p in task.get("predictions") or []
        if isinstance(p, dict) and isinstance(p.get("result"), list)
    ]
    if predictions:
        return predictions[-1]["result"], _score(predictions[-1].get("score"))
    return [], None


def _studio_result(
    result: object, where: str, score: float | None, entry: Entry, parsed: Parsed
) -> None:
    if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
        parsed.refuse(where, "A result has no value.", entry.where)
        return
    kind, value = result.get("type"), result["value"]
    if entry.size is None:
        entry.size = _size(result.get("original_height"), result.get("original_width"))
    if kind in BRUSHES:
        _studio_brush(value, kind, where, score, result, entry, parsed)
        return
    if kind not in POLYGONS:
        parsed.refuse(where, f"A {_short(kind)} result is not a mask.", entry.where)
        return
    points = value.get("points")
    if not isinstance(points, list) or not all(
        isinstance(p, list | tuple) and len(p) == 2 for p in points
    ):
        parsed.refuse(where, "A polygon's points are [x, y] pairs.", entry.where)
        return
    labels = value.get(POLYGONS[kind] or "labels")
    label = _label(labels[0]) if isinstance(labels, list) and labels else None
    flat = [coordinate for point in points for coordinate in point]
    parsed.add(
        entry,
        Annotation(
            where=where,
            shape=Shape("percent", [flat]),
            label=label,
            score=_score(result.get("score")) if score is None else score,
        ),
    )


def _studio_brush(
    value: dict,
    kind: str,
    where: str,
    score: float | None,
    result: dict,
    entry: Entry,
    parsed: Parsed,
) -> None:
    if value.get("format") != "rle" or not isinstance(value.get("rle"), list):
        parsed.refuse(where, "A brush result holds its mask as value.rle, format rle.", entry.where)
        return
    labels = value.get("brushlabels" if kind == "brushlabels" else "labels")
    parsed.add(
        entry,
        Annotation(
            where=where,
            shape=Shape("brush", value["rle"]),
            label=_label(labels[0]) if isinstance(labels, list) and labels else None,
            score=_score(result.get("score")) if score is None else score,
        ),
    )


# Ultralytics YOLO-seg -----------------------------------------------------------------------


def read_yolo(archive: SafeZip, parsed: Parsed) -> None:
    classes = _yolo_names(archive)
    for member in archive.names(".txt"):
        if _skipped_member(member) or PurePosixPath(member).name.lower() == "classes.txt":
            continue
        try:
            text = archive.read(member).decode("utf-8")
        except UnicodeDecodeError:
            parsed.refuse(member, "The label file is not UTF-8 text.")
            continue
        stem = PurePosixPath(member).stem
        entry = parsed.entry(Entry(where=member, names=(stem,), stem=True))
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                _yolo_line(line, f"{member} line {number}", classes, entry, parsed)


def _yolo_names(archive: SafeZip) -> list[str]:
    yamls = sorted(
        (n for n in archive.names(".yaml", ".yml") if not _skipped_member(n)),
        key=lambda n: (
            PurePosixPath(n).name.lower() not in ("data.yaml", "dataset.yaml"),
            n.count("/"),
            n,
        ),
    )
    if yamls:
        data = archive.read(yamls[0])
        if len(data) > MAX_YAML_BYTES:
            raise ImportRefused(f"{yamls[0]} is larger than a dataset description can be.")
        try:
            document = yaml.safe_load(data)
        except (yaml.YAMLError, RecursionError) as error:
            raise ImportRefused(f"{yamls[0]} is not valid YAML ({str(error)[:200]}).") from None
        names = document.get("names") if isinstance(document, dict) else None
        if isinstance(names, dict) and all(isinstance(k, int) for k in names):
            size = max(names, default=-1) + 1
            if size > 10_000 or min(names, default=0) < 0:
                raise ImportRefused(f"The class indexes of {yamls[0]} are out of range.")
            names = [names.get(i, "") for i in range(size)]
        # Only plain names: a structure of YAML aliases would be huge once written out.
        if isinstance(names, list) and all(isinstance(n, str | int | float) for n in names):
            return [str(name)[:100] for name in names[:10_000]]
        raise ImportRefused(f"{yamls[0]} has no class names (names: a list or index: name).")
    texts = [n for n in archive.names("classes.txt") if not _skipped_member(n)]
    if texts:
        lines = archive.read(texts[0]).decode("utf-8", "replace").splitlines()
        return [line.strip() for line in lines[:10_000]]
    raise ImportRefused("The zip has no data.yaml (or classes.txt) naming the classes.")


def _yolo_line(line: str, where: str, classes: list[str], entry: Entry, parsed: Parsed) -> None:
    tokens = line.split()
    try:
        index = int(tokens[0])
        values = [float(token) for token in tokens[1:]]
    except ValueError:
        parsed.refuse(where, "A line is a class index, then x y pairs.", entry.where)
        return
    if not 0 <= index < len(classes):
        parsed.refuse(where, f"Class {index} is not in data.yaml's names.", entry.where)
        return
    score = values.pop() if len(values) % 2 else None  # predictions saved with confidences
    parsed.add(
        entry,
        Annotation(
            where=where,
            shape=Shape("relative", [values]),
            label=_label(classes[index]),
            score=score,
        ),
    )


# Mask PNGs ----------------------------------------------------------------------------------

PER_OBJECT = re.compile(r"^(?P<stem>.+)_(?P<number>\d+)\.png$", re.IGNORECASE)
TABLES = ("labelmap.txt", "classes.json", "classes.txt")


@dataclass(frozen=True)
class Class:
    index: int
    name: str
    color: tuple[int, int, int] | None = None


def read_mask_png(archive: SafeZip, parsed: Parsed) -> None:
    """Our binary_mask export (its manifest names images, files and labels); else label
    maps with a class table (labelmap.txt, classes.json or classes.txt); else one binary
    mask per object, `<image stem>_<n>.png` or `<image stem>/<n>.png`."""
    manifests = [n for n in archive.names("manifest.json") if n.count("/") == 0]
    if manifests:
        _read_manifest(archive, json_document(archive.read(manifests[0])), parsed)
        return
    tables = sorted(
        (n for n in archive.members if PurePosixPath(n).name.lower() in TABLES),
        key=lambda n: (n.count("/"), TABLES.index(PurePosixPath(n).name.lower())),
    )
    pngs = [n for n in archive.names(".png") if not _skipped_member(n)]
    if tables:
        classes = _class_table(tables[0], archive.read(tables[0]))
        for member in pngs:
            if "segmentationobject" not in member.lower():
                _label_map(archive, member, classes, parsed)
        return
    by_stem: dict[str, Entry] = {}
    for member in pngs:
        path = PurePosixPath(member)
        match = PER_OBJECT.match(path.name)
        if match:
            stem = match["stem"]
        elif path.stem.isdigit() and path.parent.name:
            stem = path.parent.name
        else:
            parsed.refuse(member, "A mask file is named <image stem>_<n>.png.")
            continue
        entry = by_stem.get(stem) or parsed.entry(Entry(where=stem, names=(stem,), stem=True))
        by_stem[stem] = entry
        parsed.add(entry, Annotation(where=member, shape=Shape("png", archive.loader(member))))


def _read_manifest(archive: SafeZip, manifest: object, parsed: Parsed) -> None:
    images = manifest.get("images") if isinstance(manifest, dict) else None
    if not isinstance(images, list):
        raise ImportRefused("manifest.json lists no images.")
    for index, image in enumerate(images):
        if not isinstance(image, dict) or not isinstance(image.get("file_name"), str):
            parsed.refuse(f"manifest images[{index}]", "An image needs its file_name.")
            continue
        name = image["file_name"][:2048]
        entry = parsed.entry(
            Entry(where=name, names=(name,), size=_size(image.get("height"), image.get("width")))
        )
        masks = image.get("masks")
        for mask in masks if isinstance(masks, list) else []:
            member = mask.get("file") if isinstance(mask, dict) else None
            if not isinstance(member, str) or member not in archive.members:
                parsed.refuse(_short(member), "The manifest names a mask the zip lacks.", name)
                continue
            parsed.add(
                entry,
                Annotation(
                    where=member,
                    shape=Shape("png", archive.loader(member)),
                    label=_label(mask.get("label")),
                    score=_score(mask.get("score")),
                    name=_text(mask.get("name")),
                ),
            )


def _class_table(name: str, data: bytes) -> list[Class]:
    text = data.decode("utf-8", "replace")
    lower = PurePosixPath(name).name.lower()
    if lower == "labelmap.txt":
        classes: list[Class] = []
        for line in text.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            label, _, rest = line.partition(":")
            rgb = rest.split(":", 1)[0].split(",")
            color = (
                tuple(int(v) for v in rgb)
                if len(rgb) == 3 and all(v.strip().isdigit() for v in rgb)
                else None
            )
            classes.append(Class(len(classes), label.strip(), color))  # type: ignore[arg-type]
        return classes[:256]
    if lower == "classes.txt":
        return [Class(i, line.strip()) for i, line in enumerate(text.splitlines()[:65536])]
    document = json_document(data)
    if isinstance(document, list):
        return [_json_class(i, item) for i, item in enumerate(document[:65536])]
    if isinstance(document, dict) and all(str(k).isdigit() for k in document):
        return [Class(int(k), _text(v, 100)) for k, v in list(document.items())[:65536]]
    raise ImportRefused("classes.json is a list of class names, or an object index: name.")


def _json_class(index: int, item: object) -> Class:
    if isinstance(item, dict):
        color = item.get("color")
        rgb = None
        if isinstance(color, str) and re.match(r"^#[0-9a-fA-F]{6}$", color):
            rgb = (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))
        return Class(_int(item.get("index")) or index, _text(item.get("name"), 100), rgb)
    return Class(index, _text(item, 100))


def _label_map(archive: SafeZip, member: str, classes: list[Class], parsed: Parsed) -> None:
    stem = PurePosixPath(member).stem
    entry = parsed.entry(Entry(where=member, names=(stem,), stem=True))

    def pixels() -> bytes:
        return archive.read(member)

    for item in classes:
        if item.index == 0 or item.name.lower() in BACKGROUND or item.color == (0, 0, 0):
            continue
        parsed.add(
            entry,
            Annotation(
                where=f"{member} class {item.name or item.index}",
                shape=Shape("png", pixels, select=_selector(item)),
                label=_label(item.name),
                optional=True,
            ),
        )


def _selector(item: Class) -> Callable[[np.ndarray], np.ndarray]:
    def select(pixels: np.ndarray) -> np.ndarray:
        if pixels.ndim == 3:
            if item.color is None:
                return np.zeros(pixels.shape[:2], dtype=bool)
            return (pixels[..., :3] == np.array(item.color, dtype=pixels.dtype)).all(axis=2)
        return pixels == item.index

    return select


# Reading a file -----------------------------------------------------------------------------

JSON_READERS = {
    "coco": read_coco,
    "seed_json": read_seed_json,
    "label_studio": read_label_studio,
}
ZIP_READERS = {"yolo_seg": read_yolo, "mask_png": read_mask_png}


@contextmanager
def parsed_file(format: str, path: Path, *, max_bytes: int) -> Iterator[Parsed]:
    """The entries of the file at `path` in `format`; a zip stays open (its masks are read
    when their images are known) until the block ends."""
    parsed = Parsed()
    if format in JSON_READERS:
        JSON_READERS[format](json_document(path.read_bytes()), parsed)
        yield parsed
        return
    if format not in ZIP_READERS:
        raise ImportRefused(f"Unknown format {format!r}.")
    archive = SafeZip(path, max_bytes * UNPACKED_FACTOR)
    try:
        ZIP_READERS[format](archive, parsed)
        yield parsed
    finally:
        archive.close()
