"""Importing annotations: every format, both modes, matching, labels, undo, the report."""

import json

import numpy as np
import pytest
from django.urls import reverse
from pycocotools import mask as mask_utils

from projects.encoding import mask_to_rle, rle_to_mask
from projects.exports.masks import uncompressed_rle
from projects.models import (
    ActivityEvent,
    AutomaskMask,
    AutomaskRun,
    EditStep,
    Image,
    Label,
    MaskObject,
)
from projects.workflow.services import automask_promote, edit_undo
from tests.imports.helpers import (
    coco_document,
    png_bytes,
    run_import,
    upload,
    zip_bytes,
)

SQUARE = [[4.0, 4.0, 20.0, 4.0, 20.0, 14.0, 4.0, 14.0]]


def square_mask(h=48, w=64) -> np.ndarray:
    mask = np.zeros((h, w), dtype=bool)
    mask[4:14, 4:20] = True
    return mask


@pytest.fixture
def owner(team, api_client):
    return api_client(team.owner)


def test_coco_objects_with_labels_undo_and_versions(team, pool, owner):
    _, images = pool
    Label.objects.create(project=team.project, name="Cell", color="#00ff00")
    annotations = [
        {"id": 1, "image_id": images[0].pk, "category_id": 1, "segmentation": SQUARE},
        {
            "id": 2,
            "image_id": images[0].pk,
            "category_id": 2,
            "segmentation": mask_to_rle(square_mask()),
            "attributes": {"name": "second"},
        },
        {
            "id": 3,
            "image_id": images[1].pk,
            "category_id": 1,
            "iscrowd": 1,
            "segmentation": uncompressed_rle(mask_to_rle(square_mask())),
        },
    ]
    versions = {i.pk: i.version for i in images}
    job = run_import(owner, team.project, coco_document(images, annotations), format="coco")
    assert job.status == "done", job.message
    assert job.result["created"] == {"images": 2, "objects": 3}
    # "cell" matches the label "Cell"; "nucleus" has no label and none was to be made.
    assert job.result["unmatched_labels"] == [{"name": "nucleus", "annotations": 1}]
    assert job.result["labels_created"] == [] and job.result["crowd"] == 1
    first = MaskObject.objects.filter(image=images[0]).order_by("id")
    assert [o.label.name if o.label else None for o in first] == ["Cell", None]
    assert first[1].name == "second" and first[0].origin == MaskObject.Origin.MANUAL
    expected = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(SQUARE, 48, 64)))
    assert (rle_to_mask(first[0].mask) == expected.astype(bool)).all()
    assert MaskObject.objects.get(image=images[1]).name == "crowd"
    for image in images[:2]:
        image.refresh_from_db()
        assert image.version == versions[image.pk] + 1 and image.status == "in_progress"
        assert EditStep.objects.filter(image=image).values("batch").distinct().count() == 1
    images[2].refresh_from_db()
    assert images[2].version == versions[images[2].pk]
    # The activity log says who imported what onto which image, in the import's transaction.
    rows = ActivityEvent.objects.filter(action="objects.imported").order_by("image_id")
    assert [(r.image_id, r.user, r.data["count"], r.data["job"]) for r in rows] == [
        (images[0].pk, team.owner, 2, job.pk),
        (images[1].pk, team.owner, 1, job.pk),
    ]
    # Undo in the editor takes the image's imported objects away together.
    edit_undo(image=images[0], user=team.owner, version=images[0].version)
    assert not MaskObject.objects.filter(image=images[0]).exists()
    assert MaskObject.objects.filter(image=images[1]).count() == 1


def test_coco_creates_labels_on_request(team, pool, owner):
    _, images = pool
    annotations = [{"id": 1, "image_id": images[0].pk, "category_id": 2, "segmentation": SQUARE}]
    job = run_import(
        owner, team.project, coco_document(images, annotations), format="coco", create_labels="true"
    )
    assert job.result["labels_created"] == ["nucleus"]
    label = MaskObject.objects.get(image=images[0]).label
    assert label.name == "nucleus" and label.color.startswith("#")


def test_predictions_mode_makes_an_automask_run_to_promote(team, pool, owner):
    _, images = pool
    annotations = [
        {"id": 1, "image_id": images[0].pk, "category_id": 1, "segmentation": SQUARE, "score": 0.7},
        {
            "id": 2,
            "image_id": images[0].pk,
            "category_id": 1,
            "segmentation": [[30, 30, 40, 30, 40, 40]],
        },
    ]
    job = run_import(
        owner, team.project, coco_document(images, annotations), format="coco", mode="predictions"
    )
    assert job.status == "done", job.message
    assert job.result["created"] == {"images": 1, "masks": 2}
    run = AutomaskRun.objects.get(image=images[0])
    assert run.model["name"] == "import" and run.job_id == job.pk
    masks = list(run.masks.order_by("id"))
    assert [m.predicted_iou for m in masks] == [0.7, 1.0]
    assert masks[0].area == 160 and masks[0].bbox == [4.0, 4.0, 16.0, 10.0]
    assert not MaskObject.objects.filter(image=images[0]).exists()
    image = Image.objects.get(pk=images[0].pk)
    assert image.has_automask and image.version == 1
    # The editor's review: promote the imported masks into objects.
    objects = automask_promote(
        image=image, user=team.annotator, version=image.version, masks=masks[:1], label_id=None
    )
    assert rle_to_mask(objects[0].mask).sum() == 160


def test_report_lists_unmatched_images_and_invalid_annotations(team, pool, owner):
    _, images = pool
    document = json.loads(coco_document(images, []))
    document["images"].append({"id": 99, "file_name": "elsewhere.png", "width": 64, "height": 48})
    document["images"].append({"id": 98, "file_name": "img2.png", "width": 640, "height": 480})
    wrong_size = mask_to_rle(np.ones((10, 10), dtype=bool))
    document["annotations"] = [
        {
            "id": 1,
            "image_id": images[0].pk,
            "category_id": 1,
            "segmentation": [[0, 0, 100, 0, 100, 10]],
        },
        {
            "id": 2,
            "image_id": images[0].pk,
            "category_id": 1,
            "segmentation": {"size": [48, 64], "counts": "!!"},
        },
        {
            "id": 3,
            "image_id": images[0].pk,
            "category_id": 1,
            "segmentation": {"size": [48, 64], "counts": [5, 5]},
        },
        {"id": 4, "image_id": images[0].pk, "category_id": 1, "segmentation": wrong_size},
        {"id": 5, "image_id": images[0].pk, "category_id": 7, "segmentation": SQUARE},
        {"id": 6, "image_id": 99, "category_id": 1, "segmentation": SQUARE},
        {"id": 7, "image_id": 98, "category_id": 1, "segmentation": SQUARE},
        {"id": 8, "image_id": images[1].pk, "category_id": 1, "bbox": [1, 2, 3, 4]},
        {"id": 9, "image_id": images[1].pk, "category_id": 1, "segmentation": SQUARE},
    ]
    job = run_import(owner, team.project, json.dumps(document).encode(), format="coco")
    assert job.status == "done", job.message
    assert job.result["created"] == {"images": 1, "objects": 1}
    assert job.result["unmatched_images"] == [
        {"name": "elsewhere.png", "annotations": 1, "reason": "No image of the pool has this name."}
    ]
    reasons = {entry["annotation"]: entry["reason"] for entry in job.result["invalid"]}
    assert "outside the image" in reasons["annotation 1"]
    assert "characters" in reasons["annotation 2"]
    assert "covers 10 pixels" in reasons["annotation 3"]
    assert "10x10" in reasons["annotation 4"]
    assert "category_id 7" in reasons["annotation 5"]
    assert "640x480" in reasons["annotation 7"]
    assert "no segmentation" in reasons["annotation 8"]
    assert job.result["invalid_count"] == 7
    assert "1 images not in the pool, 7 annotations refused" in job.message


def test_nothing_to_import_fails_the_job_with_the_report(team, pool, owner):
    _, images = pool
    annotations = [{"id": 1, "image_id": images[0].pk, "segmentation": [[0, 0, 1000, 0, 5, 5]]}]
    job = run_import(owner, team.project, coco_document(images, annotations), format="coco")
    assert job.status == "failed"
    assert job.message.startswith("Nothing was imported.") and job.result["invalid_count"] == 1


def test_images_are_matched_by_path_and_file_name(team, pool, owner):
    source, images = pool
    images[1].path = f"{team.project.pk}/cbf7abb91c1fcdef/img0.png"  # two uploads of img0.png
    images[1].save()
    document = json.loads(coco_document(images, []))
    document["images"] = [
        {"id": 1, "file_name": "cbf7abb91c1fcdef/img0.png", "width": 64, "height": 48},
        {"id": 2, "file_name": "img0.png", "width": 64, "height": 48},
        {"id": 3, "file_name": "train/images/img2.png", "width": 64, "height": 48},
    ]
    document["annotations"] = [
        {"id": i, "image_id": i, "category_id": 1, "segmentation": SQUARE} for i in (1, 2, 3)
    ]
    job = run_import(owner, team.project, json.dumps(document).encode(), format="coco")
    assert MaskObject.objects.filter(image=images[1]).count() == 1
    assert MaskObject.objects.filter(image=images[2]).count() == 1
    # The plain name matches two uploads: refused, not guessed.
    assert (
        job.result["unmatched_images"][0]["reason"] == "2 images of the pool are named 'img0.png'."
    )


def test_yolo_seg_zip(team, pool, owner):
    _, images = pool
    data = zip_bytes(
        {
            "data.yaml": "names:\n  0: cell\n  1: nucleus\n",
            "labels/train/img0.txt": "0 0.0625 0.0833 0.3125 0.0833 0.3125 0.2917 0.0625 0.2917\n\n"
            "1 0.5 0.5 0.7 0.5 0.7 0.9 0.8\n",
            "labels/train/img1.txt": "5 0.1 0.1 0.2 0.1 0.2 0.2\n0 0.1 0.1 0.2\n",
            "labels/val/unknown.txt": "0 0.1 0.1 0.2 0.1 0.2 0.2\n",
        }
    )
    job = run_import(owner, team.project, data, format="yolo_seg", create_labels="true")
    assert job.status == "done", job.message
    objects = list(MaskObject.objects.filter(image=images[0]).order_by("id"))
    assert [o.label.name for o in objects] == ["cell", "nucleus"]
    expected = mask_utils.decode(
        mask_utils.merge(
            mask_utils.frPyObjects([[4.0, 4.0, 20.0, 4.0, 20.0, 14.0, 4.0, 14.0]], 48, 64)
        )
    )
    assert (rle_to_mask(objects[0].mask) == expected.astype(bool)).all()
    reasons = [entry["reason"] for entry in job.result["invalid"]]
    assert "Class 5 is not in data.yaml's names." in reasons
    assert "A polygon needs at least 3 points, each an x and a y." in reasons
    assert job.result["unmatched_images"][0]["name"] == "labels/val/unknown.txt"


def test_yolo_confidences_become_scores_of_predictions(team, pool, owner):
    data = zip_bytes(
        {"data.yaml": "names: [cell]\n", "img0.txt": "0 0.1 0.1 0.5 0.1 0.5 0.5 0.25\n"}
    )
    job = run_import(owner, team.project, data, format="yolo_seg", mode="predictions")
    assert job.status == "done", job.message
    assert AutomaskMask.objects.get().predicted_iou == 0.25


def test_mask_pngs_one_per_object(team, pool, owner):
    _, images = pool
    mask = square_mask().astype(np.uint8) * 255
    data = zip_bytes(
        {
            "img0_1.png": png_bytes(mask),
            "img0_2.png": png_bytes(np.roll(mask, 20, axis=1)),
            "img1/1.png": png_bytes(mask),
            "img2_1.png": png_bytes(np.zeros((10, 10), dtype=np.uint8)),
            "img1_3.png": b"not a png",
        }
    )
    job = run_import(owner, team.project, data, format="mask_png")
    assert job.status == "done", job.message
    assert MaskObject.objects.filter(image=images[0]).count() == 2
    assert MaskObject.objects.filter(image=images[1]).count() == 1
    assert (rle_to_mask(MaskObject.objects.get(image=images[1]).mask) == square_mask()).all()
    reasons = {entry["annotation"]: entry["reason"] for entry in job.result["invalid"]}
    assert "10x10" in reasons["img2_1.png"] and "not a PNG" in reasons["img1_3.png"]


def test_label_maps_with_an_index_table(team, pool, owner):
    _, images = pool
    label_map = np.zeros((48, 64), dtype=np.uint8)
    label_map[4:14, 4:20] = 1
    label_map[30:40, 30:40] = 2
    data = zip_bytes(
        {
            "classes.json": json.dumps(["background", "cell", "nucleus", "absent"]),
            "maps/img0.png": png_bytes(label_map),
        }
    )
    job = run_import(owner, team.project, data, format="mask_png", create_labels="true")
    assert job.status == "done", job.message
    objects = {
        o.label.name: rle_to_mask(o.mask) for o in MaskObject.objects.filter(image=images[0])
    }
    assert sorted(objects) == ["cell", "nucleus"] and job.result["invalid"] == []
    assert (objects["cell"] == (label_map == 1)).all()


def test_label_maps_with_a_colour_table(team, pool, owner):
    _, images = pool
    picture = np.zeros((48, 64, 3), dtype=np.uint8)
    picture[4:14, 4:20] = (0, 255, 0)
    data = zip_bytes(
        {
            "labelmap.txt": "# label:color_rgb:parts:actions\nbackground:0,0,0::\ncell:0,255,0::\n",
            "SegmentationClass/img1.png": png_bytes(picture),
        }
    )
    job = run_import(owner, team.project, data, format="mask_png", create_labels="true")
    assert job.status == "done", job.message
    assert (rle_to_mask(MaskObject.objects.get(image=images[1]).mask) == square_mask()).all()


def test_label_studio_polygons_and_brushes(team, pool, owner):
    _, images = pool
    task = {
        "id": 7,
        "data": {"image": "/data/upload/3/5a3b2c1d-img0.png"},
        "annotations": [
            {"was_cancelled": True, "result": []},
            {
                "result": [
                    {
                        "type": "polygonlabels",
                        "original_width": 64,
                        "original_height": 48,
                        "value": {
                            "points": [
                                [6.25, 8.3333],
                                [31.25, 8.3333],
                                [31.25, 29.1667],
                                [6.25, 29.1667],
                            ],
                            "polygonlabels": ["cell"],
                        },
                    },
                    {
                        "type": "brushlabels",
                        "value": {"format": "rle", "rle": [1, 2], "brushlabels": ["cell"]},
                    },
                    {"type": "rectanglelabels", "value": {"x": 1, "y": 1, "width": 2, "height": 2}},
                ]
            },
        ],
    }
    job = run_import(owner, team.project, json.dumps([task]).encode(), format="label_studio")
    assert job.status == "done", job.message
    obj = MaskObject.objects.get(image=images[0])
    assert (rle_to_mask(obj.mask) == square_mask()).all()
    reasons = [entry["reason"] for entry in job.result["invalid"]]
    assert "The brush RLE is too short to hold its header." in reasons
    assert "A 'rectanglelabels' result is not a mask." in reasons


def test_seed_json_matches_by_image_hash(team, pool, owner):
    _, images = pool
    images[2].key = "ab" * 32
    images[2].save()
    document = {
        "images": {
            "ab" * 32: {
                "file_name": "renamed.png",
                "width": 64,
                "height": 48,
                "final_masks": [{"label": None, "name": "x", "mask": mask_to_rle(square_mask())}],
            }
        }
    }
    job = run_import(owner, team.project, json.dumps(document).encode(), format="seed_json")
    assert job.status == "done", job.message
    assert MaskObject.objects.get(image=images[2]).name == "x"


def test_the_import_runs_as_a_job_on_commit(
    team, pool, owner, eager_tasks, django_capture_on_commit_callbacks
):
    _, images = pool
    annotations = [{"id": 1, "image_id": images[0].pk, "category_id": 1, "segmentation": SQUARE}]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(owner, team.project, coco_document(images, annotations), format="coco")
    assert response.status_code == 202
    job = response.json()["job"]
    assert job["kind"] == "import" and job["params"]["format"] == "coco"
    answer = owner.get(reverse("api:api-job", kwargs={"job_id": job["id"]})).json()
    assert answer["status"] == "done", answer["message"]
    assert answer["result"]["per_image"][0]["image_id"] == images[0].pk
    assert MaskObject.objects.filter(image=images[0]).count() == 1


def test_editors_hear_of_each_imported_image(team, pool, owner, django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    _, images = pool
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"project.{team.project.pk}", channel)
    annotations = [
        {"id": n, "image_id": image.pk, "category_id": 1, "segmentation": SQUARE}
        for n, image in enumerate(images[:2], start=1)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        job = run_import(owner, team.project, coco_document(images, annotations), format="coco")
    assert job.status == "done", job.message
    events = []
    while len(events) < 2:
        event = async_to_sync(layer.receive)(channel)["event"]
        if event["type"] == "image.changed":
            events.append(event["data"])
    assert events == [
        {"image_id": image.pk, "version": 1, "status": "in_progress", "by": "olive"}
        for image in images[:2]
    ]
