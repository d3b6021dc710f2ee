"""Server folders: accepted only inside the configured roots, listed without reading."""

import os

import pytest
from django.urls import reverse

from projects.models import Image, Job, Source
from projects.sources import reader
from tests.sources.conftest import image_bytes


def _add_folder(client, project, **data):
    url = reverse("api:api-source-create-folder", kwargs={"project_id": project.pk})
    return client.post(url, data, format="json")


def _paths(source) -> set[str]:
    return set(Image.objects.filter(source=source).values_list("path", flat=True))


def test_a_folder_inside_the_roots_registers_its_images_recursively(
    team, api_client, folder_root, eager_tasks
):
    response = _add_folder(api_client(team.owner), team.project, path=str(folder_root))
    assert response.status_code == 201, response.content
    body = response.json()
    source = Source.objects.get(pk=body["source"]["id"])
    assert source.kind == Source.Kind.FOLDER and source.available
    assert _paths(source) == {"one.png", "a/two.jpg", "a/b/three.png"}
    job = Job.objects.get(pk=body["job"]["id"])
    assert job.kind == Job.Kind.SOURCE_SCAN and job.status == Job.Status.DONE
    assert job.result["added"] == 3


def test_registering_records_path_and_size_but_reads_no_pixels(
    team, api_client, folder_root, eager_tasks
):
    _add_folder(api_client(team.owner), team.project, path=str(folder_root))
    image = Image.objects.get(path="one.png")
    assert image.size == (folder_root / "one.png").stat().st_size and image.etag
    assert (image.width, image.height, image.key) == (None, None, "")
    decoded = reader.load(image)
    image.refresh_from_db()
    assert (image.width, image.height) == (40, 30) and image.key == decoded.key


def test_a_folder_can_be_listed_without_subfolders_and_by_extension(
    team, api_client, folder_root, eager_tasks
):
    client = api_client(team.owner)
    flat = _add_folder(client, team.project, path=str(folder_root), recursive=False)
    assert _paths(Source.objects.get(pk=flat.json()["source"]["id"])) == {"one.png"}
    jpgs = _add_folder(client, team.project, path=str(folder_root), extensions=["JPG"])
    assert _paths(Source.objects.get(pk=jpgs.json()["source"]["id"])) == {"a/two.jpg"}


def test_a_relative_path_is_taken_inside_the_first_root(team, api_client, folder_root, eager_tasks):
    response = _add_folder(api_client(team.owner), team.project, path="a/b")
    assert response.status_code == 201
    assert response.json()["source"]["location"]["path"] == str(folder_root / "a" / "b")


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("../secret", "'..'"),
        ("a/../../secret", "'..'"),
        ("{secret}", "outside the folders this server allows"),
        ("/etc", "outside the folders this server allows"),
        ("link-out", "outside the folders this server allows"),
        ("missing", "is not a folder"),
    ],
)
def test_paths_leaving_the_roots_are_refused_with_a_clear_error(
    team, api_client, folder_root, typed, expected
):
    secret = folder_root.parent / "secret"
    os.symlink(secret, folder_root / "link-out")
    response = _add_folder(api_client(team.owner), team.project, path=typed.format(secret=secret))
    assert response.status_code == 400, response.content
    assert expected in response.json()["error"]["message"]
    assert not Source.objects.filter(kind=Source.Kind.FOLDER).exists()


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("x" * 256, "A folder name in the path is longer than 255 bytes"),
        ("a/" + "é" * 128, "A folder name in the path is longer than 255 bytes"),
        ("é/" * 1400, "The path is longer than 4096 bytes"),
        ("a/" * 2040, "cannot be used as a path: File name too long"),
        ("a\x00b", "Null characters are not allowed"),
    ],
    ids=["long-name", "long-name-in-bytes", "long-path", "long-inside-root", "nul"],
)
def test_a_path_no_file_system_call_takes_gets_a_clear_400(
    team, api_client, folder_root, typed, expected
):
    response = _add_folder(api_client(team.owner), team.project, path=typed)
    assert response.status_code == 400, response.content
    assert expected in response.json()["error"]["message"]
    assert not Source.objects.filter(kind=Source.Kind.FOLDER).exists()


def test_a_path_with_a_lone_surrogate_gets_a_clear_400(team, api_client, folder_root):
    url = reverse("api:api-source-create-folder", kwargs={"project_id": team.project.pk})
    # Valid JSON that no file name can hold; the test client itself would refuse to send it.
    body = '{"path": "a/\\ud800"}'
    response = api_client(team.owner).post(url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "Surrogate characters are not allowed" in response.json()["error"]["message"]


def test_no_folder_is_accepted_when_the_server_allows_none(team, api_client, tmp_path, settings):
    settings.ANNOTATOR_FOLDER_ROOTS = []
    response = _add_folder(api_client(team.owner), team.project, path=str(tmp_path))
    assert response.status_code == 400
    assert "ANNOTATOR_FOLDER_ROOTS" in response.json()["error"]["message"]


def test_symlinks_inside_the_folder_that_lead_out_are_not_listed_or_read(
    team, api_client, folder_root, eager_tasks
):
    secret = folder_root.parent / "secret"
    os.symlink(secret / "private.png", folder_root / "leak.png")
    os.symlink(secret, folder_root / "a" / "leakdir")
    os.symlink(folder_root / "one.png", folder_root / "a" / "alias.png")
    response = _add_folder(api_client(team.owner), team.project, path=str(folder_root))
    source = Source.objects.get(pk=response.json()["source"]["id"])
    assert _paths(source) == {"one.png", "a/two.jpg", "a/b/three.png", "a/alias.png"}
    smuggled = Image.objects.create(project=team.project, source=source, path="leak.png")
    with pytest.raises(reader.ImageUnavailable, match="outside its source folder"):
        reader.load(smuggled)


def test_rescan_adds_new_files_flags_vanished_ones_and_restores_returned_ones(
    team, api_client, folder_root, eager_tasks
):
    client = api_client(team.owner)
    source_id = _add_folder(client, team.project, path=str(folder_root)).json()["source"]["id"]
    kept = (folder_root / "one.png").read_bytes()
    (folder_root / "one.png").unlink()
    (folder_root / "new.png").write_bytes(image_bytes(seed=7))
    scan = client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id}))
    assert scan.status_code == 202
    job = Job.objects.get(pk=scan.json()["id"])
    assert job.result["added"] == 1 and job.result["vanished"] == 1, job.result
    gone = Image.objects.get(source_id=source_id, path="one.png")
    assert not gone.available and "Not found" in gone.unavailable_reason and gone.checked_at
    assert Image.objects.get(source_id=source_id, path="new.png").available

    (folder_root / "one.png").write_bytes(kept)
    client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id}))
    gone.refresh_from_db()
    assert gone.available and gone.unavailable_reason == ""
    assert Image.objects.filter(source_id=source_id).count() == 4


def test_changed_content_is_noticed_by_hash_on_the_next_read(
    team, api_client, folder_root, eager_tasks
):
    client = api_client(team.owner)
    source_id = _add_folder(client, team.project, path=str(folder_root)).json()["source"]["id"]
    image = Image.objects.get(source_id=source_id, path="one.png")
    first_key = reader.load(image).key
    (folder_root / "one.png").write_bytes(image_bytes(size=(50, 20), seed=11))
    job_id = client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id})).json()[
        "id"
    ]
    assert Job.objects.get(pk=job_id).result["changed"] == 1
    image.refresh_from_db()
    assert image.key == first_key
    reader.load(image)
    image.refresh_from_db()
    assert image.key != first_key and (image.width, image.height) == (50, 20)


def test_a_folder_that_is_gone_makes_the_source_unavailable_not_a_crash(
    team, api_client, folder_root, eager_tasks
):
    client = api_client(team.owner)
    source_id = _add_folder(client, team.project, path=str(folder_root / "a")).json()["source"][
        "id"
    ]
    (folder_root / "a").rename(folder_root / "moved")
    job_id = client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id})).json()[
        "id"
    ]
    job = Job.objects.get(pk=job_id)
    source = Source.objects.get(pk=source_id)
    assert job.status == Job.Status.FAILED and "gone" in job.message
    assert not source.available and "gone" in source.unavailable_reason and source.checked_at
    # Its images keep their records; the pool still lists the rest.
    assert Image.objects.filter(source=source).count() == 2
    listing = client.get(reverse("api:api-sources", kwargs={"project_id": team.project.pk}))
    assert listing.status_code == 200

    (folder_root / "moved").rename(folder_root / "a")
    client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id}))
    source.refresh_from_db()
    assert source.available and source.unavailable_reason == ""


def test_a_folder_dropped_from_the_allowed_roots_is_no_longer_read(
    team, api_client, folder_root, eager_tasks, settings
):
    _add_folder(api_client(team.owner), team.project, path=str(folder_root))
    settings.ANNOTATOR_FOLDER_ROOTS = [folder_root / "a" / "b"]
    with pytest.raises(reader.ImageUnavailable, match="no longer inside"):
        reader.load(Image.objects.get(path="one.png"))


def test_a_folder_registers_in_name_order(tmp_path, settings):
    from projects.sources.folder import folder_list

    settings.ANNOTATOR_FOLDER_ROOTS = [tmp_path]
    for name in ["b/2.png", "b/1.png", "a.png", "c.png", "a/9.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    listed = [item.path for item in folder_list(tmp_path, recursive=True, extensions=[".png"])]
    assert listed == ["a.png", "c.png", "a/9.png", "b/1.png", "b/2.png"]
