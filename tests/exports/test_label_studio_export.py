"""The Label Studio export: tasks.json with one brushlabels region per mask, read back by
Label Studio's own converter pixel for pixel, and label_config.xml naming the classes."""

import io
import json
import xml.etree.ElementTree as ET
import zipfile
from urllib.parse import parse_qs, urlsplit

import numpy as np
from django.urls import reverse
from label_studio_converter import brush as studio

from projects.encoding import mask_to_rle
from projects.exports.formats import ExportOptions
from projects.exports.selectors import Scope
from projects.exports.services import export_write
from projects.models import Image, Label, MaskObject, Source
from tests.imports.helpers import export_bytes

ALL_RECORDS = ("objects", "predictions", "automask")


def unpack(data: bytes) -> tuple[list[dict], ET.Element]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["label_config.xml", "tasks.json"]
        return json.loads(archive.read("tasks.json")), ET.fromstring(
            archive.read("label_config.xml")
        )


def local_file(task: dict) -> str:
    parts = urlsplit(task["data"]["image"])
    assert parts.path == "/data/local-files/"
    return parse_qs(parts.query)["d"][0]


def decoded(region: dict) -> np.ndarray:
    """The region as Label Studio's converter decodes it: RGBA, in the mask where opaque."""
    height, width = region["original_height"], region["original_width"]
    pixels = studio.decode_rle(region["value"]["rle"]).reshape(height, width, 4)
    return pixels[:, :, 3] > 0


def test_every_region_decodes_to_its_stored_mask(annotated):
    tasks, _ = unpack(export_bytes(annotated.project, format="label_studio", records=ALL_RECORDS))
    assert [local_file(t) for t in tasks] == ["plate-0.png", "plate-1.png", "plate-2.png"]
    seen = 0
    for task, image in zip(tasks, annotated.images, strict=True):
        [annotation] = task["annotations"]
        assert annotation["was_cancelled"] is False
        for region in annotation["result"]:
            record, record_id = region["id"].split("-")[:2]
            assert region["type"] == "brushlabels" and region["value"]["format"] == "rle"
            assert (region["from_name"], region["to_name"]) == ("tag", "image")
            assert (region["original_width"], region["original_height"]) == (
                image.width,
                image.height,
            )
            assert region["image_rotation"] == 0
            assert np.array_equal(decoded(region), annotated.expected(record, int(record_id)))
            seen += 1
    assert seen == 4 + 1 + 4


def test_regions_carry_label_names_and_scores(annotated):
    tasks, _ = unpack(export_bytes(annotated.project, format="label_studio", records=ALL_RECORDS))
    first = tasks[0]["annotations"][0]["result"]
    assert [r["value"]["brushlabels"] for r in first] == [["cell"], ["nucleus"], ["unlabeled"]]
    assert all("score" not in r for r in first)  # objects are people's work, not scored
    automask = tasks[2]["annotations"][0]["result"]
    assert [r["score"] for r in automask] == [m.predicted_iou for m in annotated.automask]


def test_the_config_names_every_class_with_its_colour(annotated):
    _, config = unpack(export_bytes(annotated.project, format="label_studio"))
    image = config.find("Image")
    assert image.attrib == {"name": "image", "value": "$image"}
    brush = config.find("BrushLabels")
    assert brush.attrib == {"name": "tag", "toName": "image"}
    labels = [(label.get("value"), label.get("background")) for label in brush]
    assert labels == [
        ("cell", "#00ff00"),
        ("nucleus", "#0000ff"),
        ("object", annotated.labels["object"].color.lower()),
        ("unlabeled", "#808080"),
    ]


def test_names_that_are_not_plain_xml_stay_readable(team):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="u")
    image = Image.objects.create(
        project=team.project, source=source, path="a b&c#1+.png", key="b" * 64, width=4, height=3
    )
    label = Label.objects.create(project=team.project, name='<"cat"> & \x07dog', color="#123456")
    mask = np.zeros((3, 4), dtype=bool)
    mask[1, 2] = True  # one pixel
    MaskObject.objects.create(image=image, label=label, mask=mask_to_rle(mask))
    tasks, config = unpack(export_bytes(team.project, format="label_studio"))
    assert local_file(tasks[0]) == "a b&c#1+.png"
    [region] = tasks[0]["annotations"][0]["result"]
    name = region["value"]["brushlabels"][0]
    assert name == '<"cat"> & \ufffddog'
    assert name in [label.get("value") for label in config.iter("Label")]
    assert "unlabeled" not in [label.get("value") for label in config.iter("Label")]
    assert np.array_equal(decoded(region), mask)


def test_an_image_without_masks_is_a_task_to_label(annotated):
    tasks, _ = unpack(export_bytes(annotated.project, format="label_studio"))
    assert tasks[2]["annotations"] == []  # only automask results there: not exported here
    assert tasks[2]["predictions"] == []


def test_one_image_is_answered_with_the_zip(annotated, team, api_client):
    image = annotated.images[0]
    response = api_client(team.viewer).post(
        reverse("api:export-start", kwargs={"project_id": annotated.project.pk}),
        {"scope": "image", "image_id": image.pk, "format": "label_studio", "mask_form": "polygons"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="cells-label_studio.zip"'
    tasks, _ = unpack(response.content)
    assert [local_file(t) for t in tasks] == ["plate-0.png"]
    assert len(tasks[0]["annotations"][0]["result"]) == 3


def test_an_image_that_cannot_be_read_is_skipped_with_the_reason(team, tmp_path):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="new")
    image = Image.objects.create(project=team.project, source=source, path="gone.png")
    target = tmp_path / "export.zip"
    options = ExportOptions(format="label_studio")
    counts = export_write(project=team.project, scope=Scope(), options=options, target=target)
    tasks, config = unpack(target.read_bytes())
    assert tasks == [] and [label.get("value") for label in config.iter("Label")] == ["object"]
    [skipped] = counts["skipped"]
    assert skipped["image_id"] == image.pk and skipped["reason"]
