from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.access import Route
from tests.sources.conftest import image_bytes

P = lambda s: {"project_id": s.team.project.pk}  # noqa: E731
S = lambda s: {"source_id": s.source.pk}  # noqa: E731
I = lambda s: {"image_id": s.image.pk}  # noqa: E731, E741


def _readable_image(scene) -> dict:
    """The scene's image with real bytes behind it, so reading it can succeed."""
    path = Path(settings.ANNOTATOR_UPLOAD_DIR) / scene.image.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(image_bytes(size=(64, 48)))
    return I(scene)


def _upload(scene) -> dict:
    return {"files": [SimpleUploadedFile("new.png", image_bytes(seed=4))]}


ROUTES = [
    Route("api:api-sources", "get", "view", kwargs=P),
    Route("api:api-source", "get", "view", kwargs=S),
    Route("api:api-source", "patch", "own", kwargs=S, data=lambda s: {"name": "Renamed"}),
    Route("api:api-source", "delete", "own", kwargs=S),
    Route("api:api-source-removal", "get", "own", kwargs=S),
    Route("api:api-source-restore", "post", "own", kwargs=S),
    Route("api:api-source-scan", "post", "edit", kwargs=S),
    # The scene's source is an upload: an owner passes the access check and is told that only
    # Azure sources take a secret; tests/sources/test_source_secret.py covers the rest.
    Route(
        "api:api-source-secret",
        "post",
        "own",
        kwargs=S,
        data=lambda s: {"secret": "sv=1&sig=x"},
        ok=(202, 400),
    ),
    Route("api:source-secret-form", "get", "view", kwargs=S, page=True),
    Route(
        "api:source-secret-form",
        "post",
        "own",
        kwargs=S,
        data=lambda s: {"secret": "sv=1&sig=x"},
        data_format="multipart",
        page=True,
    ),
    Route("api:api-source-create-upload", "post", "edit", kwargs=P, data=lambda s: {"name": "B2"}),
    # The matrix has no allowed folder roots: an owner passes the access check and gets the
    # 400 that says so; tests/sources/test_folder.py covers the successful path.
    Route(
        "api:api-source-create-folder",
        "post",
        "own",
        kwargs=P,
        data=lambda s: {"path": "/srv/images"},
        ok=(201, 400),
    ),
    Route(
        "api:api-source-create-urls",
        "post",
        "edit",
        kwargs=P,
        data=lambda s: {"urls": "http://93.184.215.14/cells.png"},
    ),
    Route(
        "api:api-source-create-azure",
        "post",
        "own",
        kwargs=P,
        data=lambda s: {
            "account_url": "https://cells.blob.core.windows.net",
            "container": "scans",
            "credential": {"kind": "sas_token", "secret": "sv=2024-01-01&sig=abc"},
        },
    ),
    Route("api:api-uploads", "post", "edit", kwargs=P, data=_upload, data_format="multipart"),
    Route("api:api-image-remove", "post", "edit", kwargs=I),
    Route("api:api-image-restore", "post", "edit", kwargs=I),
    Route("api:api-image-thumbnail", "get", "view", kwargs=_readable_image),
    Route("api:api-image-file", "get", "view", kwargs=_readable_image),
]
