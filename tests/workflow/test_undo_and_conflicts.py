import numpy as np
import pytest

from projects.encoding import mask_to_rle, rle_to_mask
from projects.models import EditStep, MaskObject
from tests.workflow.conftest import rect

pytestmark = pytest.mark.django_db


def masks_of(image) -> list[int]:
    return sorted(int(rle_to_mask(o.mask).sum()) for o in MaskObject.objects.filter(image=image))


def test_undo_and_redo_walk_back_and_forth_through_my_steps(editor):
    object_id = editor.create(rect(0, 0, 10, 10)).json()["object"]["id"]
    editor.patch(object_id, op="brush", region=mask_to_rle(rect(10, 0, 20, 10)))
    assert masks_of(editor.image) == [200]

    undo = editor.post(f"/api/images/{editor.image.pk}/undo/")
    assert undo.json()["can_redo"] and masks_of(editor.image) == [100]
    editor.post(f"/api/images/{editor.image.pk}/undo/")
    assert masks_of(editor.image) == []
    nothing = editor.post(f"/api/images/{editor.image.pk}/undo/")
    assert nothing.status_code == 400 and "Nothing to undo" in nothing.json()["error"]["message"]

    editor.post(f"/api/images/{editor.image.pk}/redo/")
    redo = editor.post(f"/api/images/{editor.image.pk}/redo/")
    assert masks_of(editor.image) == [200]
    assert not redo.json()["can_redo"]
    # The object came back under its own id, so references to it still hold.
    assert MaskObject.objects.get(pk=object_id)


def test_undo_survives_a_reload(editor, team, api_client):
    editor.create(rect(0, 0, 10, 10))
    reopened = api_client(team.annotator).post(f"/api/images/{editor.image.pk}/open/").json()
    assert reopened["can_undo"] and not reopened["can_redo"]


def test_a_new_step_drops_what_could_be_redone(editor):
    editor.create(rect(0, 0, 10, 10))
    editor.post(f"/api/images/{editor.image.pk}/undo/")
    editor.create(rect(0, 0, 5, 5))
    redo = editor.post(f"/api/images/{editor.image.pk}/redo/")
    assert redo.status_code == 400


def test_promote_all_is_undone_as_one_step(editor):
    from projects.models import AutomaskMask, AutomaskRun

    run = AutomaskRun.objects.create(image=editor.image)
    for i in range(3):
        AutomaskMask.objects.create(
            run=run,
            segmentation=mask_to_rle(rect(i * 10, 0, i * 10 + 5, 5)),
            area=25,
            bbox=[0, 0, 5, 5],
            predicted_iou=1,
            stability_score=1,
        )
    editor.post(f"/api/images/{editor.image.pk}/promote/", run_id=run.pk)
    assert len(masks_of(editor.image)) == 3
    editor.post(f"/api/images/{editor.image.pk}/undo/")
    assert masks_of(editor.image) == []


def test_undo_never_overwrites_another_members_later_change(editor, team, api_client):
    object_id = editor.create(rect(0, 0, 10, 10)).json()["object"]["id"]
    owner = api_client(team.owner)
    owner.patch(
        f"/api/objects/{object_id}/",
        {"version": editor.version, "op": "brush", "region": mask_to_rle(rect(30, 30, 40, 40))},
        format="json",
    )
    version = editor.image.__class__.objects.get(pk=editor.image.pk).version
    response = editor.client.post(
        f"/api/images/{editor.image.pk}/undo/", {"version": version}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "undo_conflict"
    assert masks_of(editor.image) == [200]


def test_a_stale_write_is_refused_with_the_current_state(editor, team, api_client):
    seen = editor.version
    editor.create(rect(0, 0, 10, 10))  # someone (here: the same editor) moved the image on
    other = api_client(team.owner)
    response = other.post(
        f"/api/images/{editor.image.pk}/objects/",
        {"version": seen, "mask": mask_to_rle(rect(20, 20, 30, 30))},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "stale_version"
    assert "Reload" in body["error"]["message"]
    assert body["current"]["image"]["version"] == editor.version
    assert len(body["current"]["records"]["objects"]) == 1
    assert masks_of(editor.image) == [100]  # nothing written


def test_two_members_writing_on_the_same_version_cannot_both_win(editor, team, api_client):
    seen = editor.version
    first = api_client(team.owner).post(
        f"/api/images/{editor.image.pk}/objects/",
        {"version": seen, "mask": mask_to_rle(rect(0, 0, 4, 4))},
        format="json",
    )
    second = api_client(team.annotator).post(
        f"/api/images/{editor.image.pk}/objects/",
        {"version": seen, "mask": mask_to_rle(rect(0, 0, 8, 8))},
        format="json",
    )
    assert (first.status_code, second.status_code) == (201, 409)
    assert masks_of(editor.image) == [16]


def test_completion_does_not_make_editors_stale(editor, team, api_client):
    api_client(team.owner).post(f"/api/images/{editor.image.pk}/complete/", {}, format="json")
    response = editor.create(rect(0, 0, 3, 3))
    assert response.status_code == 201
    assert response.json()["image"]["status"] == "completed"


def test_undo_depth_is_bounded(editor, settings):
    from projects.workflow import services

    object_id = editor.create(rect(0, 0, 2, 2)).json()["object"]["id"]
    for _ in range(services.UNDO_DEPTH + 5):
        editor.patch(object_id, op="brush", region=mask_to_rle(rect(0, 0, 3, 3)))
    assert EditStep.objects.filter(image=editor.image).count() == services.UNDO_DEPTH
    assert np.array_equal(rle_to_mask(MaskObject.objects.get(pk=object_id).mask), rect(0, 0, 3, 3))
