"""The Ultralytics YOLO-seg export: data.yaml, one label file per image, and the round trip
through our own YOLO-seg importer."""

import io
import zipfile

import cv2
import numpy as np
import pytest
import yaml
from django.urls import reverse

from projects.encoding import mask_to_rle, rle_to_mask
from projects.models import Image, MaskObject
from tests.exports.conftest import box_mask
from tests.imports.helpers import export_bytes, run_import, twin_project


def members(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def lines_of(text: str) -> list[tuple[int, np.ndarray]]:
    rows = []
    for line in text.splitlines():
        index, *values = line.split()
        rows.append((int(index), np.array([float(v) for v in values]).reshape(-1, 2)))
    return rows


def test_data_yaml_names_the_classes_in_coco_order(annotated):
    files = members(export_bytes(annotated.project, format="yolo_seg"))
    data = yaml.safe_load(files["data.yaml"])
    assert data["path"] == "." and data["train"] == "images" and data["val"] == "images"
    assert data["names"] == {0: "cell", 1: "nucleus", 2: "object", 3: "unlabeled"}
    assert files["images.txt"].split() == ["plate-0.png", "plate-1.png", "plate-2.png"]
    assert not [name for name in files if name.startswith("images/")]


def test_one_line_per_part_with_normalized_coordinates(annotated):
    files = members(export_bytes(annotated.project, format="yolo_seg"))
    first = lines_of(files["labels/plate-0.txt"])
    # ring (cell: outer contour only), pair (nucleus: two parts), edge (unlabeled)
    assert [index for index, _ in first] == [0, 1, 1, 3]
    for _, points in first:
        assert len(points) >= 3 and points.min() >= 0 and points.max() <= 1
    assert all(
        len(value.split(".")[1]) == 6
        for line in files["labels/plate-0.txt"].splitlines()
        for value in line.split()[1:]
    )
    # The box 5,5 10x20 on a 50x40 image, vertices on the pixel edges.
    [(index, box)] = lines_of(files["labels/plate-1.txt"])
    assert index == 0
    assert sorted(map(tuple, box)) == [(0.1, 0.125), (0.1, 0.625), (0.3, 0.125), (0.3, 0.625)]
    assert files["labels/plate-2.txt"] == ""  # no objects: an empty label file


def test_names_that_clash_get_distinct_label_files(annotated):
    clash = Image.objects.create(
        project=annotated.project,
        source=annotated.source,
        path="plate-0.jpg",
        key="f" * 64,
        width=10,
        height=10,
    )
    files = members(export_bytes(annotated.project, format="yolo_seg"))
    assert "labels/plate-0.txt" in files and f"labels/plate-0_{clash.pk}.txt" in files


def fill_outer(mask: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = np.zeros(mask.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


def test_round_trip_through_our_yolo_importer(annotated, team, api_client):
    twin = twin_project(annotated.project, team.owner)
    data = export_bytes(annotated.project, format="yolo_seg")
    job = run_import(api_client(team.owner), twin, data, format="yolo_seg", create_labels="true")
    assert job.status == "done", job.message
    imported = {
        (o.image.path, o.label.name if o.label else "unlabeled"): rle_to_mask(o.mask)
        for o in MaskObject.objects.filter(image__project=twin).select_related("image", "label")
        if o.label is None or o.label.name != "nucleus"
    }
    parts = MaskObject.objects.filter(image__project=twin, label__name="nucleus")
    pair = np.any([rle_to_mask(o.mask) for o in parts], axis=0)
    originals = {
        (o.image.path, o.label.name if o.label else "unlabeled"): rle_to_mask(o.mask)
        for o in annotated.objects
        if o.name != "pair"
    }
    assert sorted(imported) == sorted(originals)
    for key, original in originals.items():
        # Rectangles come back exactly; the ring comes back without its hole.
        assert np.array_equal(imported[key], fill_outer(original)), key
    expected_pair = rle_to_mask(next(o.mask for o in annotated.objects if o.name == "pair"))
    assert iou(pair, expected_pair) >= 0.98


@pytest.mark.parametrize("convention", ["edges", "centres"])
def test_a_rectangle_is_exact_in_the_reader_of_its_convention(team, convention):
    from projects.models import Source

    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="u")
    image = Image.objects.create(
        project=team.project, source=source, path="r.png", key="a" * 64, width=30, height=20
    )
    original = box_mask(20, 30, 3, 4, 11, 7)
    MaskObject.objects.create(image=image, label=None, mask=mask_to_rle(original))
    files = members(export_bytes(team.project, format="yolo_seg", polygon_convention=convention))
    [(_, points)] = lines_of(files["labels/r.txt"])
    pixels = np.round(points * [30, 20]).astype(np.int32)
    filled = np.zeros((20, 30), np.uint8)
    cv2.fillPoly(filled, [pixels], 1)
    if convention == "centres":
        assert np.array_equal(filled.astype(bool), original)
    else:  # fillPoly draws the far edges too: one pixel more each way
        assert filled.sum() == 12 * 8


def test_centres_coco_polygons_rasterize_with_fill_poly(annotated):
    import json

    document = json.loads(
        export_bytes(
            annotated.project, format="coco", mask_form="polygons", polygon_convention="centres"
        )
    )
    image = next(i for i in document["images"] if i["file_name"] == "plate-1.png")
    [annotation] = [a for a in document["annotations"] if a["image_id"] == image["id"]]
    filled = np.zeros((image["height"], image["width"]), np.uint8)
    for polygon in annotation["segmentation"]:
        cv2.fillPoly(filled, [np.array(polygon, np.int32).reshape(-1, 2)], 1)
    assert np.array_equal(filled.astype(bool), box_mask(40, 50, 5, 5, 10, 20))


def test_a_bad_polygon_convention_is_refused(annotated, team, api_client):
    response = api_client(team.owner).post(
        reverse("api:export-start", kwargs={"project_id": annotated.project.pk}),
        {"format": "yolo_seg", "polygon_convention": "corners"},
        format="json",
    )
    assert response.status_code == 400
    assert "polygon_convention" in response.json()["error"]["fields"]
