"""Export the hard pool, import the file into a new project, export that: the same masks pixel
for pixel, classes included, for every format that carries masks exactly."""

import json

import pytest
from pycocotools.coco import COCO

from tests.imports.helpers import export_bytes, run_import, twin_project
from tests.interop.conftest import same

ROUND_TRIPS = {
    "coco-rle": ({"format": "coco", "mask_form": "coco_rle"}, "coco"),
    "coco-uncompressed-rle": ({"format": "coco", "mask_form": "uncompressed_rle"}, "coco"),
    "coco-polygons": ({"format": "coco", "mask_form": "polygons"}, "coco"),
    "seed-json": ({"format": "seed_json"}, "seed_json"),
    "mask-pngs": ({"format": "binary_mask"}, "mask_png"),
}


def read_coco(data: bytes, folder) -> dict:
    path = folder / "second.json"
    path.write_bytes(data)
    coco = COCO(str(path))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    assert json.loads(data)["images"], "the second export holds no image"
    return {
        image["file_name"]: [
            (names[a["category_id"]], coco.annToMask(a))
            for a in coco.loadAnns(coco.getAnnIds(imgIds=image["id"]))
        ]
        for image in coco.loadImgs(coco.getImgIds())
    }


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=list(ROUND_TRIPS))
def test_export_import_export_gives_the_same_masks(scene, team, api_client, tmp_path, case):
    options, import_format = ROUND_TRIPS[case]
    twin = twin_project(scene.project, team.owner)
    first = export_bytes(scene.project, **options)
    job = run_import(
        api_client(team.owner), twin, first, format=import_format, create_labels="true"
    )
    assert job.status == "done", job.message
    assert job.result["invalid"] == [] and job.result["unmatched_images"] == [], job.result
    made = sum(len(rows) for rows in scene.expected.values())
    assert job.result["created"]["objects"] == made, job.result
    same(scene.expected, read_coco(export_bytes(twin, format="coco"), tmp_path))
