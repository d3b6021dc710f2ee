"""Reading a project archive back: create a project from it, or restore one over an existing
project. Everything happens in one transaction; array files written on the way are removed
again when the import fails, so a failed upload leaves nothing behind."""

import math
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, models, transaction

from inference import refs
from projects import services
from projects.encoding import array_delete, array_save
from projects.exports.archive import (
    TABLES,
    ArchiveContents,
    ArchiveError,
    Table,
    archive_read,
    archive_users,
)
from projects.models import (
    Comment,
    Credential,
    Image,
    Job,
    Membership,
    Prediction,
    Project,
    Role,
    Source,
)
from projects.sources.folder import folder_allowed

SECRET_KINDS = {
    Credential.Kind.CONNECTION_STRING,
    Credential.Kind.ACCOUNT_KEY,
    Credential.Kind.SAS_TOKEN,
}


def archive_import(
    *, path: Path, user, project: Project | None = None, name: str | None = None
) -> Project:
    """Create a project from the archive at `path` (the uploader owns it), or, given
    `project`, replace that project's contents with the archive's."""
    contents = archive_read(path)
    written: list[str] = []
    try:
        with transaction.atomic():
            users = archive_users(contents.tables)
            if project is None:
                project = _project_create(contents, user, users, name)
            else:
                project = _project_clear(contents, project)
            _view_settings_seed(contents, project, user)
            _import_rows(contents, project, users, written)
            _check_availability(project)
    except (IntegrityError, DatabaseError) as error:
        _remove(written)
        raise ArchiveError(f"The archive's records are inconsistent ({error}).") from None
    except BaseException:
        _remove(written)
        raise
    finally:
        contents.close()
    return project


def _remove(written: list[str]) -> None:
    for relative in written:
        array_delete(relative)


def _state(row: dict) -> dict:
    values = {}
    for name in ("description", "model_selection", "export_settings", "ui_settings"):
        value = row.get(name)
        expected = str if name == "description" else dict
        if value is not None and not isinstance(value, expected):
            raise ArchiveError(f"The project's {name} in the archive has the wrong type.")
        values[name] = value if value is not None else expected()
    values["model_selection"] = _model_selection(values["model_selection"])
    review = row.get("review_required", False)  # archives from before the review stage
    if not isinstance(review, bool):
        raise ArchiveError("The project's review_required in the archive has the wrong type.")
    values["review_required"] = review
    # An archive from before view settings were per user carries them in ui_settings:
    # the project keeps the rest (its automask parameters), the importer gets them.
    values["ui_settings"] = {
        key: value
        for key, value in values["ui_settings"].items()
        if key not in services.VIEW_SETTINGS
    }
    return values


def _view_settings_seed(contents: ArchiveContents, project: Project, user) -> None:
    """The view settings of an older archive, where valid, become the importer's own in
    the project unless they saved some there already."""
    stored = contents.tables["project"][0].get("ui_settings")
    if isinstance(stored, dict):
        view = {key: stored[key] for key in services.VIEW_SETTINGS if key in stored}
        if view:
            services.user_settings_seed(user=user, project=project, values=view)


def _model_selection(state: dict) -> dict:
    """The archived model choices, each rebuilt by the one door to models; a choice that
    does not pass refuses the archive, since the first click would build it."""
    state = {name: value for name, value in state.items() if name != "job_id"}
    for name in ("active", "requested"):
        if state.get(name) is None:
            continue
        try:
            state[name] = refs.model_ref_parse(state[name]).as_dict()
        except ValidationError as error:
            reasons = "; ".join(error.messages)
            raise ArchiveError(
                f"The archive's model choice ({name}) is refused: {reasons}"
            ) from None
    return state


def _project_create(contents: ArchiveContents, user, users: dict, name: str | None) -> Project:
    row = contents.tables["project"][0]
    name = (name or str(row.get("name") or "")).strip()
    if not name:
        raise ValidationError({"name": "The archive names no project; give it a name."})
    if Project.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            {
                "name": f"A project named {name!r} exists already: give the new one another "
                "name, or restore the archive over that project."
            }
        )
    project = Project.objects.create(
        name=name, created_by=users.get(row.get("created_by")) or user, **_state(row)
    )
    Membership.objects.create(project=project, user=user, role=Role.OWNER)
    _keep_times(Project, project.pk, row)
    return project


def _project_clear(contents: ArchiveContents, project: Project) -> Project:
    """Remove the project's sources, images, records, credentials and labels; keep its name,
    members and jobs. Array files of the removed records go once the import has committed."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    running = Job.objects.filter(project=project, status__in=Job.ACTIVE).count()
    if running:
        # A running job would write records into images the restore is replacing.
        raise ValidationError(
            {
                "project": f"{running} job(s) are running on this project: let them finish or "
                "cancel them, then restore."
            }
        )
    old_files = [
        relative
        for pair in Prediction.objects.filter(image__project=project).values_list(
            "mask_input_file", "logits_file"
        )
        for relative in pair
        if relative
    ]
    Source.objects.filter(project=project).delete()
    project.credentials.all().delete()
    project.labels.all().delete()
    row = contents.tables["project"][0]
    for field, value in _state(row).items():
        setattr(project, field, value)
    project.save()
    _keep_times(Project, project.pk, row)
    transaction.on_commit(lambda: _remove(old_files))
    return project


def _keep_times(model: type[models.Model], pk: int, row: dict) -> None:
    times = {}
    for name in ("created_at", "updated_at"):
        if row.get(name):
            times[name] = _value(model, name, row[name], "project")
    model.objects.filter(pk=pk).update(**times)


def _value(model: type[models.Model], name: str, value, table: str):
    field = model._meta.get_field(name)
    if value is None:
        if not field.null and not isinstance(field, models.JSONField):
            raise ArchiveError(f"A record in {table} has no {name}.")
        return None
    try:
        value = field.to_python(value)
    except ValidationError as error:
        raise ArchiveError(
            f"A record in {table} has an invalid {name}: {error.messages[0]}"
        ) from None
    if field.choices and value not in {choice for choice, _ in field.flatchoices}:
        raise ArchiveError(f"A record in {table} has an invalid {name}: {value!r}.")
    return value


def _import_rows(contents: ArchiveContents, project: Project, users: dict, written) -> None:
    ids: dict[str, dict[int, int]] = {"project": {}}
    for table in TABLES[1:]:
        rows = contents.tables[table.name]
        objects = [_build(table, row, project, users, ids, contents, written) for row in rows]
        created = table.model.objects.bulk_create(objects, batch_size=500)
        ids[table.name] = {row["id"]: obj.pk for row, obj in zip(rows, created, strict=True)}
        _restore_auto_times(table, created)


# Mask fields are checked for shape on the way in: an archive edited by hand (checksums
# recomputed) must not plant a mask that breaks every later export.
RLE_FIELDS = {
    "mask_objects": {"mask": "one"},
    "automask_masks": {"segmentation": "one"},
    "predictions": {"final_mask": "optional", "masks": "list"},
    "ground_truth_objects": {"mask": "one"},
}


def _is_rle(value) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("counts"), str):
        return False
    size = value.get("size")
    return (
        isinstance(size, list)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in size)
    )


def _check_masks(table: Table, values: dict) -> None:
    for name, kind in RLE_FIELDS.get(table.name, {}).items():
        value = values[name]
        if kind == "optional" and value is None:
            continue
        masks = value if kind == "list" and isinstance(value, list) else [value]
        if (kind == "list" and not isinstance(value, list)) or not all(map(_is_rle, masks)):
            raise ArchiveError(f"A record in {table.name} has a {name} that is not a COCO RLE.")


def _check_point(table: Table, values: dict) -> None:
    """A comment's pin is [x, y] in image pixels, or none."""
    point = values.get("point")
    if table.model is not Comment or point is None:
        return
    if not (
        isinstance(point, list)
        and len(point) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
        and all(math.isfinite(v) and v >= 0 for v in point)
    ):
        raise ArchiveError(f"A record in {table.name} has a point that is not [x, y].")


def _build(table: Table, row: dict, project, users, ids, contents, written) -> models.Model:
    values = {name: _value(table.model, name, row.get(name), table.name) for name in table.fields}
    _check_masks(table, values)
    for name, target in table.references.items():
        if target == "project":
            values[f"{name}_id"] = project.pk
            continue
        old = row.get(name)
        if old is None:
            values[f"{name}_id"] = None
        elif old in ids.get(target, {}):
            values[f"{name}_id"] = ids[target][old]
        else:
            raise ArchiveError(f"A record in {table.name} refers to a missing {target} record.")
    for name, target in table.loose.items():
        old = row.get(name)
        values[name] = ids[target].get(old) if isinstance(old, int) else None
    _check_point(table, values)
    for name in table.users:
        values[name] = users.get(row.get(name))
    for name in table.arrays:
        member = row.get(name)
        if member is not None and not isinstance(member, str):
            raise ArchiveError(f"A record in {table.name} has an invalid {name}.")
        values[name] = ""
        if member:
            count = len(values.get("masks") or [])
            array = contents.array(member, shape_of=name, count=count)
            values[name] = array_save(array, project_id=project.pk)
            written.append(values[name])
    if table.name == "images" and row.get("source") in _upload_sources(contents):
        values["path"] = _upload_path(values["path"], project)
    obj = table.model(**values)
    obj._archived_times = {
        name: values[name] for name in _auto_time_fields(table) if values[name] is not None
    }
    return obj


def _upload_sources(contents: ArchiveContents) -> set[int]:
    return {row["id"] for row in contents.tables["sources"] if row.get("kind") == "upload"}


def _upload_path(path: str, project: Project) -> str:
    """An uploaded image lives in its project's own upload folder, `<project id>/...`: the
    archive's path is moved there, so no archive names another project's file."""
    pure = PurePosixPath(path)
    parts = pure.parts[1:] if pure.parts and pure.parts[0].isdigit() else pure.parts
    if pure.is_absolute() or not parts or ".." in parts or "\\" in path:
        raise ArchiveError(f"An uploaded image in the archive has an unsafe path: {path[:200]!r}.")
    return "/".join((str(project.pk), *parts))


def _auto_time_fields(table: Table) -> list[str]:
    return [
        name
        for name in table.fields
        if getattr(table.model._meta.get_field(name), "auto_now", False)
        or getattr(table.model._meta.get_field(name), "auto_now_add", False)
    ]


def _restore_auto_times(table: Table, created: list[models.Model]) -> None:
    """bulk_create stamps auto_now fields with the import time; put the archived times back."""
    names = _auto_time_fields(table)
    if not names or not created:
        return
    for obj in created:
        for name, value in obj._archived_times.items():
            setattr(obj, name, value)
    table.model.objects.bulk_update(created, names, batch_size=500)


def _check_availability(project: Project) -> None:
    """Flag what this server cannot read, keeping every record: sources whose folder or
    credential secret is missing here, and uploaded or folder images whose file is gone."""
    for source in Source.objects.filter(project=project).select_related("credential"):
        reason = _source_problem(source)
        if reason:
            source.mark_unavailable(reason)
            Image.objects.filter(source=source).update(available=False, unavailable_reason=reason)
            continue
        roots = _source_roots(source)
        if roots is None:
            continue  # URL and blob sources are checked when their images are opened
        base, confine = roots
        if not source.available:
            source.mark_available()
        # Images found keep the flags they were archived with (one may be unreadable).
        missing = []
        for pk, relative in Image.objects.filter(source=source).values_list("pk", "path"):
            path = (base / relative).resolve()
            if not (path.is_relative_to(confine) and path.is_file()):
                missing.append(pk)
        _flag(missing, "The file is not on this server.")


def _flag(image_ids: list[int], reason: str) -> None:
    # In slices: SQLite caps the number of parameters in one query.
    for start in range(0, len(image_ids), 1000):
        Image.objects.filter(pk__in=image_ids[start : start + 1000]).update(
            available=not reason, unavailable_reason=reason
        )


def _source_roots(source: Source) -> tuple[Path, Path] | None:
    """Where a source's image paths start, and the folder no path may leave: for uploads,
    the project's own upload folder."""
    if source.kind == Source.Kind.UPLOAD:
        base = Path(settings.ANNOTATOR_UPLOAD_DIR)
        return base, (base / str(source.project_id)).resolve()
    if source.kind == Source.Kind.FOLDER:
        base = Path(str(source.location.get("path", "")))
        return base, base.resolve()
    return None


def _source_problem(source: Source) -> str:
    credential = source.credential
    if credential is not None and credential.kind in SECRET_KINDS:
        return f"The credential {credential.name!r} has no secret on this server: enter it again."
    if source.kind == Source.Kind.FOLDER:
        folder = Path(str(source.location.get("path", "")))
        if not folder_allowed(folder):
            return f"The folder {str(folder)!r} is outside the folders this server may read."
        if not folder.is_absolute() or not folder.is_dir():
            return f"The folder {str(folder)!r} does not exist on this server."
    return ""
