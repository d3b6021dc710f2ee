"""The export and archive endpoints as a client uses them."""

import csv
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from pycocotools.coco import COCO

from projects.exports.services import export_run
from projects.jobs import JobProgress
from projects.models import Image, Job, MaskObject, Membership, Project, Role, Source


def start(client, project, **data):
    return client.post(
        reverse("api:export-start", kwargs={"project_id": project.pk}), data, format="json"
    )


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_pool_export_runs_as_a_job_and_downloads(
    annotated, team, api_client, eager_tasks, django_capture_on_commit_callbacks, tmp_path
):
    client = api_client(team.annotator)
    with django_capture_on_commit_callbacks(execute=True):
        response = start(client, annotated.project, format="coco", mask_form="polygons")
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]["id"]
    status = client.get(reverse("api:export-job", kwargs={"job_id": job_id})).json()
    assert status["job"]["status"] == "done", status
    assert status["job"]["done"] == status["job"]["total"] == 3
    assert status["job"]["result"]["masks"] == 4
    download = client.get(status["download_url"])
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    path = tmp_path / "coco.json"
    path.write_bytes(body(download))
    coco = COCO(str(path))
    assert len(coco.getAnnIds()) == 4


def test_one_image_is_answered_at_once(annotated, team, api_client):
    image = annotated.images[0]
    response = start(
        api_client(team.viewer),
        annotated.project,
        scope="image",
        image_id=image.pk,
        format="binary_mask",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert [entry["image_id"] for entry in manifest["images"]] == [image.pk]
    assert len(manifest["images"][0]["masks"]) == 3


def test_export_choices_are_kept_in_the_project_state(annotated, team, api_client):
    client = api_client(team.annotator)
    image = annotated.images[1]
    start(
        client,
        annotated.project,
        scope="image",
        image_id=image.pk,
        format="csv",
        mask_form="uncompressed_rle",
        records=["objects", "predictions"],
    )
    state = client.get(reverse("api:api-state", kwargs={"project_id": annotated.project.pk}))
    settings = state.json()["export_settings"]
    assert settings["choices"]["format"] == "csv"
    assert settings["choices"]["mask_form"] == "uncompressed_rle"
    assert settings["last_export"]["params"]["scope"] == {
        "kind": "image",
        "image_id": image.pk,
        "completed_only": False,
        "source_id": None,
        "status": None,
    }
    assert settings["last_export"]["by"] == "anna"
    again = start(client, annotated.project, scope="image", image_id=image.pk)
    rows = again.content.decode().splitlines()
    assert rows[0].startswith("image_id,") and len(rows) == 1 + 2  # an object, a prediction


def test_a_viewer_exports_without_changing_the_project_state(annotated, team, api_client):
    before = Project.objects.get(pk=annotated.project.pk).export_settings
    response = start(
        api_client(team.viewer), annotated.project, scope="image", image_id=annotated.images[0].pk
    )
    assert response.status_code == 200
    assert Project.objects.get(pk=annotated.project.pk).export_settings == before


def test_bad_choices_get_a_clear_error(annotated, team, api_client):
    client = api_client(team.owner)
    response = start(client, annotated.project, format="tiff")
    assert response.status_code == 400
    assert "format" in response.json()["error"]["fields"]
    response = start(client, annotated.project, format="csv", mask_form="polygons")
    assert response.status_code == 400
    assert "csv format takes the mask forms" in response.json()["error"]["message"]
    other = team.other_project
    response = start(client, annotated.project, scope="image", image_id=other.pk + 1000)
    assert response.status_code == 400
    assert "Choose an image of this project" in response.json()["error"]["message"]
    response = start(client, annotated.project, scope="filter", image_status="purple")
    assert "Status must be one of" in response.json()["error"]["message"]


def test_an_unfinished_export_cannot_be_downloaded(annotated, team, api_client):
    client = api_client(team.owner)
    response = start(client, annotated.project)
    job_id = response.json()["job"]["id"]
    download = client.get(reverse("api:export-download", kwargs={"job_id": job_id}))
    assert download.status_code == 400
    assert "not ready" in download.json()["error"]["message"]


def test_a_cancelled_export_stops_and_leaves_no_file(annotated, team, tmp_path):
    job = Job.objects.create(
        project=annotated.project,
        kind=Job.Kind.EXPORT,
        params={"scope": {"kind": "pool"}, "format": "coco"},
    )
    job.request_cancel()
    export_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert not job.result


def test_progress_is_stored_on_the_job(annotated):
    job = Job.objects.create(project=annotated.project, kind=Job.Kind.EXPORT)
    JobProgress(job.pk).step(done=2, message="Exported 2 of 5 images")
    job.refresh_from_db()
    assert (job.done, job.message) == (2, "Exported 2 of 5 images")


def test_archive_download_and_upload_move_a_project(annotated, team, api_client, make_user):
    url = reverse("api:project-archive", kwargs={"project_id": annotated.project.pk})
    # The whole project, ground truth included, is the owners' to take.
    for member in (team.viewer, team.annotator, team.reviewer):
        refused = api_client(member).get(url)
        assert refused.status_code == 403, refused.content
    started = api_client(team.annotator).post(
        reverse("api:export-start", kwargs={"project_id": annotated.project.pk}),
        {"scope": "pool", "format": "archive"},
        format="json",
    )
    assert started.status_code == 403
    assert "owners" in started.json()["error"]["message"]
    archive = api_client(team.owner).get(url)
    assert archive.status_code == 200
    assert archive["Content-Disposition"].startswith('attachment; filename="cells-')
    newcomer = make_user("nina")
    response = api_client(newcomer).post(
        reverse("api:archive-upload"),
        {"file": SimpleUploadedFile("cells.zip", body(archive)), "name": "Cells copy"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    copy = Project.objects.get(pk=response.json()["id"])
    assert copy.name == "Cells copy"
    assert Membership.objects.get(project=copy, user=newcomer).role == Role.OWNER
    assert MaskObject.objects.filter(image__project=copy).count() == 4
    assert Image.objects.filter(project=copy).count() == 3
    masks = MaskObject.objects.filter(image__project=copy).order_by("id")
    originals = MaskObject.objects.filter(image__project=annotated.project).order_by("id")
    assert [m.mask for m in masks] == [m.mask for m in originals]


def test_restore_through_the_api(annotated, team, api_client):
    url = reverse("api:project-archive", kwargs={"project_id": annotated.project.pk})
    data = body(api_client(team.owner).get(url))
    MaskObject.objects.filter(image__project=annotated.project).delete()
    response = api_client(team.owner).post(
        url, {"file": SimpleUploadedFile("cells.zip", data)}, format="multipart"
    )
    assert response.status_code == 200, response.content
    assert MaskObject.objects.filter(image__project=annotated.project).count() == 4


def test_a_bad_archive_upload_gets_a_clear_error(team, api_client):
    response = api_client(team.owner).post(
        reverse("api:archive-upload"),
        {"file": SimpleUploadedFile("notes.zip", b"PK\x03\x04 truncated")},
        format="multipart",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert "not a complete zip archive" in error["message"]
    assert error["fields"]["archive"]


def test_export_progress_reaches_the_project_channel(annotated):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from projects.events import project_group

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(project_group(annotated.project.pk), channel)
    job = Job.objects.create(
        project=annotated.project,
        kind=Job.Kind.EXPORT,
        params={"scope": {"kind": "pool"}, "format": "csv"},
    )
    export_run(job_id=job.pk)
    events = []
    while True:
        try:
            message = async_to_sync(layer.receive)(channel)
        except Exception:
            break
        events.append(message["event"])
        if message["event"]["data"]["status"] == "done":
            break
    assert events[0]["type"] == "job.progress" and events[0]["data"]["status"] == "running"
    assert any(e["data"]["done"] == 3 for e in events)
    assert events[-1]["data"]["status"] == "done"
    assert events[-1]["data"]["result"]["file"].endswith(f"{job.pk}.csv")


def test_the_next_export_starts_from_the_saved_choices(annotated, team, api_client):
    client = api_client(team.owner)
    first = start(client, annotated.project, scope="filter", completed_only=True, format="voc")
    assert first.status_code == 202
    second = start(client, annotated.project)
    params = Job.objects.get(pk=second.json()["job"]["id"]).params
    assert params["format"] == "voc"
    assert params["scope"]["kind"] == "filter" and params["scope"]["completed_only"] is True


def test_old_export_files_expire_when_a_new_export_finishes(annotated, team, api_client):
    old = Job.objects.create(
        project=annotated.project,
        kind=Job.Kind.EXPORT,
        params={"scope": {"kind": "pool"}, "format": "csv"},
    )
    export_run(job_id=old.pk)
    old.refresh_from_db()
    old_file = settings_media() / old.result["file"]
    assert old_file.is_file()
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=2))
    new = Job.objects.create(
        project=annotated.project,
        kind=Job.Kind.EXPORT,
        params={"scope": {"kind": "pool"}, "format": "csv"},
    )
    export_run(job_id=new.pk)
    assert not old_file.exists()
    new.refresh_from_db()
    assert (settings_media() / new.result["file"]).is_file()
    download = api_client(team.owner).get(reverse("api:export-download", kwargs={"job_id": old.pk}))
    assert download.status_code == 400
    assert "start the export again" in download.json()["error"]["message"]


def settings_media() -> Path:
    return Path(settings.MEDIA_ROOT)


def test_the_archive_of_a_large_project_can_be_made_as_a_job(
    annotated, team, api_client, eager_tasks, django_capture_on_commit_callbacks, tmp_path
):
    from projects.exports.restore import archive_import

    client = api_client(team.owner)
    saved = Project.objects.get(pk=annotated.project.pk).export_settings
    with django_capture_on_commit_callbacks(execute=True):
        response = start(client, annotated.project, format="archive")
    status = client.get(reverse("api:export-job", kwargs={"job_id": response.json()["job"]["id"]}))
    assert status.json()["job"]["result"]["records"]["mask_objects"] == 4
    path = tmp_path / "archive.zip"
    path.write_bytes(body(client.get(status.json()["download_url"])))
    copy = archive_import(path=path, user=team.owner, name="From the job")
    assert MaskObject.objects.filter(image__project=copy).count() == 4
    assert Project.objects.get(pk=annotated.project.pk).export_settings == saved
    refused = start(
        client, annotated.project, format="archive", scope="image", image_id=annotated.images[0].pk
    )
    assert "whole project" in refused.json()["error"]["message"]


def test_a_remembered_polygons_form_does_not_break_csv_and_seed_json(
    annotated, team, api_client, eager_tasks, django_capture_on_commit_callbacks
):
    client = api_client(team.annotator)
    image = annotated.images[0]
    with django_capture_on_commit_callbacks(execute=True):
        coco = start(client, annotated.project, format="coco", mask_form="polygons")
    assert coco.status_code == 202, coco.content
    # As the export dialog asks: the format alone, the polygons choice left out for it.
    csv_export = start(client, annotated.project, scope="image", image_id=image.pk, format="csv")
    assert csv_export.status_code == 200, csv_export.content
    rows = list(csv.DictReader(io.StringIO(csv_export.content.decode())))
    assert [row["rle_form"] for row in rows] == ["coco_rle"] * 3
    seed = start(client, annotated.project, scope="image", image_id=image.pk, format="seed_json")
    assert seed.status_code == 200, seed.content
    assert json.loads(seed.content)["project"]["mask_form"] == "coco_rle"
    # The choice stays for the format that takes it.
    again = start(client, annotated.project, scope="image", image_id=image.pk, format="coco")
    assert json.loads(again.content)["info"]["mask_form"] == "polygons"


def test_labels_made_through_the_api_export_as_distinct_voc_classes(team, api_client):
    client = api_client(team.owner)
    route = reverse("api:api-labels", kwargs={"project_id": team.project.pk})
    colors = [client.get(route).json()[0]["color"]]  # the project's "object" label
    for number in range(24):  # past the 20 colours of the palette
        response = client.post(route, {"name": f"class {number}"}, format="json")
        assert response.status_code == 201, response.content
        colors.append(response.json()["color"])
    assert colors[:4] == ["#e6194b", "#3cb44b", "#ffe119", "#4363d8"]
    assert len(set(colors)) == 25
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="up")
    image = Image.objects.create(
        project=team.project, source=source, path="a.png", width=8, height=6
    )
    response = start(client, team.project, scope="image", image_id=image.pk, format="voc")
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        lines = archive.read("labelmap.txt").decode().splitlines()[1:]
    # Colour-keyed VOC readers (datumaro) make one class per colour of the label map.
    assert len({line.split(":")[1] for line in lines}) == len(lines) == 1 + 25 + 1
