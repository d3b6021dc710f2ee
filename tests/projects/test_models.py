import pytest
from django.db import IntegrityError, transaction

from projects.models import (
    AutomaskRun,
    Image,
    ImageStatus,
    Job,
    Label,
    MaskObject,
    Membership,
    Prediction,
    Project,
    Role,
    Source,
)

pytestmark = pytest.mark.django_db


def test_project_names_are_unique():
    Project.objects.create(name="Cells")
    with pytest.raises(IntegrityError), transaction.atomic():
        Project.objects.create(name="Cells")


def test_a_user_has_one_membership_per_project(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(project=team.project, user=team.viewer, role=Role.OWNER)


def test_membership_role_must_be_known(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(project=team.other_project, user=team.viewer, role="king")


def test_label_names_are_unique_per_project_and_colours_are_hex(team):
    Label.objects.create(project=team.other_project, name="cell")
    Label.objects.create(project=team.project, name="cell")
    with pytest.raises(IntegrityError), transaction.atomic():
        Label.objects.create(project=team.project, name="cell")
    with pytest.raises(IntegrityError), transaction.atomic():
        Label.objects.create(project=team.project, name="nucleus", color="red")


def test_an_image_path_is_unique_within_a_source(pool):
    source, images = pool
    with pytest.raises(IntegrityError), transaction.atomic():
        Image.objects.create(project=source.project, source=source, path=images[0].path)
    other = Source.objects.create(project=source.project, kind=Source.Kind.FOLDER, name="disk")
    Image.objects.create(project=source.project, source=other, path=images[0].path)


def test_source_kind_must_be_known(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Source.objects.create(project=team.project, kind="ftp", name="old")


def test_status_follows_the_records_of_an_image(pool, team):
    image = pool[1][0]
    image.refresh_status()
    assert image.status == ImageStatus.UNPROCESSED

    Prediction.objects.create(image=image)
    image.refresh_status()
    assert (image.has_manual_prediction, image.status) == (True, ImageStatus.IN_PROGRESS)

    MaskObject.objects.create(image=image, mask={"size": [48, 64], "counts": "0"})
    AutomaskRun.objects.create(image=image)
    image.completed = True
    image.refresh_status()
    assert (image.has_manual_edit, image.has_automask) == (True, True)
    assert image.status == ImageStatus.COMPLETED

    image.completed = False
    image.predictions.all().delete()
    image.mask_objects.all().delete()
    image.automask_runs.all().delete()
    image.refresh_status()
    assert not (image.has_manual_prediction or image.has_manual_edit or image.has_automask)
    assert image.status == ImageStatus.UNPROCESSED


def test_a_stale_version_cannot_bump_the_image(pool):
    image = pool[1][0]
    first = Image.objects.get(pk=image.pk)
    second = Image.objects.get(pk=image.pk)
    assert first.bump_version(expected=0)
    assert first.version == 1
    assert not second.bump_version(expected=0)
    assert Image.objects.get(pk=image.pk).version == 1


def test_a_pool_job_keeps_one_automask_run_per_image(pool, team):
    image = pool[1][0]
    job = Job.objects.create(project=team.project, kind=Job.Kind.AUTOMASK_POOL)
    AutomaskRun.objects.create(image=image, job=job)
    with pytest.raises(IntegrityError), transaction.atomic():
        AutomaskRun.objects.create(image=image, job=job)
    # Runs outside a job (one image at a time) may repeat.
    AutomaskRun.objects.create(image=image)
    AutomaskRun.objects.create(image=image)


def test_cancel_is_requested_only_for_active_jobs(team):
    running = Job.objects.create(project=team.project, kind=Job.Kind.EXPORT, status="running")
    finished = Job.objects.create(project=team.project, kind=Job.Kind.EXPORT, status="done")
    assert running.request_cancel() and running.status == Job.Status.CANCELLING
    assert not finished.request_cancel() and finished.status == Job.Status.DONE


def test_deleting_a_project_deletes_its_pool_and_records(pool, team):
    image = pool[1][0]
    Prediction.objects.create(image=image)
    team.project.delete()
    assert not Image.objects.filter(pk=image.pk).exists()
    assert not Prediction.objects.exists()
