"""The project archive: a project leaves as one file and re-opens with everything as it was;
bad archives are refused whole."""

import hashlib
import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from projects.encoding import array_open, rle_to_mask
from projects.exports.archive import (
    EXCLUDED_MODELS,
    MANIFEST,
    TABLES,
    ArchiveError,
    archive_write,
)
from projects.exports.restore import archive_import
from projects.models import (
    AutomaskMask,
    Comment,
    Credential,
    GroundTruthObject,
    Image,
    Job,
    Label,
    MaskObject,
    Membership,
    Prediction,
    Project,
    Review,
    ReviewState,
    Role,
    Source,
)


@pytest.fixture
def archive(annotated, tmp_path) -> Path:
    project = annotated.project
    project.export_settings = {"choices": {"format": "voc", "records": ["objects"]}}
    project.ui_settings = {"automask_params": {"points_per_side": 8}}
    project.model_selection = {"key": "sam2.1_hiera_tiny", "postprocess": True}
    project.save()
    path = tmp_path / "cells.zip"
    archive_write(project=project, target=path)
    return path


def uploaded_files(project: Project, *images: Image) -> None:
    """Put the images' files in the project's upload folder, where uploads live."""
    for image in images:
        path = Path(settings.ANNOTATOR_UPLOAD_DIR) / str(project.pk) / pool_path(image)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not read by the import")


def pool_path(image: Image) -> str:
    """An image's path inside its source: an upload's without its project's folder."""
    head, _, rest = image.path.partition("/")
    return rest if image.source.kind == "upload" and head.isdigit() else image.path


def array_files() -> set[Path]:
    return set((Path(settings.MEDIA_ROOT) / "arrays").rglob("*.np[yz]"))


def snapshot(project: Project) -> dict:
    """Everything a person sees of a project, without database ids."""
    images = sorted(Image.objects.filter(project=project).select_related("source"), key=pool_path)
    return {
        "state": (
            project.description,
            project.model_selection,
            project.export_settings,
            project.ui_settings,
        ),
        "labels": sorted(Label.objects.filter(project=project).values_list("name", "color")),
        "sources": sorted(
            Source.objects.filter(project=project).values_list("kind", "name", "location")
        ),
        "images": [
            (
                pool_path(i),
                i.key,
                i.width,
                i.height,
                i.status,
                i.completed,
                i.has_automask,
                i.has_manual_prediction,
                i.has_manual_edit,
                i.version,
                i.added_at,
            )
            for i in images
        ],
        "objects": sorted(
            (
                pool_path(o.image),
                o.name,
                o.label.name if o.label else None,
                o.mask["counts"],
                o.origin,
                o.created_at,
            )
            for o in MaskObject.objects.filter(image__project=project).select_related("label")
        ),
        "predictions": [
            (
                pool_path(p.image),
                p.point_coords,
                p.point_labels,
                p.box,
                p.model,
                p.masks,
                p.scores,
                p.chosen_index,
                p.final_mask,
                p.created_at,
                array_open(p.logits_file).tolist(),
                array_open(p.mask_input_file).tolist(),
            )
            for p in Prediction.objects.filter(image__project=project).order_by("created_at")
        ],
        "automask": sorted(
            (
                pool_path(m.run.image),
                m.run.params,
                m.segmentation["counts"],
                m.area,
                m.bbox,
                m.predicted_iou,
                m.stability_score,
                m.point_coords,
                m.crop_box,
            )
            for m in AutomaskMask.objects.filter(run__image__project=project)
        ),
    }


def test_archive_reopens_the_project_as_it_was(annotated, archive, make_user):
    uploaded_files(annotated.project, *annotated.images)
    before = snapshot(Project.objects.get(pk=annotated.project.pk))
    mover = make_user("mover")
    copy = archive_import(path=archive, user=mover, name="Cells on the new server")
    assert snapshot(copy) == before
    assert Membership.objects.get(project=copy).user == mover
    assert Membership.objects.get(project=copy).role == Role.OWNER
    # A new project's uploads live in its own folder: the old project's files stay its own.
    images = Image.objects.filter(project=copy)
    assert all(image.path.startswith(f"{copy.pk}/") for image in images)
    assert not images.filter(available=True).exists()


def test_a_deleted_project_comes_back_under_its_own_name(annotated, archive, team):
    before = snapshot(Project.objects.get(pk=annotated.project.pk))
    annotated.project.delete()
    restored = archive_import(path=archive, user=team.owner)
    assert restored.name == "Cells"
    assert snapshot(restored) == before


def test_object_links_to_labels_and_predictions_survive(annotated, archive, team):
    prediction = annotated.predictions[0]
    MaskObject.objects.create(
        image=prediction.image,
        mask=prediction.final_mask,
        origin=MaskObject.Origin.PREDICTION,
        prediction=prediction,
        automask=annotated.automask[0],
        label=annotated.labels["cell"],
    )
    archive_write(project=annotated.project, target=archive)
    copy = archive_import(path=archive, user=team.owner, name="Linked")
    linked = MaskObject.objects.get(image__project=copy, prediction__isnull=False)
    assert linked.prediction.image.project == copy
    assert linked.prediction.final_mask == prediction.final_mask
    assert linked.automask.run.image.project == copy
    assert linked.label.project == copy and linked.label.name == "cell"


def test_images_missing_on_this_server_are_flagged_not_dropped(annotated, archive, team):
    uploaded_files(annotated.project, annotated.images[0])
    copy = archive_import(path=archive, user=team.owner, project=annotated.project)
    flags = {pool_path(i): i.available for i in Image.objects.filter(project=copy)}
    assert flags == {"plate-0.png": True, "plate-1.png": False, "plate-2.png": False}
    missing = Image.objects.get(project=copy, path__endswith="plate-1.png")
    assert missing.unavailable_reason == "The file is not on this server."
    assert MaskObject.objects.filter(image=missing).count() == 1


def test_a_folder_missing_on_this_server_flags_its_source(team, tmp_path, settings):
    settings.ANNOTATOR_FOLDER_ROOTS = [tmp_path]
    source = Source.objects.create(
        project=team.project,
        kind=Source.Kind.FOLDER,
        name="scans",
        location={"path": str(tmp_path / "nowhere" / "scans")},
    )
    Image.objects.create(project=team.project, source=source, path="a.tif")
    path = tmp_path / "a.zip"
    archive_write(project=team.project, target=path)
    copy = archive_import(path=path, user=team.owner, name="Scans")
    source = Source.objects.get(project=copy)
    assert not source.available and "does not exist on this server" in source.unavailable_reason
    assert not Image.objects.get(project=copy).available


def test_secrets_stay_behind_and_their_sources_ask_for_them(team, tmp_path):
    credential = Credential.objects.create(
        project=team.project,
        name="lab storage",
        kind=Credential.Kind.ACCOUNT_KEY,
        secret_encrypted="gAAAAA-the-encrypted-account-key",
    )
    Source.objects.create(
        project=team.project,
        kind=Source.Kind.AZURE_BLOB,
        name="blobs",
        location={"account_url": "https://lab.blob.core.windows.net", "container": "c"},
        credential=credential,
    )
    path = tmp_path / "a.zip"
    archive_write(project=team.project, target=path)
    with zipfile.ZipFile(path) as zipped:
        everything = b"".join(zipped.read(name) for name in zipped.namelist())
    assert b"the-encrypted-account-key" not in everything
    copy = archive_import(path=path, user=team.owner, name="Blobs")
    restored = Credential.objects.get(project=copy)
    assert (restored.name, restored.kind, restored.secret_encrypted) == (
        "lab storage",
        "account_key",
        "",
    )
    source = Source.objects.get(project=copy)
    assert not source.available and "enter it again" in source.unavailable_reason


def test_restore_over_a_project_replaces_its_contents_and_keeps_its_members(
    annotated, archive, team, django_capture_on_commit_callbacks
):
    uploaded_files(annotated.project, *annotated.images)
    before = snapshot(Project.objects.get(pk=annotated.project.pk))
    old_arrays = array_files()
    annotated.objects[0].delete()
    Label.objects.create(project=annotated.project, name="debris", color="#123456")
    extra = Source.objects.create(project=annotated.project, kind=Source.Kind.UPLOAD, name="x")
    Image.objects.create(project=annotated.project, source=extra, path="late.png")
    with django_capture_on_commit_callbacks(execute=True):
        restored = archive_import(path=archive, user=team.owner, project=annotated.project)
    assert restored.pk == annotated.project.pk
    assert snapshot(restored) == before
    assert (
        Membership.objects.filter(project=restored).count() == 4
    )  # owner, annotator, viewer, reviewer
    assert not (old_arrays & array_files())  # the replaced records' arrays are gone


def test_a_name_taken_on_this_server_is_refused_with_a_way_out(annotated, archive, team):
    with pytest.raises(ValidationError) as error:
        archive_import(path=archive, user=team.owner)
    assert "exists already" in str(error.value)


# Bad archives -----------------------------------------------------------------------------


def rewrite(
    path: Path, changes: dict, *, manifest_changes: dict | None = None, fix_checksums: bool = True
) -> Path:
    """A copy of the archive with members replaced (bytes), removed (None) or added."""
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    manifest = json.loads(members.pop(MANIFEST))
    for name, data in changes.items():
        if data is None:
            members.pop(name)
            manifest["members"].pop(name)
            continue
        members[name] = data
        if fix_checksums:
            manifest["members"][name] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
            }
    manifest.update(manifest_changes or {})
    target = path.with_name("changed.zip")
    with zipfile.ZipFile(target, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
        out.writestr(MANIFEST, json.dumps(manifest))
    return target


def refused(path: Path, user, **kwargs) -> str:
    projects, arrays = Project.objects.count(), array_files()
    with pytest.raises(ArchiveError) as error:
        archive_import(path=path, user=user, **kwargs)
    assert Project.objects.count() == projects
    assert array_files() == arrays
    return error.value.message_dict["archive"][0]


def test_a_truncated_archive_is_refused(archive, team):
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert "truncated" in refused(archive, team.owner, name="T")


def test_a_tampered_member_is_refused(archive, team):
    objects = json.loads(zipfile.ZipFile(archive).read("data/mask_objects.json"))
    objects[0]["name"] = "changed"
    changed = rewrite(
        archive, {"data/mask_objects.json": json.dumps(objects).encode()}, fix_checksums=False
    )
    assert "does not match its checksum" in refused(changed, team.owner, name="T")


def test_a_file_slipped_into_the_archive_is_refused(archive, team):
    changed = rewrite(archive, {"data/extra.py": b"print('hi')"}, fix_checksums=False)
    assert "not in its manifest" in refused(changed, team.owner, name="T")


def test_a_missing_member_is_refused(archive, team):
    with zipfile.ZipFile(archive) as zipped:
        members = {n: zipped.read(n) for n in zipped.namelist() if n != "data/images.json"}
    with zipfile.ZipFile(archive, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    assert "incomplete" in refused(archive, team.owner, name="T")


def test_a_foreign_zip_is_refused(tmp_path, team):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("cat.jpg", b"\xff\xd8")
    assert "not a project archive" in refused(path, team.owner)
    with zipfile.ZipFile(path, "w") as out:
        out.writestr(MANIFEST, json.dumps({"format": "something-else", "version": 1}))
    assert "not a project archive" in refused(path, team.owner)
    path.write_bytes(b"name,label\nx,y\n")
    assert "not a complete zip archive" in refused(path, team.owner)


def test_an_archive_from_a_newer_version_is_refused(archive, team):
    changed = rewrite(archive, {}, manifest_changes={"version": 99})
    message = refused(changed, team.owner, name="T")
    assert "newer version" in message and "99" in message


def test_pickled_arrays_are_refused_without_being_run(archive, team, tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload()], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(archive) as zipped:
        member = next(n for n in zipped.namelist() if n.startswith("arrays/"))
    changed = rewrite(archive, {member: buffer.getvalue()})
    assert "not a plain array file" in refused(changed, team.owner, name="T")
    pickled = rewrite(archive, {"data/labels.json": pickle.dumps(Payload())})
    assert "not valid JSON" in refused(pickled, team.owner, name="T")
    assert not marker.exists()


def test_inconsistent_records_leave_nothing_behind(archive, team):
    objects = json.loads(zipfile.ZipFile(archive).read("data/mask_objects.json"))
    objects[-1]["image"] = 987654
    changed = rewrite(archive, {"data/mask_objects.json": json.dumps(objects).encode()})
    assert "missing images record" in refused(changed, team.owner, name="T")
    images = json.loads(zipfile.ZipFile(archive).read("data/images.json"))
    images[0]["status"] = "exploded"
    changed = rewrite(archive, {"data/images.json": json.dumps(images).encode()})
    assert "invalid status: 'exploded'" in refused(changed, team.owner, name="T")
    labels = json.loads(zipfile.ZipFile(archive).read("data/labels.json"))
    labels[0]["color"] = "red"  # what the database itself refuses
    changed = rewrite(archive, {"data/labels.json": json.dumps(labels).encode()})
    assert "inconsistent" in refused(changed, team.owner, name="T")


def test_a_failed_restore_leaves_the_existing_project_untouched(annotated, archive, team):
    before = snapshot(Project.objects.get(pk=annotated.project.pk))
    objects = json.loads(zipfile.ZipFile(archive).read("data/mask_objects.json"))
    objects[-1]["label"] = 424242
    changed = rewrite(archive, {"data/mask_objects.json": json.dumps(objects).encode()})
    refused(changed, team.owner, project=annotated.project)
    assert snapshot(Project.objects.get(pk=annotated.project.pk)) == before


def test_size_limits_are_enforced_before_reading(archive, team, settings):
    settings.ANNOTATOR_ARCHIVE_MAX_UNPACKED_MB = 0
    assert "unpacks to" in refused(archive, team.owner, name="T")
    settings.ANNOTATOR_ARCHIVE_MAX_MEMBERS = 3
    settings.ANNOTATOR_ARCHIVE_MAX_UNPACKED_MB = 100
    assert "files; this server accepts up to 3" in refused(archive, team.owner, name="T")
    settings.ANNOTATOR_ARCHIVE_MAX_MB = 0
    assert "accepts archives up to 0 MiB" in refused(archive, team.owner, name="T")


# Drift ------------------------------------------------------------------------------------


def test_every_field_of_every_archived_model_is_covered():
    for table in TABLES:
        covered = {
            "id",
            *table.fields,
            *table.references,
            *table.users,
            *table.arrays,
            *table.excluded,
            *table.loose,
        }
        fields = {field.name for field in table.model._meta.concrete_fields}
        assert fields <= covered, (
            f"{table.model.__name__} has fields the archive does not cover: "
            f"{sorted(fields - covered)}; add them to TABLES (or exclude them with a reason)"
        )


def test_every_model_of_the_projects_app_is_archived_or_excluded_with_a_reason():
    archived = {table.model for table in TABLES} | set(EXCLUDED_MODELS)
    missing = set(apps.get_app_config("projects").get_models()) - archived
    assert not missing, f"decide how these models travel in the archive: {missing}"


def test_archived_masks_are_the_stored_ones(annotated, archive):
    with zipfile.ZipFile(archive) as zipped:
        objects = json.loads(zipped.read("data/mask_objects.json"))
    by_id = {row["id"]: row for row in objects}
    for obj in annotated.objects:
        assert np.array_equal(rle_to_mask(by_id[obj.pk]["mask"]), rle_to_mask(obj.mask))


def test_restore_waits_for_running_jobs(annotated, archive, team):
    Job.objects.create(
        project=annotated.project, kind=Job.Kind.AUTOMASK_POOL, status=Job.Status.RUNNING
    )
    before = snapshot(Project.objects.get(pk=annotated.project.pk))
    with pytest.raises(ValidationError, match="running on this project"):
        archive_import(path=archive, user=team.owner, project=annotated.project)
    assert snapshot(Project.objects.get(pk=annotated.project.pk)) == before


def test_a_hand_edited_mask_that_is_not_rle_is_refused(archive, team):
    objects = json.loads(zipfile.ZipFile(archive).read("data/mask_objects.json"))
    objects[0]["mask"] = {"size": [48, 64], "counts": [1, 2, 3]}
    changed = rewrite(archive, {"data/mask_objects.json": json.dumps(objects).encode()})
    assert "mask that is not a COCO RLE" in refused(changed, team.owner, name="T")


# The review stage, comments and ground truth -----------------------------------------------


def review_scene(annotated, team):
    """An accepted ground-truth image with its reference, a rejection before, and a thread of
    comments (an issue pinned to a point about one object, and a resolved reply)."""
    project = annotated.project
    project.review_required = True
    project.save()
    image, obj = annotated.images[0], annotated.objects[0]
    when = timezone.now()
    Image.objects.filter(pk=image.pk).update(
        review_state=ReviewState.ACCEPTED,
        submitted_by=team.annotator,
        submitted_at=when,
        ground_truth=True,
        honeypot=True,
    )
    GroundTruthObject.objects.create(
        image=image, label=obj.label, mask=obj.mask, created_by=team.owner
    )
    rejected = Review.objects.create(
        image=image,
        reviewer=team.reviewer,
        annotator=team.annotator,
        decision=Review.Decision.REJECTED,
        comment="The ring is too small.",
    )
    Review.objects.create(
        image=image, reviewer=team.reviewer, annotator=team.annotator, decision="accepted"
    )
    issue = Comment.objects.create(
        image=image,
        object_id=obj.pk,
        author=team.reviewer,
        body="Grow the ring.",
        is_issue=True,
        point=[12.5, 7.0],
        review=rejected,
        resolved_at=when,
        resolved_by=team.annotator,
    )
    Comment.objects.create(image=image, parent=issue, author=team.annotator, body="Done.")
    Comment.objects.create(image=image, object_id=987654, author=team.owner, body="Gone object.")


def review_snapshot(project: Project) -> dict:
    images = Image.objects.filter(project=project)
    names = {o.pk: o.name for o in MaskObject.objects.filter(image__project=project)}
    return {
        "review_required": project.review_required,
        "images": sorted(
            (
                i.path.rsplit("/", 1)[-1],
                i.review_state,
                i.submitted_by_id,
                i.submitted_at,
                i.ground_truth,
                i.honeypot,
            )
            for i in images
        ),
        "reference": sorted(
            (g.image.path.rsplit("/", 1)[-1], g.label.name if g.label else None, json.dumps(g.mask))
            for g in GroundTruthObject.objects.filter(image__project=project)
        ),
        "reviews": [
            (r.reviewer_id, r.annotator_id, r.decision, r.comment, r.created_at)
            for r in Review.objects.filter(image__project=project).order_by("created_at", "id")
        ],
        "comments": [
            (
                c.body,
                c.is_issue,
                c.point,
                names.get(c.object_id),
                c.parent.body if c.parent else None,
                c.review.comment if c.review else None,
                c.author_id,
                c.resolved_by_id,
                c.resolved_at,
                c.created_at,
            )
            for c in Comment.objects.filter(image__project=project).order_by("created_at", "id")
        ],
    }


def test_the_review_stage_comments_and_ground_truth_travel(annotated, team, tmp_path):
    review_scene(annotated, team)
    path = tmp_path / "reviewed.zip"
    archive_write(project=annotated.project, target=path)
    before = review_snapshot(Project.objects.get(pk=annotated.project.pk))
    copy = archive_import(path=path, user=team.owner, name="Reviewed elsewhere")
    after = review_snapshot(copy)
    assert after == before
    # The issue is about the copy's own object; a comment on an object gone stays on the image.
    assert [c[3] for c in after["comments"]] == ["ring", None, None]
    gone = Comment.objects.get(image__project=copy, body="Gone object.")
    assert gone.object_id is None


def test_a_hand_edited_pin_or_decision_is_refused(annotated, team, tmp_path):
    review_scene(annotated, team)
    path = tmp_path / "reviewed.zip"
    archive_write(project=annotated.project, target=path)
    comments = json.loads(zipfile.ZipFile(path).read("data/comments.json"))
    comments[0]["point"] = ["__import__('os')", 1]
    changed = rewrite(path, {"data/comments.json": json.dumps(comments).encode()})
    assert "a point that is not [x, y]" in refused(changed, team.owner, name="T")
    reviews = json.loads(zipfile.ZipFile(path).read("data/reviews.json"))
    reviews[0]["decision"] = "bribed"
    changed = rewrite(path, {"data/reviews.json": json.dumps(reviews).encode()})
    assert "invalid decision" in refused(changed, team.owner, name="T")
    assert not Project.objects.filter(name="T").exists()
