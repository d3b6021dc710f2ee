"""Export, import into a new project, export again: the same masks pixel for pixel."""

import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image as PILImage

from projects.models import MaskObject
from tests.exports.conftest import annotated  # noqa: F401  (the fixture)
from tests.imports.helpers import coco_masks, export_bytes, run_import, same_masks, twin_project


@pytest.fixture
def twin(annotated, team):  # noqa: F811
    return twin_project(annotated.project, team.owner)


@pytest.mark.parametrize("mask_form", ["coco_rle", "uncompressed_rle", "polygons"])
def test_coco_round_trip(annotated, twin, team, api_client, mask_form):  # noqa: F811
    first = export_bytes(annotated.project, format="coco", mask_form=mask_form)
    job = run_import(api_client(team.owner), twin, first, format="coco", create_labels="true")
    assert job.status == "done", job.message
    assert job.result["created"] == {"images": 2, "objects": 4}
    assert sorted(job.result["labels_created"]) == ["cell", "nucleus"]
    assert job.result["invalid"] == [] and job.result["unmatched_images"] == []
    second = json.loads(export_bytes(twin, format="coco", mask_form="coco_rle"))
    # Polygons: what pycocotools rasterizes from our exporter's polygons is what comes back.
    same_masks(coco_masks(json.loads(first)), coco_masks(second))
    labels = {
        o.name: o.label.name if o.label else None
        for o in MaskObject.objects.filter(image__project=twin)
    }
    assert labels == {"ring": "cell", "pair": "nucleus", "edge": None, "": "cell"}


def test_seed_json_round_trip(annotated, twin, team, api_client):  # noqa: F811
    first = export_bytes(annotated.project, format="seed_json")
    job = run_import(api_client(team.owner), twin, first, format="seed_json", create_labels="true")
    assert job.status == "done", job.message
    assert job.result["created"]["objects"] == 4
    second = json.loads(export_bytes(twin, format="seed_json"))

    def masks(document):
        return {
            entry["file_name"]: sorted(
                (m["label"] or "", m["name"], m["mask"]["counts"]) for m in entry["final_masks"]
            )
            for entry in document["images"].values()
            if entry["final_masks"]
        }

    assert masks(second) == masks(json.loads(first))


def test_binary_mask_png_round_trip(annotated, twin, team, api_client):  # noqa: F811
    first = export_bytes(annotated.project, format="binary_mask")
    job = run_import(api_client(team.owner), twin, first, format="mask_png", create_labels="true")
    assert job.status == "done", job.message
    second = export_bytes(twin, format="binary_mask")

    def pictures(data: bytes) -> dict[str, list[np.ndarray]]:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            return {
                image["file_name"]: [
                    np.asarray(PILImage.open(io.BytesIO(archive.read(m["file"])))) > 0
                    for m in image["masks"]
                ]
                for image in manifest["images"]
                if image["masks"]
            }

    same_masks(pictures(first), pictures(second))


def studio_masks(data: bytes) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Each task's regions as (label, mask), decoded by Label Studio's own converter."""
    from label_studio_converter import brush as studio

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        tasks = json.loads(archive.read("tasks.json"))
    masks = {}
    for task in tasks:
        regions = []
        for annotation in task["annotations"]:
            for region in annotation["result"]:
                height, width = region["original_height"], region["original_width"]
                rgba = studio.decode_rle(region["value"]["rle"]).reshape(height, width, 4)
                regions.append((region["value"]["brushlabels"][0], rgba[:, :, 3] > 0))
        if regions:
            regions.sort(key=lambda pair: (pair[0], pair[1].tobytes()))
            masks[task["data"]["image"]] = regions
    return masks


def test_label_studio_round_trip(annotated, twin, team, api_client):  # noqa: F811
    first = export_bytes(annotated.project, format="label_studio")
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        tasks = archive.read("tasks.json")
    job = run_import(
        api_client(team.owner), twin, tasks, format="label_studio", create_labels="true"
    )
    assert job.status == "done", job.message
    assert job.result["created"] == {"images": 2, "objects": 4}
    assert job.result["invalid"] == [] and job.result["unmatched_images"] == []
    second = export_bytes(twin, format="label_studio")
    before, after = studio_masks(first), studio_masks(second)
    assert sorted(before) == sorted(after)
    for image, regions in before.items():
        assert [label for label, _ in regions] == [label for label, _ in after[image]]
        for (_, a), (_, b) in zip(regions, after[image], strict=True):
            assert np.array_equal(a, b), image
    labels = sorted(
        o.label.name if o.label else "" for o in MaskObject.objects.filter(image__project=twin)
    )
    assert labels == ["", "cell", "cell", "nucleus"]
