"""Uploading files into a project's pool through the API."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Image, Source
from tests.sources.conftest import image_bytes


def _upload(client, project, *files, **extra):
    url = reverse("api:api-uploads", kwargs={"project_id": project.pk})
    return client.post(url, {"files": list(files), **extra}, format="multipart")


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def _stored_files(settings) -> list[Path]:
    root = Path(settings.ANNOTATOR_UPLOAD_DIR)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_many_files_upload_at_once_into_the_uploads_folder(team, api_client, settings):
    client = api_client(team.annotator)
    response = _upload(
        client,
        team.project,
        _file("cells 1.png", image_bytes(seed=1)),
        _file("../../evil.jpg", image_bytes("JPEG", seed=2)),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [item["duplicate"] for item in body] == [False, False]
    images = Image.objects.filter(project=team.project).order_by("id")
    assert images.count() == 2
    assert {image.source.kind for image in images} == {Source.Kind.UPLOAD}
    for image, item in zip(images, body, strict=True):
        assert item["image"]["id"] == image.pk
        stored = Path(settings.ANNOTATOR_UPLOAD_DIR) / image.path
        assert stored.is_file() and stored.resolve().is_relative_to(settings.ANNOTATOR_UPLOAD_DIR)
        assert (image.width, image.height) == (40, 30) and len(image.key) == 64
    assert images[1].path.endswith("/evil.jpg")


def test_same_bytes_uploaded_twice_are_recognised_by_content(team, api_client, settings):
    client = api_client(team.annotator)
    data = image_bytes(seed=5)
    first = _upload(client, team.project, _file("a.png", data)).json()[0]
    second = _upload(client, team.project, _file("renamed.png", data))
    assert second.status_code == 201
    answer = second.json()[0]
    assert answer["duplicate"] is True
    assert answer["image"]["id"] == first["image"]["id"]
    assert "already in the pool" in answer["message"]
    assert Image.objects.filter(project=team.project).count() == 1
    assert len(_stored_files(settings)) == 1


def test_uploading_a_removed_image_again_brings_it_back(team, api_client):
    client = api_client(team.annotator)
    data = image_bytes(seed=6)
    image_id = _upload(client, team.project, _file("a.png", data)).json()[0]["image"]["id"]
    client.post(reverse("api:api-image-remove", kwargs={"image_id": image_id}))
    again = _upload(client, team.project, _file("a.png", data)).json()[0]
    assert again["duplicate"] is True and again["image"]["removed_at"] is None


def _refused(client, project, settings, *files) -> str:
    response = _upload(client, project, *files)
    assert response.status_code == 400, response.content
    assert Image.objects.filter(project=project).count() == 0
    assert _stored_files(settings) == []
    return response.json()["error"]["message"]


def test_a_file_that_is_not_an_image_is_refused_and_nothing_stored(team, api_client, settings):
    message = _refused(
        api_client(team.owner), team.project, settings, _file("notes.png", b"hello, world")
    )
    assert "notes.png" in message and "not a readable image" in message


def test_a_corrupt_image_is_refused(team, api_client, settings):
    truncated = image_bytes("PNG", size=(200, 200), seed=1)[:400]
    message = _refused(api_client(team.owner), team.project, settings, _file("cut.png", truncated))
    assert "cut.png" in message


def test_a_decompression_bomb_is_refused(team, api_client, settings):
    settings.ANNOTATOR_MAX_IMAGE_PIXELS = 1000
    message = _refused(
        api_client(team.owner), team.project, settings, _file("bomb.png", image_bytes())
    )
    assert "40 x 30 pixels" in message and "ANNOTATOR_MAX_IMAGE_PIXELS" in message


def test_an_oversized_upload_is_refused(team, api_client, settings):
    settings.ANNOTATOR_MAX_UPLOAD_MB = 1
    big = image_bytes("BMP", size=(700, 700), seed=3)
    assert len(big) > 1024 * 1024
    message = _refused(api_client(team.owner), team.project, settings, _file("big.bmp", big))
    assert "larger than the 1 MB" in message


def test_one_bad_file_refuses_the_whole_batch(team, api_client, settings):
    message = _refused(
        api_client(team.owner),
        team.project,
        settings,
        _file("good.png", image_bytes(seed=1)),
        _file("bad.png", b"\x89PNG nope"),
    )
    assert "bad.png" in message and "good.png" not in message


def test_an_upload_without_files_says_what_to_do(team, api_client):
    response = _upload(api_client(team.owner), team.project)
    assert response.status_code == 400
    assert "files" in response.json()["error"]["fields"]


def test_the_demo_project_is_filled_through_the_upload_service(make_user):
    from projects.services import demo_project_create
    from projects.sources import reader

    project = demo_project_create(owner=make_user("admin"))
    images = Image.objects.filter(project=project)
    assert images.count() == 5
    assert {image.source.name for image in images} == {"Sample photographs"}
    assert all(image.key and image.width for image in images)
    assert (
        reader.load(images.get(path__endswith="/coffee.png")).width
        == images.get(path__endswith="/coffee.png").width
    )
    assert demo_project_create(owner=make_user("again")) is None


def test_files_cannot_go_into_another_projects_source(team, api_client):
    theirs = Source.objects.create(project=team.other_project, kind=Source.Kind.UPLOAD, name="x")
    team.other_project.memberships.create(user=team.owner, role="owner")
    response = _upload(
        api_client(team.owner), team.project, _file("a.png", image_bytes()), source=theirs.pk
    )
    assert response.status_code == 400
    assert "another project" in response.json()["error"]["message"]
    assert not Image.objects.exists()


def test_uploading_a_lost_file_again_makes_its_image_readable(team, api_client, settings):
    from projects.sources import reader

    client = api_client(team.annotator)
    data = image_bytes(seed=12)
    image_id = _upload(client, team.project, _file("a.png", data)).json()[0]["image"]["id"]
    image = Image.objects.get(pk=image_id)
    (Path(settings.ANNOTATOR_UPLOAD_DIR) / image.path).unlink()
    with pytest.raises(reader.ImageUnavailable):
        reader.load(image)
    again = _upload(client, team.project, _file("a.png", data)).json()[0]
    assert again["duplicate"] is True and again["image"]["available"] is True
    assert reader.load(Image.objects.get(pk=image_id)).key == image.key
