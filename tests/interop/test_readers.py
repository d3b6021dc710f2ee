"""Our exports read back by readers the project does not write: pycocotools, supervision (COCO
and YOLO-seg), datumaro (COCO and Pascal VOC) and Label Studio's converter. Each gives back
every stored mask pixel for pixel, with its class. The docs (docs/exports.md) say which form
each reader is exact with; these tests hold them to it."""

import io
import json
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import supervision as sv
import yaml
from pycocotools.coco import COCO

from tests.imports.helpers import export_bytes
from tests.interop.conftest import same, write_pictures

ROOT = Path(__file__).resolve().parents[2]
READERS_PYTHON = ROOT / ".venv-readers" / "bin" / "python"


def unzip(data: bytes, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(folder)
    return folder


def coco_file(scene, folder: Path, **options) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "annotations.json"
    path.write_bytes(export_bytes(scene.project, format="coco", **options))
    return path


@pytest.mark.parametrize("mask_form", ["coco_rle", "uncompressed_rle", "polygons"])
def test_pycocotools_reads_every_coco_form(scene, tmp_path, mask_form):
    coco = COCO(str(coco_file(scene, tmp_path, mask_form=mask_form)))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    read = {
        image["file_name"]: [
            (names[a["category_id"]], coco.annToMask(a))
            for a in coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        ]
        for image in coco.loadImgs(coco.getImgIds())
    }
    same(scene.expected, read)


def detections_by_name(dataset: sv.DetectionDataset) -> dict[str, list[tuple[str, np.ndarray]]]:
    read = {}
    for path, _, detections in dataset:
        masks = detections.mask if detections.mask is not None else []
        read[Path(path).name] = [
            (dataset.classes[class_id], mask)
            for class_id, mask in zip(detections.class_id, masks, strict=True)
        ]
    return read


@pytest.mark.parametrize(
    "options",
    [
        {"mask_form": "uncompressed_rle"},
        {"mask_form": "polygons", "polygon_convention": "centres"},
    ],
    ids=["uncompressed-rle", "centre-polygons"],
)
def test_supervision_reads_coco(scene, tmp_path, options):
    """supervision rounds polygon vertices and fills them with OpenCV: exact on pixel centres
    (masks with a hole come as uncompressed RLE, which it decodes)."""
    annotations = coco_file(scene, tmp_path, **options)
    write_pictures(scene, tmp_path / "images")
    dataset = sv.DetectionDataset.from_coco(
        images_directory_path=str(tmp_path / "images"),
        annotations_path=str(annotations),
        force_masks=True,
    )
    same(scene.expected, detections_by_name(dataset))


def test_supervision_reads_yolo_seg_on_pixel_centres(scene, tmp_path):
    """YOLO-seg has no holes (a mask with one is its outer contour, as documented): every
    other mask, one pixel wide or a single pixel included, comes back exact."""
    folder = unzip(
        export_bytes(scene.project, format="yolo_seg", polygon_convention="centres"), tmp_path
    )
    write_pictures(scene, folder / "images")
    dataset = sv.DetectionDataset.from_yolo(
        images_directory_path=str(folder / "images"),
        annotations_directory_path=str(folder / "labels"),
        data_yaml_path=str(folder / "data.yaml"),
        force_masks=True,
    )
    names = yaml.safe_load((folder / "data.yaml").read_text())["names"]
    assert dataset.classes == [names[k] for k in sorted(names)]
    read = detections_by_name(dataset)
    # One line per part: supervision gives each part as a detection of its own.
    merged = {}
    for name, rows in read.items():
        by_class: dict[str, list[np.ndarray]] = {}
        for label, mask in rows:
            by_class.setdefault(label, []).append(mask)
        merged[name] = by_class
    for name, rows in scene.without_holes().items():
        for obj, label, mask in rows:
            parts = merged[name].get(label, [])
            assert any(
                np.array_equal(np.logical_or.reduce(group), mask)
                for group in _part_groups(parts, mask)
            ), f"{name}: {obj} ({label}) not read back exactly"


def _part_groups(parts: list[np.ndarray], mask: np.ndarray) -> list[list[np.ndarray]]:
    """The parts read back that lie inside `mask` (a mask of two parts is two lines)."""
    inside = [part for part in parts if part.any() and not (part & ~mask).any()]
    return [inside] if inside else []


def datumaro_read(format_name: str, folder: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    assert READERS_PYTHON.exists(), "the readers' virtualenv is missing: run bin/test"
    out = folder.parent / f"{folder.name}-read.npz"
    result = subprocess.run(
        [str(READERS_PYTHON), str(Path(__file__).with_name("datumaro_read.py"))]
        + [format_name, str(folder), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    read: dict[str, list[tuple[str, np.ndarray]]] = {}
    with np.load(out) as arrays:
        for key in arrays.files:
            item, n, label = key.split("|")
            rows = read.setdefault(item, [])
            if n != "items":
                rows.append((label, arrays[key].astype(bool)))
    return read


def by_stem(expected: dict) -> dict:
    return {Path(name).stem: rows for name, rows in expected.items()}


@pytest.mark.parametrize("mask_form", ["coco_rle", "uncompressed_rle", "polygons"])
def test_datumaro_reads_coco(scene, tmp_path, mask_form):
    folder = tmp_path / "coco"
    write_pictures(scene, folder / "images" / "default")
    coco_file(scene, folder / "annotations", mask_form=mask_form).rename(
        folder / "annotations" / "instances_default.json"
    )
    same(by_stem(scene.expected), datumaro_read("coco_instances", folder))


def test_datumaro_reads_voc_with_every_class_kept(scene, tmp_path):
    """datumaro's VOC importer tells classes apart by their colour in labelmap.txt: labels
    made in the app have distinct colours, so each mask keeps its class."""
    folder = unzip(export_bytes(scene.project, format="voc"), tmp_path / "voc")
    same(by_stem(scene.expected), datumaro_read("voc_segmentation", folder))


def test_the_coco_export_is_the_same_json_for_both_pycocotools_and_datumaro(scene, tmp_path):
    """Category ids from 1, unlabeled last: datumaro reads no category as background."""
    document = json.loads(coco_file(scene, tmp_path).read_text())
    assert [c["name"] for c in document["categories"]] == ["car", "object", "tree", "unlabeled"]
    assert [c["id"] for c in document["categories"]] == [1, 2, 3, 4]
