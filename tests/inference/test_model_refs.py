"""Model choices are data, never code: every door to a model (a load request, an archive, a
row stored by an older version, a job's parameters) goes through one validator, and Hydra
never sees a value it did not rebuild. Each attack proves that no file was written."""

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from inference import checkpoints, engine, refs, registry
from inference.services import loading
from projects.exports.archive import MANIFEST, archive_write
from projects.exports.restore import archive_import
from projects.models import Job, Project
from tests.inference.conftest import micro_ref, use_model


def write_text_overrides(target: Path) -> list[str]:
    """The override pair that wrote a file through Hydra's instantiate."""
    return [
        "++model.pwn._target_=pathlib.Path.write_text",
        f"++model.pwn._args_=[{{_target_:pathlib.Path,_args_:[{target}]}},text]",
    ]


ATTACKS = [
    pytest.param(lambda t: ["++model.x._target_=pathlib.Path.touch"], id="target"),
    pytest.param(lambda t: [f"++model.x._args_=[{t}]"], id="args"),
    pytest.param(lambda t: ["++model.x._partial_=true"], id="partial"),
    pytest.param(lambda t: ["++model._recursive_=false"], id="recursive"),
    pytest.param(lambda t: ["++model._convert_=all"], id="convert"),
    pytest.param(lambda t: ["++model.image_size=${oc.env:HOME}"], id="interpolation"),
    pytest.param(lambda t: ["++model.image_size={a:1}"], id="braces"),
    pytest.param(lambda t: [f"++model.image_size={t}"], id="path"),
    pytest.param(lambda t: ["hydra.run.dir=/tmp"], id="outside-model"),
    pytest.param(lambda t: ["++model.image_encoder.trunk=builtins.open"], id="unknown-key"),
    pytest.param(lambda t: ["++model.image_size=1024,_target_:os.system"], id="smuggled"),
    pytest.param(lambda t: ["++model.image_size=true"], id="wrong-type"),
    pytest.param(lambda t: ["++model.image_encoder.trunk.stages=[1,1,1,1,1,1]"], id="long-list"),
    pytest.param(lambda t: ["~model.image_encoder"], id="delete"),
    pytest.param(lambda t: write_text_overrides(t), id="write-text"),
]


@pytest.fixture
def target(tmp_path) -> Path:
    return tmp_path / "written-by-the-attack"


@pytest.mark.parametrize("attack", ATTACKS)
def test_a_manual_load_with_code_in_its_overrides_is_refused(
    attack, target, micro_choice, api_client, team
):
    choice = {**micro_choice, "overrides": [*micro_choice["overrides"], *attack(target)]}
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/model/load/", choice, format="json"
    )
    assert response.status_code == 400
    assert "overrides" in json.dumps(response.json())
    assert not target.exists()
    assert not Job.objects.filter(kind=Job.Kind.MODEL_LOAD).exists()


def test_builtins_open_through_a_manual_load_writes_nothing(target, micro_choice, api_client, team):
    choice = {
        **micro_choice,
        "overrides": [
            "++model.x._target_=builtins.open",
            f"++model.x._args_=[{target},w]",
        ],
    }
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/model/load/", choice, format="json"
    )
    assert response.status_code == 400 and "names a callable" in response.json()["error"]["message"]
    assert not target.exists()


def test_documented_overrides_load_in_their_canonical_form(micro_choice):
    loose = [override.replace("++", "+", 1) for override in micro_choice["overrides"]]
    loose[2] = "++model.image_encoder.trunk.stages=[ 1, 1, 2, 1 ]"
    ref = loading.model_ref_from_choice({**micro_choice, "overrides": loose})
    assert ref.overrides == checkpoints.MICRO_OVERRIDES


def test_a_checkpoint_symlinked_out_of_the_model_roots_is_refused(
    checkpoint_dir, micro_choice, tmp_path
):
    outside = tmp_path / "outside.pt"
    outside.write_bytes(b"not a model")
    link = checkpoint_dir / "inside-link.pt"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    with pytest.raises(ValidationError, match="outside the model folders"):
        loading.model_ref_from_choice({**micro_choice, "checkpoint": str(link)})


def evil_active(target: Path, micro_checkpoint: Path) -> dict:
    return {
        "key": "manual",
        "checkpoint": "/etc/hostname",
        "config": checkpoints.TINY_CONFIG,
        "overrides": write_text_overrides(target),
        "params": {},
    }


def archive_with_model(project: Project, path: Path, active: dict) -> bytes:
    project.model_selection = {"active": active, "status": "loaded"}
    project.save(update_fields=["model_selection"])
    archive_write(project=project, target=path)
    return path.read_bytes()


def test_an_archive_whose_model_writes_a_file_is_refused(
    target, micro_checkpoint, team, api_client, tmp_path
):
    body = archive_with_model(
        team.project, tmp_path / "evil.zip", evil_active(target, micro_checkpoint)
    )
    projects = Project.objects.count()
    response = api_client(team.outsider).post(
        "/api/projects/archive/",
        {"file": SimpleUploadedFile("evil.zip", body), "name": "Evil"},
    )
    assert response.status_code == 400
    assert "model choice (active) is refused" in response.json()["error"]["message"]
    assert Project.objects.count() == projects
    assert not target.exists()


def test_an_archive_naming_a_registry_model_takes_its_file_from_the_registry(
    team, api_client, tmp_path
):
    active = {
        "key": "sam2.1_hiera_tiny",
        "checkpoint": "/etc/hostname",
        "config": "../../evil.yaml",
        "overrides": ["++model.x._target_=os.system"],
        "params": {},
    }
    body = archive_with_model(team.project, tmp_path / "tiny.zip", active)
    response = api_client(team.outsider).post(
        "/api/projects/archive/",
        {"file": SimpleUploadedFile("tiny.zip", body), "name": "Tiny"},
    )
    assert response.status_code == 201
    stored = Project.objects.get(name="Tiny").model_selection["active"]
    spec = registry.spec_for("sam2.1_hiera_tiny")
    assert (stored["checkpoint"], stored["config"], stored["overrides"]) == (
        str(spec.path),
        spec.config,
        [],
    )


def test_an_archive_model_outside_the_model_roots_is_refused(team, api_client, tmp_path):
    active = {"key": "manual", "checkpoint": "/etc/hostname", "config": checkpoints.TINY_CONFIG}
    body = archive_with_model(team.project, tmp_path / "elsewhere.zip", active)
    response = api_client(team.outsider).post(
        "/api/projects/archive/",
        {"file": SimpleUploadedFile("elsewhere.zip", body), "name": "Far away"},
    )
    assert response.status_code == 400
    assert "outside the model folders" in response.json()["error"]["message"]


def test_a_hand_edited_archive_model_is_refused(target, micro_checkpoint, team, tmp_path):
    """The checksums of an edited archive can be recomputed: the check is on the content."""
    path = tmp_path / "plain.zip"
    archive_with_model(team.project, path, micro_ref(micro_checkpoint).as_dict())
    with zipfile.ZipFile(path) as zipped:
        members = {name: zipped.read(name) for name in zipped.namelist()}
    project_rows = json.loads(members["data/project.json"])
    project_rows[0]["model_selection"]["active"]["overrides"] = write_text_overrides(target)
    members["data/project.json"] = json.dumps(project_rows).encode()
    manifest = json.loads(members.pop(MANIFEST))
    data = members["data/project.json"]
    manifest["members"]["data/project.json"] = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, value in members.items():
            out.writestr(name, value)
        out.writestr(MANIFEST, json.dumps(manifest))
    edited = tmp_path / "edited.zip"
    edited.write_bytes(buffer.getvalue())
    with pytest.raises(ValidationError, match="refused"):
        archive_import(path=edited, user=team.outsider, name="Edited")
    assert not target.exists()


def test_a_stored_row_from_an_older_version_is_refused_at_the_click(
    target, micro_checkpoint, drawn_pool, team, api_client
):
    images, _ = drawn_pool
    team.project.model_selection = {"active": evil_active(target, micro_checkpoint)}
    team.project.save(update_fields=["model_selection"])
    response = api_client(team.annotator).post(
        f"/api/images/{images[0].pk}/predict/",
        {"point_coords": [[10, 10]], "point_labels": [1]},
        format="json",
    )
    assert response.status_code == 400
    assert "stored model choice is refused" in response.json()["error"]["message"]
    assert not target.exists()


def test_a_stored_load_job_with_code_fails_without_building(
    target, micro_checkpoint, team, eager_tasks
):
    evil = evil_active(target, micro_checkpoint)
    evil["checkpoint"] = str(micro_checkpoint)
    job = Job.objects.create(project=team.project, kind=Job.Kind.MODEL_LOAD, params={"model": evil})
    with pytest.raises(ValidationError):
        loading.model_load_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert not target.exists()


def test_the_engine_refuses_a_reference_built_around_the_door(target, micro_checkpoint):
    """The last check: a ModelRef made directly in code is validated before Hydra runs."""
    ref = refs.ModelRef(
        key="manual",
        checkpoint=str(micro_checkpoint),
        config=checkpoints.TINY_CONFIG,
        overrides=(*checkpoints.MICRO_OVERRIDES, *write_text_overrides(target)),
    )
    with pytest.raises(refs.ModelRefused, match="names a callable"):
        engine.get_engine(ref)
    assert not target.exists()


def test_a_valid_stored_choice_still_predicts(micro_checkpoint, drawn_pool, team, api_client):
    images, drawings = drawn_pool
    use_model(team.project, micro_ref(micro_checkpoint))
    x, y = drawings[0].centre
    response = api_client(team.annotator).post(
        f"/api/images/{images[0].pk}/predict/",
        {"point_coords": [[x, y]], "point_labels": [1]},
        format="json",
    )
    assert response.status_code == 200, response.content
