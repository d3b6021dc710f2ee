"""Automask on one image or the pool: records per image, progress, cancel, and a resume that
skips finished images without duplicating anything."""

import numpy as np
import pytest

from inference.services import automask
from projects.encoding import rle_to_mask
from projects.models import AutomaskMask, AutomaskRun, ImageStatus, Job
from tests.inference.conftest import iou, micro_ref, use_model

# The pool job's chunk tasks run in the caller's thread, as the coordinator queues them.
pytestmark = pytest.mark.usefixtures("eager_tasks")

LOW_THRESHOLDS = {  # random weights: the default thresholds would drop every mask
    "points_per_side": 4,
    "points_per_batch": 16,
    "pred_iou_thresh": 0.0,
    "stability_score_thresh": 0.0,
    "box_nms_thresh": 0.9,
}


def test_pool_automask_saves_every_image_and_flags_it(drawn_pool, team, monkeypatch):
    images, drawings = drawn_pool
    events = []
    monkeypatch.setattr(
        "inference.services.automask.publish", lambda group, kind, data: events.append((kind, data))
    )
    job = automask.automask_start(project=team.project, user=team.annotator, params={})
    assert job.total == 3
    automask.automask_pool_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.done == 3
    for image, drawn in zip(images, drawings, strict=True):
        image.refresh_from_db()
        assert image.has_automask and image.status == ImageStatus.IN_PROGRESS
        run = AutomaskRun.objects.get(job=job, image=image)
        best = max(iou(rle_to_mask(m.segmentation), drawn.truth) for m in run.masks.all())
        assert best >= 0.9  # the classic backend finds the drawn object among its regions
    assert [data["image"] for kind, data in events if kind == "automask.image"] == [
        image.pk for image in images
    ]


def test_resume_after_a_worker_stopped_skips_finished_images(drawn_pool, team):
    images, _ = drawn_pool
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    # A worker finished the first image, then died with the job marked running.
    automask.automask_image_run(image=images[0], user=team.owner, params={}, job=job)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, done=1)
    first_run = AutomaskRun.objects.get(job=job, image=images[0])
    masks_before = AutomaskMask.objects.filter(run=first_run).count()

    automask.automask_pool_run(job_id=job.pk)
    automask.automask_pool_run(job_id=job.pk)  # a redelivered task changes nothing
    job.refresh_from_db()
    assert job.status == "done" and job.done == 3
    assert AutomaskRun.objects.filter(job=job).count() == 3
    assert AutomaskRun.objects.get(job=job, image=images[0]).pk == first_run.pk
    assert AutomaskMask.objects.filter(run=first_run).count() == masks_before


def test_cancel_stops_a_pool_job_and_resume_finishes_it(drawn_pool, team, api_client, monkeypatch):
    images, _ = drawn_pool
    client = api_client(team.owner)
    response = client.post(f"/api/projects/{team.project.pk}/automask/", {}, format="json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    original = automask.automask_image_run
    calls = []

    def cancel_after_first(**kwargs):
        run = original(**kwargs)
        calls.append(run)
        if len(calls) == 1:
            client.post(f"/api/automask/{job.pk}/cancel/")
        return run

    monkeypatch.setattr(automask, "automask_image_run", cancel_after_first)
    automask.automask_pool_run(job_id=job.pk)
    monkeypatch.setattr(automask, "automask_image_run", original)
    job.refresh_from_db()
    assert job.status == "cancelled" and job.done == 1
    assert AutomaskRun.objects.filter(job=job).count() == 1

    assert client.post(f"/api/automask/{job.pk}/resume/").status_code == 202
    automask.automask_pool_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done" and AutomaskRun.objects.filter(job=job).count() == 3


def test_sam2_automask_with_exposed_parameters(micro_checkpoint, drawn_pool, team, api_client):
    images, _ = drawn_pool
    use_model(team.project, micro_ref(micro_checkpoint))
    response = api_client(team.annotator).post(
        f"/api/images/{images[1].pk}/automask/", {"params": LOW_THRESHOLDS}, format="json"
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.total == 1 and job.params["automask"]["points_per_side"] == 4
    automask.automask_pool_run(job_id=job.pk)
    run = AutomaskRun.objects.get(job=job)
    assert run.image == images[1] and run.params == LOW_THRESHOLDS
    assert run.model["checkpoint"] == str(micro_checkpoint)
    masks = list(run.masks.all())
    assert masks
    for mask in masks:
        pixels = rle_to_mask(mask.segmentation)
        assert pixels.shape == (120, 160) and pixels.sum() == mask.area
        assert len(mask.bbox) == 4 and mask.crop_box == [0.0, 0.0, 160.0, 120.0]
        x, y = mask.point_coords[0]
        assert 0 <= x <= 160 and 0 <= y <= 120


@pytest.mark.parametrize(
    "params, phrase",
    [
        ({"points_per_side": 0}, "points_per_side"),
        ({"pred_iou_thresh": 1.5}, "pred_iou_thresh"),
        ({"crop_n_layers": 9}, "crop_n_layers"),
    ],
)
def test_bad_automask_parameters_are_refused(params, phrase, drawn_pool, team, api_client):
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/automask/", {"params": params}, format="json"
    )
    assert response.status_code == 400 and phrase in response.json()["error"]["message"]
    assert not Job.objects.exists()


def test_automask_of_images_from_another_project_is_refused(drawn_pool, team, api_client):
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/automask/", {"image_ids": [999999]}, format="json"
    )
    assert response.status_code == 400 and "Not images of this project" in str(response.json())


def test_unreadable_image_is_reported_and_the_rest_done(drawn_pool, team, settings):
    images, _ = drawn_pool
    (settings.ANNOTATOR_UPLOAD_DIR / images[0].path).unlink()
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    automask.automask_pool_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done" and "1 image(s) could not be read" in job.message
    assert "photo0.png" in job.result["failed"][0]
    assert AutomaskRun.objects.filter(job=job).count() == 2
    assert np.all([not AutomaskRun.objects.filter(image=images[0]).exists()])


def test_worker_start_queues_again_the_jobs_it_lost(drawn_pool, team):
    """The embedded worker's queue lives in memory: on start it queues interrupted jobs."""
    from annotator.celery import app as celery_app

    images, _ = drawn_pool
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    automask.automask_image_run(image=images[0], user=team.owner, params={}, job=job)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, done=1)
    celery_app.conf.task_always_eager = True
    try:
        assert automask.automask_jobs_resume_interrupted() == [job.pk]
    finally:
        celery_app.conf.task_always_eager = False
    job.refresh_from_db()
    assert job.status == "done" and AutomaskRun.objects.filter(job=job).count() == 3
