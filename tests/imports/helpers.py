"""Running imports as a user does: the upload goes through the API, the job through its
task's service, and the report comes back from the jobs route."""

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pycocotools import mask as mask_utils

from projects import services as project_services
from projects.exports.formats import ExportOptions
from projects.exports.selectors import Scope
from projects.exports.services import export_write
from projects.imports.services import import_run
from projects.models import Image, Job, Source


def upload(client, project, data: bytes, *, format: str, name: str = "file", **fields):
    url = reverse("api:import-start", kwargs={"project_id": project.pk})
    body = {"file": SimpleUploadedFile(name, data), "format": format, **fields}
    return client.post(url, body, format="multipart")


def run_import(client, project, data: bytes, *, format: str, **fields) -> Job:
    """Upload, run the job, and read it back through the jobs route."""
    response = upload(client, project, data, format=format, **fields)
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]["id"]
    import_run(job_id=job_id)
    answer = client.get(reverse("api:api-job", kwargs={"job_id": job_id}))
    assert answer.status_code == 200
    job = Job.objects.get(pk=job_id)
    assert answer.json()["result"] == job.result
    return job


def export_bytes(project, **options) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "export"
        export_write(
            project=project, scope=Scope(), options=ExportOptions(**options), target=target
        )
        return target.read_bytes()


def twin_project(source_project, owner, name: str = "Twin"):
    """A new project whose pool holds the same pictures (same uploads, same sizes)."""
    project = project_services.project_create(name=name, owner=owner)
    for source in source_project.sources.all():
        twin = Source.objects.create(project=project, kind=source.kind, name=source.name)
        for image in source.images.all():
            Image.objects.create(
                project=project,
                source=twin,
                path=image.path,
                key=image.key,
                width=image.width,
                height=image.height,
            )
    return project


def coco_masks(document: dict) -> dict[str, list[np.ndarray]]:
    """Every annotation's mask per image file name, rasterized by pycocotools."""
    names = {image["id"]: image for image in document["images"]}
    masks: dict[str, list[np.ndarray]] = {}
    for annotation in document["annotations"]:
        image = names[annotation["image_id"]]
        h, w = image["height"], image["width"]
        segmentation = annotation["segmentation"]
        if isinstance(segmentation, list):
            rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, h, w))
        elif isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, h, w)
        else:
            rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode()}
        masks.setdefault(image["file_name"], []).append(mask_utils.decode(rle).astype(bool))
    return masks


def same_masks(first: dict[str, list[np.ndarray]], second: dict[str, list[np.ndarray]]) -> None:
    assert sorted(first) == sorted(second)
    for name in first:
        key = lambda m: (int(m.sum()), m.tobytes())  # noqa: E731
        a, b = sorted(first[name], key=key), sorted(second[name], key=key)
        assert len(a) == len(b), name
        for x, y in zip(a, b, strict=True):
            assert x.shape == y.shape and (x == y).all(), name


def zip_bytes(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def coco_document(images: list[Image], annotations: list[dict], categories=None) -> bytes:
    return json.dumps(
        {
            "images": [
                {"id": i.pk, "file_name": i.display_name, "width": i.width, "height": i.height}
                for i in images
            ],
            "categories": categories
            if categories is not None
            else [{"id": 1, "name": "cell"}, {"id": 2, "name": "nucleus"}],
            "annotations": annotations,
        }
    ).encode()
