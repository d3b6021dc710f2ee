import pytest

from projects.encoding import mask_to_rle
from projects.models import EditStep, MaskObject
from tests.workflow.conftest import rect

pytestmark = pytest.mark.django_db


def nothing_written(image):
    assert not MaskObject.objects.filter(image=image).exists()
    assert not EditStep.objects.filter(image=image).exists()


@pytest.mark.parametrize(
    "mask, message",
    [
        ({"size": [10, 10], "counts": "00"}, "is 10x10 but the image is 64x48"),
        ({"size": [48, 64], "counts": [1, 2, 3]}, "do not add up"),
        ({"size": [48, 64], "counts": [-1, 3073]}, "non-negative"),
        ({"size": [48, 64], "counts": 17}, "string (compressed) or a list"),
        ({"size": [48, 64]}, "RLE object"),
        ({"size": "big", "counts": ""}, "[height, width]"),
        ("not a mask", "RLE object"),
    ],
)
def test_malformed_masks_are_refused_and_nothing_is_written(editor, mask, message):
    response = editor.client.post(
        f"/api/images/{editor.image.pk}/objects/",
        {"version": editor.version, "mask": mask},
        format="json",
    )
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    nothing_written(editor.image)


@pytest.mark.parametrize(
    "points",
    [[[0, 0], [1, 1]], [[0, "x"], [1, 1], [2, 2]], [[0, 0, 0], [1, 1, 1], [2, 2, 2]]],
)
def test_malformed_polygons_are_refused(editor, points):
    response = editor.client.post(
        f"/api/images/{editor.image.pk}/objects/",
        {"version": editor.version, "points": points},
        format="json",
    )
    assert response.status_code == 400
    nothing_written(editor.image)


def test_a_label_of_another_project_is_refused(editor, team):
    foreign = team.other_project.labels.first()
    response = editor.create(rect(0, 0, 5, 5), label_id=foreign.pk)
    assert response.status_code == 400
    assert f"no label {foreign.pk} in this project" in response.json()["error"]["message"]
    nothing_written(editor.image)


def test_a_candidate_index_out_of_range_is_refused(editor):
    from projects.models import Prediction

    prediction = Prediction.objects.create(
        image=editor.image, masks=[mask_to_rle(rect(0, 0, 2, 2))]
    )
    response = editor.post(f"/api/predictions/{prediction.pk}/choose/", index=3)
    assert response.status_code == 400
    assert "1 candidate masks" in response.json()["error"]["message"]
    nothing_written(editor.image)


def test_an_object_of_another_image_cannot_be_refined(editor, pool):
    from projects.models import Prediction

    other = MaskObject.objects.create(image=pool[1][1], mask=mask_to_rle(rect(0, 0, 2, 2)))
    prediction = Prediction.objects.create(
        image=editor.image, masks=[mask_to_rle(rect(0, 0, 2, 2))]
    )
    response = editor.post(f"/api/predictions/{prediction.pk}/choose/", index=0, object_id=other.pk)
    assert response.status_code == 400


def test_automask_results_of_another_image_cannot_be_promoted(editor, pool):
    from projects.models import AutomaskMask, AutomaskRun

    run = AutomaskRun.objects.create(image=pool[1][1])
    foreign = AutomaskMask.objects.create(
        run=run,
        segmentation=mask_to_rle(rect(0, 0, 2, 2)),
        area=4,
        bbox=[0, 0, 2, 2],
        predicted_iou=1,
        stability_score=1,
    )
    response = editor.post(f"/api/images/{editor.image.pk}/promote/", mask_ids=[foreign.pk])
    assert response.status_code == 400
    nothing_written(editor.image)


def test_a_write_without_a_version_is_refused(editor):
    response = editor.client.post(
        f"/api/images/{editor.image.pk}/objects/",
        {"mask": mask_to_rle(rect(0, 0, 2, 2))},
        format="json",
    )
    assert response.status_code == 400
    assert "version" in response.json()["error"]["fields"]


def test_drawing_on_an_image_never_read_asks_to_open_it_first(team, api_client):
    from projects.models import Image, Source

    source = Source.objects.create(project=team.project, kind="upload", name="new")
    image = Image.objects.create(project=team.project, source=source, path="unread.png")
    for body in ({"points": [[0, 0], [5, 0], [5, 5]]}, {"mask": {"size": [2, 2], "counts": "04"}}):
        response = api_client(team.annotator).post(
            f"/api/images/{image.pk}/objects/", {"version": 0, **body}, format="json"
        )
        assert response.status_code == 400
        assert "Open the image first" in response.json()["error"]["message"]
