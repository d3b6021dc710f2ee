import numpy as np
import pytest

from projects.encoding import mask_to_rle, rle_to_mask
from projects.models import EditHistory, Image, MaskObject, Prediction
from tests.workflow.conftest import rect, uncompressed

pytestmark = pytest.mark.django_db


def test_opening_an_image_returns_what_the_editor_needs(pool, team, api_client):
    image = pool[1][1]
    opened = api_client(team.viewer).post(f"/api/images/{image.pk}/open/").json()
    assert (opened["image"]["width"], opened["image"]["height"]) == (64, 48)
    assert len(opened["image"]["key"]) == 64
    assert (opened["position"], opened["total"]) == (2, 3)
    assert opened["records"] == {"predictions": [], "automask_runs": [], "objects": []}
    assert Image.objects.get(pk=image.pk).opened_at is not None


def test_opening_a_vanished_image_flags_it_and_says_why(pool, team, api_client, settings):
    image = pool[1][2]
    (settings.ANNOTATOR_UPLOAD_DIR / image.path).unlink()
    response = api_client(team.viewer).post(f"/api/images/{image.pk}/open/")
    assert response.status_code == 409
    assert "gone" in response.json()["error"]["message"]
    image.refresh_from_db()
    assert not image.available and "gone" in image.unavailable_reason


def test_a_drawn_object_is_saved_with_its_label_and_marks_a_manual_edit(editor, team):
    label = team.project.labels.first()
    response = editor.create(rect(5, 5, 20, 15), label_id=label.pk, name="cell 1")
    assert response.status_code == 201
    body = response.json()
    assert body["object"]["label_name"] == "object"
    assert body["image"]["has_manual_edit"] and body["image"]["status"] == "in_progress"
    stored = MaskObject.objects.get(pk=body["object"]["id"])
    assert np.array_equal(rle_to_mask(stored.mask), rect(5, 5, 20, 15))
    assert EditHistory.objects.filter(user=team.annotator, image=editor.image).exists()


def test_uncompressed_rle_from_a_browser_is_accepted(editor):
    mask = rect(3, 7, 11, 40)
    response = editor.client.post(
        f"/api/images/{editor.image.pk}/objects/",
        {"version": editor.version, "mask": uncompressed(mask)},
        format="json",
    )
    assert response.status_code == 201, response.content
    stored = MaskObject.objects.get(pk=response.json()["object"]["id"])
    assert np.array_equal(rle_to_mask(stored.mask), mask)


def test_brush_adds_and_eraser_removes_pixels(editor):
    object_id = editor.create(rect(0, 0, 10, 10)).json()["object"]["id"]
    editor.patch(object_id, op="brush", region=mask_to_rle(rect(10, 0, 20, 10)))
    editor.patch(object_id, op="eraser", region=mask_to_rle(rect(0, 0, 5, 10)))
    stored = rle_to_mask(MaskObject.objects.get(pk=object_id).mask)
    assert np.array_equal(stored, rect(5, 0, 20, 10))


def test_polygon_fill_adds_the_polygon(editor):
    response = editor.client.post(
        f"/api/images/{editor.image.pk}/objects/",
        {"version": editor.version, "points": [[10, 10], [30, 10], [30, 30], [10, 30]]},
        format="json",
    )
    mask = rle_to_mask(MaskObject.objects.get(pk=response.json()["object"]["id"]).mask)
    assert mask[20, 20] and not mask[5, 5]
    assert 400 <= mask.sum() <= 441


def test_deleting_the_last_object_clears_the_manual_edit_flag(editor):
    object_id = editor.create(rect(0, 0, 10, 10)).json()["object"]["id"]
    response = editor.client.delete(
        f"/api/objects/{object_id}/", {"version": editor.version}, format="json"
    )
    assert response.status_code == 200
    assert not response.json()["image"]["has_manual_edit"]
    assert response.json()["image"]["status"] == "unprocessed"


def test_choosing_a_candidate_keeps_it_as_an_object(editor, team):
    candidates = [mask_to_rle(rect(0, 0, 8, 8)), mask_to_rle(rect(0, 0, 16, 16))]
    prediction = Prediction.objects.create(
        image=editor.image, created_by=team.annotator, masks=candidates, scores=[0.5, 0.9]
    )
    response = editor.post(f"/api/predictions/{prediction.pk}/choose/", index=1)
    assert response.status_code == 200, response.content
    obj = MaskObject.objects.get(pk=response.json()["object"]["id"])
    assert obj.origin == "prediction" and obj.prediction_id == prediction.pk
    assert rle_to_mask(obj.mask).sum() == 256
    prediction.refresh_from_db()
    assert prediction.chosen_index == 1 and prediction.final_mask == candidates[1]


def test_choosing_a_candidate_can_refine_an_existing_object(editor, team):
    object_id = editor.create(rect(0, 0, 4, 4)).json()["object"]["id"]
    prediction = Prediction.objects.create(
        image=editor.image, masks=[mask_to_rle(rect(0, 0, 30, 30))], scores=[0.8]
    )
    editor.post(f"/api/predictions/{prediction.pk}/choose/", index=0, object_id=object_id)
    assert MaskObject.objects.filter(image=editor.image).count() == 1
    assert rle_to_mask(MaskObject.objects.get(pk=object_id).mask).sum() == 900


def test_automask_results_promote_one_by_one_or_all_at_once(editor, team):
    from projects.models import AutomaskMask, AutomaskRun

    run = AutomaskRun.objects.create(image=editor.image)
    masks = [
        AutomaskMask.objects.create(
            run=run,
            segmentation=mask_to_rle(rect(i * 10, 0, i * 10 + 5, 5)),
            area=25,
            bbox=[i * 10, 0, 5, 5],
            predicted_iou=0.9,
            stability_score=0.9,
        )
        for i in range(3)
    ]
    one = editor.post(f"/api/images/{editor.image.pk}/promote/", mask_ids=[masks[0].pk])
    assert [o["automask"] for o in one.json()["objects"]] == [masks[0].pk]
    rest = editor.post(f"/api/images/{editor.image.pk}/promote/", run_id=run.pk)
    assert len(rest.json()["objects"]) == 3
    assert MaskObject.objects.filter(image=editor.image, origin="automask").count() == 4


def test_other_members_hear_of_every_change(editor, django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"project.{editor.image.project_id}", channel)
    with django_capture_on_commit_callbacks(execute=True):
        editor.create(rect(0, 0, 4, 4))
    event = async_to_sync(layer.receive)(channel)["event"]
    assert event["type"] == "image.changed"
    assert event["data"] == {
        "image_id": editor.image.pk,
        "version": editor.version,
        "status": "in_progress",
        "review_state": "",
        "by": "anna",
    }
