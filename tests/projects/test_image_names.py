"""The pool tiles and the editor page show the name a person knows an image by."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Image, Source
from projects.sources.services import upload_files
from tests.sources.conftest import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def uploads(team):
    files = [SimpleUploadedFile("shapes_a.png", image_bytes(seed=1), content_type="image/png")]
    (outcome,) = upload_files(project=team.project, files=files)
    folder = Source.objects.create(project=team.project, kind="folder", name="scans")
    nested = Image.objects.create(project=team.project, source=folder, path="x/y/cell.png")
    return outcome.image, nested


def test_pool_tiles_show_the_uploaded_name_and_the_folder_path(uploads, team, client):
    upload, nested = uploads
    client.force_login(team.viewer)
    html = client.get(reverse("projects:pool", args=[team.project.pk])).content.decode()
    assert re.findall(r'<span class="tile-name">([^<]*)</span>', html) == [
        "shapes_a.png",
        "x/y/cell.png",
    ]
    assert re.findall(r'alt="([^"]*)"', html) == ["shapes_a.png", "x/y/cell.png"]
    titles = re.findall(r'<a href="[^"]*" title="([^"]*)"', html)
    assert [title.split(" — ")[0] for title in titles] == ["shapes_a.png", "x/y/cell.png"]
    assert upload.path not in html  # the path it is stored under stays on the server


def test_the_editor_title_is_the_image_name(uploads, team, client):
    upload, _ = uploads
    client.force_login(team.annotator)
    html = client.get(reverse("projects:editor", args=[team.project.pk, upload.pk])).content
    title = re.search(r"<title>([^<]*)</title>", html.decode()).group(1)
    assert title.startswith("shapes_a.png · Cells")
