"""Hostile and broken files: a clear 400 or a clear failed job, never a 500, nothing written
outside its folder, and a failure midway leaves nothing behind."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.db import connection

from projects.imports import formats
from projects.jobs import job_cancel
from projects.models import EditStep, Image, Job, Label, MaskObject
from tests.imports.helpers import coco_document, run_import, upload, zip_bytes
from tests.imports.test_imports import SQUARE


@pytest.fixture
def owner(team, api_client):
    return api_client(team.owner)


def annotations(images):
    return [
        {"id": n, "image_id": image.pk, "category_id": 1, "segmentation": SQUARE}
        for n, image in enumerate(images, start=1)
    ]


def test_refused_at_upload(team, pool, owner, settings):
    _, images = pool
    coco = coco_document(images, annotations(images))
    answer = upload(owner, team.project, coco, format="yolo_seg")
    assert answer.status_code == 400 and "zip" in answer.json()["error"]["message"]
    answer = upload(owner, team.project, zip_bytes({"a.json": coco}), format="coco")
    assert answer.status_code == 400 and "JSON" in answer.json()["error"]["message"]
    answer = upload(owner, team.project, coco, format="pascal")
    assert answer.status_code == 400
    answer = upload(owner, team.project, coco, format="coco", mode="everything")
    assert answer.status_code == 400
    settings.ANNOTATOR_IMPORT_MAX_MB = 0
    answer = upload(owner, team.project, coco, format="coco")
    assert answer.status_code == 400 and "up to 0 MiB" in answer.json()["error"]["message"]
    assert not Job.objects.filter(kind=Job.Kind.IMPORT).exists()
    assert not list((Path(settings.MEDIA_ROOT) / "imports").rglob("*.upload"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[" * 200_000, "not valid JSON"),
        (b'{"images": 3}', "lists its images and annotations"),
        (b"[1, 2]", "COCO file is a JSON object"),
    ],
)
def test_broken_json_fails_the_job_clearly(team, pool, owner, settings, data, message):
    job = run_import(owner, team.project, data, format="coco")
    assert job.status == "failed" and message in job.message
    assert job.message.startswith("The file cannot be imported:")
    # The upload is gone once the job ended.
    assert not list((Path(settings.MEDIA_ROOT) / "imports").rglob("*.upload"))


def test_path_traversal_in_a_zip_is_refused(team, pool, owner, settings, tmp_path):
    data = zip_bytes({"data.yaml": "names: [cell]\n", "../../evil.txt": "0 0 0 1 0 1 1\n"})
    job = run_import(owner, team.project, data, format="yolo_seg")
    assert job.status == "failed" and "unsafe file name" in job.message
    assert not list(tmp_path.rglob("evil.txt"))


def test_a_zip_bomb_is_refused(team, pool, owner, settings):
    settings.ANNOTATOR_IMPORT_MAX_MB = 1
    data = zip_bytes({"data.yaml": "names: [cell]\n", "img0.txt": "0" * (8 * 2**20)})
    assert len(data) < 2**20
    job = run_import(owner, team.project, data, format="yolo_seg")
    assert job.status == "failed" and "unpacks to 8 MiB" in job.message


def test_a_zip_whose_sizes_lie_is_refused(team, pool, owner):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.yaml", "names: [cell]\n")
        archive.writestr("img0.txt", "0 0.1 0.1 0.5 0.1 0.5 0.5\n" * 1000)
    data = bytearray(buffer.getvalue())
    # Make both headers of img0.txt claim 10 bytes unpacked.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.rfind(signature)
        data[start + offset : start + offset + 4] = (10).to_bytes(4, "little")
    job = run_import(owner, team.project, bytes(data), format="yolo_seg")
    assert job.status == "failed" and "cannot be read" in job.message


def test_too_many_annotations_fail_the_job(team, pool, owner, monkeypatch):
    _, images = pool
    monkeypatch.setattr(formats, "MAX_ANNOTATIONS", 2)
    job = run_import(owner, team.project, coco_document(images, annotations(images)), format="coco")
    assert job.status == "failed" and "more than 2 annotations" in job.message
    assert not MaskObject.objects.exists()


def test_huge_and_malformed_shapes_are_refused_one_by_one(team, pool, owner):
    _, images = pool
    image = images[0].pk
    document = json.loads(coco_document(images, []))
    document["annotations"] = [
        {"id": 1, "image_id": image, "segmentation": [[1.0, 1.0] * 100_001]},
        {"id": 2, "image_id": image, "segmentation": {"size": [48, 64], "counts": [0, 10**12]}},
        {
            "id": 3,
            "image_id": image,
            "segmentation": {"size": [48, 64], "counts": "0" + "o" * 40 + "0"},
        },
        {"id": 4, "image_id": image, "segmentation": {"size": [48, 64], "counts": "PP>"}},
        {"id": 5, "image_id": image, "segmentation": {"size": [48, 64], "counts": [-5, 3077]}},
        {"id": 6, "image_id": image, "segmentation": {"size": ["48", 64], "counts": "1"}},
        {"id": 7, "image_id": image, "segmentation": [[0, 0, "x", 1, 2, 2]]},
        {"id": 8, "image_id": image, "segmentation": [[0, 0, 1e309, 1, 2, 2]]},
        {"id": 9, "image_id": image, "segmentation": [[-5, 0, 10, 0, 10, 10]]},
        {"id": 10, "image_id": [1], "segmentation": SQUARE},
        {"id": 11, "image_id": image, "segmentation": SQUARE},
    ]
    job = run_import(owner, team.project, json.dumps(document).encode(), format="coco")
    assert job.status == "done", job.message
    assert MaskObject.objects.count() == 1
    reasons = {entry["annotation"]: entry["reason"] for entry in job.result["invalid"]}
    assert "100000 vertices" in reasons["annotation 1"]
    assert "covers" in reasons["annotation 2"]
    assert "too long" in reasons["annotation 3"]
    assert "cut off" in reasons["annotation 4"] or "covers" in reasons["annotation 4"]
    assert "negative" in reasons["annotation 5"]
    assert "size" in reasons["annotation 6"]
    assert "not a number" in reasons["annotation 7"]
    assert "finite" in reasons["annotation 8"] or "number" in reasons["annotation 8"]
    assert "outside the image" in reasons["annotation 9"]
    assert "image_id" in reasons["annotation 10"]


def test_a_failure_midway_leaves_nothing(team, pool, owner):
    _, images = pool
    versions = {image.pk: image.version for image in images}
    # The database refuses the last image's objects, after the others were written.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TRIGGER refuse_last BEFORE INSERT ON projects_maskobject "
            f"WHEN NEW.image_id = {images[2].pk} BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    categories = [{"id": 1, "name": "brand new"}]
    data = coco_document(images, annotations(images), categories)
    with pytest.raises(Exception, match="disk full"):
        run_import(owner, team.project, data, format="coco", create_labels="true")
    job = Job.objects.get(kind=Job.Kind.IMPORT)
    assert job.status == "failed" and "disk full" in job.message
    assert not MaskObject.objects.exists() and not EditStep.objects.exists()
    assert not Label.objects.filter(name="brand new").exists()
    assert {i.pk: i.version for i in Image.objects.all()} == versions


def test_a_cancelled_import_writes_nothing_and_drops_its_file(team, pool, owner, settings):
    _, images = pool
    answer = upload(owner, team.project, coco_document(images, annotations(images)), format="coco")
    job = Job.objects.get(pk=answer.json()["job"]["id"])
    job_cancel(job=job)
    from projects.imports.services import import_run

    import_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "cancelled" and not MaskObject.objects.exists()
    assert not list((Path(settings.MEDIA_ROOT) / "imports").rglob("*.upload"))


def test_a_yaml_of_aliases_is_refused(team, pool, owner):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 30)]
    lines.append("names: [*a29]")
    data = zip_bytes({"data.yaml": "\n".join(lines), "img0.txt": "0 0.1 0.1 0.5 0.1 0.5 0.5\n"})
    job = run_import(owner, team.project, data, format="yolo_seg")
    assert job.status == "failed" and "has no class names" in job.message
