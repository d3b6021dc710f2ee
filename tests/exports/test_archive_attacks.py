"""Hostile archives, uploaded through the API by a plain user: none reaches another project's
files, plants an array its record cannot hold, or takes the server's memory."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.exports.archive import MANIFEST, archive_write
from projects.exports.restore import archive_import
from projects.models import Image, Project, Source
from projects.sources import reader
from tests.conftest import write_png


def upload(api_client, user, data: bytes, name: str):
    return api_client(user).post(
        "/api/projects/archive/",
        {"file": SimpleUploadedFile("a.zip", data), "name": name},
        format="multipart",
    )


def rebuilt(path: Path, changes: dict[str, bytes | None], extra_manifest=None) -> bytes:
    """The archive with members replaced, and its manifest's checksums made to match, as an
    attacker who edits an archive would."""
    with zipfile.ZipFile(path) as zipped:
        members = {name: zipped.read(name) for name in zipped.namelist()}
    manifest = json.loads(members.pop(MANIFEST))
    for name, data in changes.items():
        members[name] = data
        manifest["members"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    manifest.update(extra_manifest or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, data in members.items():
            out.writestr(name, data)
        out.writestr(MANIFEST, json.dumps(manifest))
    return buffer.getvalue()


@pytest.fixture
def victim_upload(team):
    """An uploaded photo of a project the attacker is not in, where uploads are stored."""
    other = team.other_project
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="u")
    relative = f"{team.project.pk}/cbf7abb91c1fcdef/astronaut.png"
    data = write_png(Path(settings.ANNOTATOR_UPLOAD_DIR) / relative, seed=3)
    Image.objects.create(project=team.project, source=source, path=relative)
    assert other.pk != team.project.pk
    return relative, data


def archive_naming(team, tmp_path, path: str) -> bytes:
    """The outsider's own project, archived, with an upload image row naming `path`."""
    own = team.other_project
    source = Source.objects.create(project=own, kind=Source.Kind.UPLOAD, name="mine")
    Image.objects.create(project=own, source=source, path=path)
    target = tmp_path / f"{hashlib.sha256(path.encode()).hexdigest()[:8]}.zip"
    archive_write(project=own, target=target)
    Image.objects.filter(source=source).delete()
    source.delete()
    return target.read_bytes()


def test_an_archive_naming_another_projects_upload_cannot_read_it(
    victim_upload, team, api_client, tmp_path
):
    relative, data = victim_upload
    response = upload(api_client, team.outsider, archive_naming(team, tmp_path, relative), "X")
    assert response.status_code == 201, response.content
    copy = Project.objects.get(pk=response.json()["id"])
    image = Image.objects.get(project=copy)
    assert image.path == f"{copy.pk}/cbf7abb91c1fcdef/astronaut.png"
    assert not image.available
    served = api_client(team.outsider).get(f"/api/images/{image.pk}/file/")
    assert served.status_code != 200
    content = b"".join(served.streaming_content) if served.streaming else served.content
    assert data not in content


def test_availability_says_nothing_about_other_projects_paths(
    victim_upload, team, api_client, tmp_path
):
    relative, _ = victim_upload
    absent = relative.replace("astronaut", "nothing-here")
    flags = []
    for index, path in enumerate([relative, absent]):
        response = upload(
            api_client, team.outsider, archive_naming(team, tmp_path, path), f"P{index}"
        )
        assert response.status_code == 201
        image = Image.objects.get(project_id=response.json()["id"])
        flags.append((image.available, image.unavailable_reason))
    assert flags[0] == flags[1]


def test_the_reader_refuses_an_upload_of_another_project(victim_upload, team):
    relative, _ = victim_upload
    own = team.other_project
    source = Source.objects.create(project=own, kind=Source.Kind.UPLOAD, name="mine")
    planted = Image.objects.create(project=own, source=source, path=relative)
    with pytest.raises(reader.ImageUnavailable, match="not in this project's uploads"):
        reader.read_bytes(planted)
    traversal = Image.objects.create(project=own, source=source, path=f"{own.pk}/../{relative}")
    with pytest.raises(reader.ImageUnavailable):
        reader.read_bytes(traversal)


@pytest.fixture
def plain_archive(annotated, tmp_path) -> Path:
    path = tmp_path / "plain.zip"
    archive_write(project=annotated.project, target=path)
    return path


def logits_member(path: Path) -> str:
    with zipfile.ZipFile(path) as zipped:
        return next(n for n in zipped.namelist() if n.endswith("-logits_file.npy"))


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_a_huge_listed_array_is_refused_before_it_is_read(
    plain_archive, team, api_client, settings
):
    """Zeros compress a thousandfold: a small upload that unpacks far beyond any record."""
    huge = np.zeros((3, 2048, 2048), np.float32)  # 48 MiB unpacked
    data = rebuilt(plain_archive, {logits_member(plain_archive): npy(huge)})
    assert len(data) < 1024 * 1024
    response = upload(api_client, team.outsider, data, "Huge")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "-logits_file.npy unpacks to 48.0 MiB" in message


def test_an_array_of_the_wrong_shape_or_type_is_refused_with_its_name(
    plain_archive, team, api_client
):
    member = logits_member(plain_archive)
    for bad in [
        np.zeros((2, 16, 16), np.float32),  # not the record's three masks
        np.zeros((3, 16, 8), np.float32),  # not square
        np.zeros((3, 16, 16), np.float64),  # not float32
        np.zeros((3, 4, 4), np.float32),  # too small to be logits
    ]:
        response = upload(
            api_client, team.outsider, rebuilt(plain_archive, {member: npy(bad)}), "S"
        )
        assert response.status_code == 400, bad.shape
        assert member in response.json()["error"]["message"]


def test_a_header_claiming_a_huge_array_is_refused_without_reading_it(
    plain_archive, team, api_client
):
    member = logits_member(plain_archive)
    forged = _forged_npy((3, 1 << 20, 1 << 20))  # 12 TiB declared, 64 bytes present
    response = upload(api_client, team.outsider, rebuilt(plain_archive, {member: forged}), "F")
    assert response.status_code == 400
    assert member in response.json()["error"]["message"]


def _forged_npy(shape) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    return np.lib.format.magic(1, 0) + buffer.getvalue() + b"\x00" * 64


def test_an_npz_where_an_npy_belongs_is_a_400_naming_the_member(plain_archive, team, api_client):
    member = logits_member(plain_archive)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, array=np.zeros((3, 16, 16), np.float32))
    response = upload(
        api_client, team.outsider, rebuilt(plain_archive, {member: buffer.getvalue()}), "Z"
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert member in message and "not a plain array file" in message


def test_a_json_member_past_the_member_limit_is_refused(plain_archive, team, api_client, settings):
    settings.ANNOTATOR_ARCHIVE_MAX_MEMBER_MB = 1
    padded = json.dumps([{"id": 1, "name": "x" * (2 * 1024 * 1024), "color": "#ffffff"}])
    response = upload(
        api_client,
        team.outsider,
        rebuilt(plain_archive, {"data/labels.json": padded.encode()}),
        "J",
    )
    assert response.status_code == 400
    assert "data/labels.json unpacks to" in response.json()["error"]["message"]


def test_unavailable_flags_are_carried_and_restored(annotated, tmp_path, team):
    folder = Path(settings.ANNOTATOR_UPLOAD_DIR) / str(annotated.project.pk)
    for image in annotated.images:
        (folder / image.path).parent.mkdir(parents=True, exist_ok=True)
        (folder / image.path).write_bytes(b"present")
    broken = annotated.images[1]
    broken.mark_unavailable("The file is not a readable image: cannot identify image file.")
    path = tmp_path / "flags.zip"
    archive_write(project=annotated.project, target=path)
    restored = archive_import(path=path, user=team.owner, project=annotated.project)
    flags = {
        i.path.rsplit("/", 1)[-1]: (i.available, i.unavailable_reason)
        for i in Image.objects.filter(project=restored)
    }
    assert flags["plate-1.png"] == (
        False,
        "The file is not a readable image: cannot identify image file.",
    )
    assert flags["plate-0.png"] == (True, "")
