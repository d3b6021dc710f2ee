import socket
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from projects import services
from projects.models import Image, Role, Source


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    """The test database is a file, as the served app's is: SQLite's in-memory shared cache
    takes table locks that ignore the busy timeout, so worker threads would collide."""
    from django.conf import settings

    path = tmp_path_factory.mktemp("database") / "test.sqlite3"
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(path)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Hashing passwords properly costs a noticeable time per user; tests make many.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ANNOTATOR_UPLOAD_DIR = tmp_path / "media" / "uploads"
    settings.ANNOTATOR_CACHE_DIR = tmp_path / "cache"
    settings.ANNOTATOR_MODEL_DIR = tmp_path / "models"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Team:
    """A project with one user per role, plus an outsider with a project of their own."""

    project: object
    owner: object
    annotator: object
    viewer: object
    outsider: object
    other_project: object
    reviewer: object = None

    def user(self, role: str):
        return getattr(self, role) if role != "anonymous" else None


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the caller's thread, through Celery's own eager path."""
    from annotator.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def make_user(db):
    def make(username: str, **extra):
        return get_user_model().objects.create_user(
            username=username, password="pw-" + username, **extra
        )

    return make


@pytest.fixture
def team(make_user) -> Team:
    owner = make_user("olive")
    annotator = make_user("anna")
    viewer = make_user("victor")
    outsider = make_user("oscar")
    project = services.project_create(name="Cells", owner=owner)
    services.member_set(project=project, user=annotator, role=Role.ANNOTATOR)
    services.member_set(project=project, user=viewer, role=Role.VIEWER)
    other = services.project_create(name="Elsewhere", owner=outsider)
    reviewer = make_user("rita")
    services.member_set(project=project, user=reviewer, role=Role.REVIEWER)
    return Team(project, owner, annotator, viewer, outsider, other, reviewer)


@pytest.fixture
def api_client():
    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


def write_png(path, *, width=64, height=48, seed=0) -> bytes:
    """A small real picture: a bright rectangle on a dark background."""
    import io

    import numpy as np
    from PIL import Image as PILImage

    pixels = np.full((height, width, 3), 30, dtype=np.uint8)
    pixels[height // 4 : height // 2, width // 4 + seed : width // 2 + seed] = (220, 180, 40)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


@pytest.fixture
def pool(team, settings):
    """Three real 64x48 PNG images in one upload source of the team's project."""
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="uploads")
    images = []
    for i in range(3):
        write_png(settings.ANNOTATOR_UPLOAD_DIR / f"img{i}.png", seed=i)
        images.append(
            Image.objects.create(
                project=team.project, source=source, path=f"img{i}.png", width=64, height=48
            )
        )
    return source, images
