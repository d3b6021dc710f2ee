"""The CVAT for images 1.1 export: annotations.xml with the labels in its meta and one <mask>
per object in CVAT's RLE, decoded here as CVAT's loader does and by datumaro's CVAT importer,
pixel for pixel."""

import io
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from django.urls import reverse

from projects.encoding import mask_to_rle, rle_to_mask
from projects.exports.formats import ExportOptions
from projects.exports.selectors import Scope
from projects.exports.services import export_write
from projects.models import Image, Label, MaskObject, Source
from tests.conftest import write_png
from tests.exports.conftest import box_mask
from tests.imports.helpers import export_bytes
from tests.interop.test_readers import datumaro_read

ALL_RECORDS = ("objects", "predictions", "automask")


def annotations(data: bytes) -> ET.Element:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["annotations.xml"]
        return ET.fromstring(archive.read("annotations.xml"))


def cvat_decode(mask: ET.Element, height: int, width: int) -> np.ndarray:
    """A <mask> as CVAT's loader reads it: `rle` counts alternate from a background run over
    the box (left, top, width, height), row by row; the box lies on the image."""
    runs = [int(v) for v in mask.get("rle").split(",")]
    left, top = int(mask.get("left")), int(mask.get("top"))
    box_width, box_height = int(mask.get("width")), int(mask.get("height"))
    assert sum(runs) == box_width * box_height
    assert 0 <= left and left + box_width <= width and 0 <= top and top + box_height <= height
    ends = np.cumsum(runs)
    on = [np.arange(start, end) for start, end in zip(ends[0:-1:2], ends[1::2], strict=False)]
    offsets = np.concatenate(on) if on else np.zeros(0, dtype=int)
    pixels = np.zeros((height, width), dtype=bool)
    pixels[offsets // box_width + top, offsets % box_width + left] = True
    return pixels


def decoded(document: ET.Element) -> dict[str, list[tuple[str, np.ndarray]]]:
    read = {}
    for image in document.iter("image"):
        height, width = int(image.get("height")), int(image.get("width"))
        read[image.get("name")] = [
            (mask.get("label"), cvat_decode(mask, height, width)) for mask in image.iter("mask")
        ]
    return read


def test_the_document_is_cvat_for_images_1_1(annotated):
    document = annotations(export_bytes(annotated.project, format="cvat"))
    assert document.tag == "annotations" and document.findtext("version") == "1.1"
    task = document.find("meta/task")
    assert task.findtext("name") == annotated.project.name and task.findtext("size") == "3"
    assert task.findtext("mode") == "annotation"
    labels = [
        (label.findtext("name"), label.findtext("color"), label.findtext("type"))
        for label in task.iterfind("labels/label")
    ]
    assert labels == [
        ("cell", "#00ff00", "mask"),
        ("nucleus", "#0000ff", "mask"),
        ("object", annotated.labels["object"].color.lower(), "mask"),
        ("unlabeled", "#808080", "mask"),
    ]
    images = [
        (i.get("id"), i.get("name"), i.get("width"), i.get("height"))
        for i in document.iter("image")
    ]
    assert images == [
        ("0", "plate-0.png", "64", "48"),
        ("1", "plate-1.png", "50", "40"),
        ("2", "plate-2.png", "70", "36"),
    ]
    mask = document.find("image/mask")
    assert list(mask.attrib) == [
        "label",
        "source",
        "occluded",
        "rle",
        "left",
        "top",
        "width",
        "height",
        "z_order",
    ]
    assert mask.get("source") == "manual" and mask.get("occluded") == "0"


def test_every_mask_decodes_to_the_stored_one(annotated):
    """A ring (a hole), two parts, and a box on the left, right and bottom edges."""
    document = annotations(export_bytes(annotated.project, format="cvat"))
    read = decoded(document)
    expected = {}
    for obj in annotated.objects:
        name = obj.label.name if obj.label else "unlabeled"
        expected.setdefault(obj.image.path, []).append((name, rle_to_mask(obj.mask)))
    assert sorted(read) == ["plate-0.png", "plate-1.png", "plate-2.png"]
    assert read["plate-2.png"] == []  # only automask there: not chosen
    for name, rows in expected.items():
        key = lambda row: (row[0], row[1].tobytes())  # noqa: E731
        got, want = sorted(read[name], key=key), sorted(rows, key=key)
        assert [label for label, _ in got] == [label for label, _ in want]
        for (_, a), (_, b) in zip(got, want, strict=True):
            assert np.array_equal(a, b), name


def hard_masks(height: int, width: int) -> dict[str, np.ndarray]:
    masks = {
        "first pixel": box_mask(height, width, 0, 0, 1, 1),
        "last pixel": box_mask(height, width, width - 1, height - 1, 1, 1),
        "whole image": np.ones((height, width), dtype=bool),
        "right column": box_mask(height, width, width - 1, 0, 1, height),
        "bottom row": box_mask(height, width, 0, height - 1, width, 1),
    }
    frame = box_mask(height, width, 2, 3, 9, 7)
    frame[5:8, 4:9] = False  # a hole
    masks["frame"] = frame
    diagonal = np.zeros((height, width), dtype=bool)
    for k in range(6):
        diagonal[4 + k, 12 + k] = True  # a box that starts on the mask, row runs of one pixel
    masks["diagonal"] = diagonal
    return masks


@pytest.fixture
def hard(team):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="u")
    image = Image.objects.create(
        project=team.project, source=source, path="hard.png", key="c" * 64, width=21, height=13
    )
    masks = hard_masks(13, 21)
    for name, mask in masks.items():
        MaskObject.objects.create(image=image, name=name, mask=mask_to_rle(mask))
    return team.project, masks


def test_edges_single_pixels_and_holes_decode_exactly(hard):
    project, masks = hard
    document = annotations(export_bytes(project, format="cvat"))
    [rows] = decoded(document).values()
    assert len(rows) == len(masks)
    remaining = list(masks.values())
    for label, pixels in rows:
        assert label == "unlabeled"
        match = next(i for i, mask in enumerate(remaining) if np.array_equal(mask, pixels))
        remaining.pop(match)
    assert remaining == []
    first = next(m for m in document.iter("mask") if m.get("width") == m.get("height") == "1")
    assert first.get("rle") == "0, 1"  # a box on the mask starts with an empty background run


def test_larger_masks_lie_below_smaller_ones(hard):
    project, masks = hard
    document = annotations(export_bytes(project, format="cvat"))
    order = sorted(document.iter("mask"), key=lambda m: int(m.get("z_order")))
    areas = [sum(int(v) for v in m.get("rle").split(",")[1::2]) for m in order]
    assert areas == sorted(areas, reverse=True)
    assert [int(m.get("z_order")) for m in order] == list(range(len(masks)))


def test_an_empty_mask_is_left_out(team):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="u")
    image = Image.objects.create(
        project=team.project, source=source, path="e.png", key="d" * 64, width=5, height=4
    )
    MaskObject.objects.create(image=image, mask=mask_to_rle(np.zeros((4, 5), dtype=bool)))
    document = annotations(export_bytes(team.project, format="cvat"))
    assert [i.get("name") for i in document.iter("image")] == ["e.png"]
    assert list(document.iter("mask")) == []
    assert [n.text for n in document.iterfind("meta/task/labels/label/name")] == ["object"]


def test_names_that_are_not_plain_xml_stay_readable(team):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="u")
    image = Image.objects.create(
        project=team.project, source=source, path='a<b>&"c".png', key="e" * 64, width=3, height=3
    )
    label = Label.objects.create(project=team.project, name="<cat> & \x07dog", color="#123456")
    MaskObject.objects.create(
        image=image, label=label, mask=mask_to_rle(box_mask(3, 3, 1, 1, 1, 1))
    )
    document = annotations(export_bytes(team.project, format="cvat"))
    assert document.find("image").get("name") == 'a<b>&"c".png'
    assert document.find("image/mask").get("label") == "<cat> & \ufffddog"
    names = [n.text for n in document.iterfind("meta/task/labels/label/name")]
    assert "<cat> & \ufffddog" in names


def test_datumaro_reads_every_mask_with_its_label(hard, tmp_path):
    project, masks = hard
    folder = tmp_path / "cvat"
    (folder / "images").mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(export_bytes(project, format="cvat"))) as archive:
        archive.extractall(folder)
    # datumaro wants the pictures next to the annotations, as a CVAT dataset export has them.
    write_png(folder / "images" / "hard.png", width=21, height=13)
    read = datumaro_read("cvat", folder)
    [(item, rows)] = read.items()
    assert item.startswith("hard")
    assert len(rows) == len(masks)
    remaining = list(masks.values())
    for label, pixels in rows:
        assert label == "unlabeled"
        match = next(i for i, mask in enumerate(remaining) if np.array_equal(mask, pixels))
        remaining.pop(match)
    assert remaining == []


def test_a_pool_export_job_downloads_the_zip(
    annotated, team, api_client, eager_tasks, django_capture_on_commit_callbacks
):
    client = api_client(team.annotator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api:export-start", kwargs={"project_id": annotated.project.pk}),
            {"format": "cvat", "records": ["objects", "predictions", "automask"]},
            format="json",
        )
    assert response.status_code == 202, response.content
    job = client.get(reverse("api:export-job", kwargs={"job_id": response.json()["job"]["id"]}))
    assert job.json()["job"]["result"]["masks"] == 4 + 1 + 4
    download = client.get(job.json()["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    document = annotations(b"".join(download.streaming_content))
    sources = sorted({m.get("source") for m in document.iter("mask")})
    assert sources == ["auto", "manual", "semi-auto"]


def test_an_unknown_format_gets_a_clear_error(team, api_client):
    response = api_client(team.owner).post(
        reverse("api:export-start", kwargs={"project_id": team.project.pk}),
        {"format": "cvat_video"},
        format="json",
    )
    assert response.status_code == 400
    assert "format" in response.json()["error"]["fields"]


def test_an_image_that_cannot_be_read_is_skipped_with_the_reason(team, tmp_path):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="new")
    image = Image.objects.create(project=team.project, source=source, path="gone.png")
    target = tmp_path / "export.zip"
    counts = export_write(
        project=team.project, scope=Scope(), options=ExportOptions(format="cvat"), target=target
    )
    assert list(annotations(target.read_bytes()).iter("image")) == []  # never 0 x 0
    [skipped] = counts["skipped"]
    assert skipped["image_id"] == image.pk and skipped["reason"]
