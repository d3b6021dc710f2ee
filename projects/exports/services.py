"""Export workflows: start an export job, run it, or export one image at once; remember the
choices in the project state."""

import logging
import tempfile
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from annotator.ids import parse_id
from projects.exports.archive import archive_write
from projects.exports.formats import (
    ARCHIVE,
    CONTENT_TYPE,
    EXPORT_FORMATS,
    EXTENSION,
    MASK_FORMS_FOR,
    WRITERS,
    Categories,
    ExportOptions,
)
from projects.exports.masks import MASK_FORMS
from projects.exports.selectors import (
    RECORD_KINDS,
    SCOPES,
    Scope,
    export_images,
    project_categories,
    scope_images,
)
from projects.jobs import JobFailed, JobProgress, job_enqueue, run_job
from projects.models import ImageStatus, Job, Project

logger = logging.getLogger(__name__)

EXPORT_DIR = "exports"
# Progress events at most this often, so a large export is not slowed by its own reporting.
PROGRESS_SECONDS = 0.5
OPTION_FIELDS = tuple(ExportOptions.__dataclass_fields__)
SCOPE_KEYS = tuple(Scope.__dataclass_fields__)


def export_validate(*, project: Project, scope: Scope, options: ExportOptions) -> None:
    errors = {}
    if scope.kind not in SCOPES:
        errors["scope"] = f"Scope must be one of {', '.join(SCOPES)}."
    elif scope.kind == "image" and not project.images.filter(pk=scope.image_id or 0).exists():
        errors["image_id"] = "Choose an image of this project to export."
    if scope.source_id is not None and not project.sources.filter(pk=scope.source_id).exists():
        errors["source_id"] = "That source is not in this project."
    if scope.status and scope.status not in ImageStatus.values:
        errors["status"] = f"Status must be one of {', '.join(ImageStatus.values)}."
    if options.format not in EXPORT_FORMATS:
        errors["format"] = f"Format must be one of {', '.join(EXPORT_FORMATS)}."
    elif options.format == ARCHIVE:
        if scope.kind != "pool":
            errors["scope"] = "The project archive holds the whole project: choose scope pool."
    elif options.mask_form not in MASK_FORMS_FOR[options.format]:
        errors["mask_form"] = (
            f"The {options.format} format takes the mask forms "
            f"{', '.join(MASK_FORMS_FOR[options.format])}."
        )
    if not options.records or set(options.records) - set(RECORD_KINDS):
        errors["records"] = f"Choose records among {', '.join(RECORD_KINDS)}."
    if errors:
        raise ValidationError(errors)


def export_params(scope: Scope, options: ExportOptions) -> dict:
    return {"scope": asdict(scope), **asdict(options), "records": list(options.records)}


def export_from_params(params: dict) -> tuple[Scope, ExportOptions]:
    options = {key: value for key, value in params.items() if key != "scope"}
    options["records"] = tuple(options.get("records", ("objects",)))
    return Scope(**params.get("scope", {})), ExportOptions(**options)


DEFAULT_SCOPE = {"kind": "pool"}
DEFAULT_OPTIONS = {"format": "coco", "mask_form": "coco_rle", "records": ["objects"]}
SCOPE_FIELDS = ("image_id", "completed_only", "source_id")


def export_choices(*, project: Project, data: dict) -> tuple[Scope, ExportOptions]:
    """The request's choices over the project's saved ones, over the defaults."""
    # Saved choices are part of a JSON state anyone may have written: keep only known keys.
    saved = project.export_settings.get("choices")
    saved = saved if isinstance(saved, dict) else {}
    saved_scope = _known(saved["scope"] if isinstance(saved.get("scope"), dict) else {}, SCOPE_KEYS)
    for name in ("image_id", "source_id"):
        if name in saved_scope:
            # What is no id there names nothing; it must not reach a query.
            saved_scope[name] = parse_id(saved_scope[name])
    scope = {**DEFAULT_SCOPE, **saved_scope}
    if "scope" in data:
        scope = {**DEFAULT_SCOPE, "kind": data["scope"]}
    if "image_status" in data:
        scope["status"] = data["image_status"]
    scope.update({name: data[name] for name in SCOPE_FIELDS if name in data})
    options = {**DEFAULT_OPTIONS, **_known(saved, OPTION_FIELDS)}
    options.update({name: value for name, value in data.items() if name in OPTION_FIELDS})
    options["records"] = tuple(sorted(options.get("records") or ()))
    forms = MASK_FORMS_FOR.get(options["format"])
    if "mask_form" not in data and forms and options["mask_form"] not in forms:
        # A saved form this format cannot take (polygons, saved by a COCO export, for CSV)
        # gives way to the format's default; only a form asked for now is refused.
        options["mask_form"] = forms[0]
    return Scope(**scope), ExportOptions(**options)


def _known(values: dict, keys: tuple[str, ...]) -> dict:
    return {key: value for key, value in values.items() if key in keys}


def export_settings_remember(*, project: Project, params: dict, user) -> None:
    """The last export's settings, and the choices the next export starts from, are part of
    the project state."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        choices = {key: value for key, value in params.items() if key != "scope"}
        saved_choices = locked.export_settings.get("choices")
        saved_choices = saved_choices if isinstance(saved_choices, dict) else {}
        if _kept_form(saved_choices.get("mask_form"), params):
            choices["mask_form"] = saved_choices["mask_form"]
        # A one-image export is a quick look, not a choice for the next export's scope.
        saved = saved_choices.get("scope", {})
        scope = saved if params["scope"]["kind"] == "image" else params["scope"]
        locked.export_settings = {
            **locked.export_settings,
            "choices": {**choices, "scope": scope},
            "last_export": {
                "params": params,
                "at": timezone.now().isoformat(),
                "by": getattr(user, "username", None),
            },
        }
        locked.save(update_fields=["export_settings", "updated_at"])
    project.export_settings = locked.export_settings


def _kept_form(saved: object, params: dict) -> bool:
    """Whether a saved mask form outlives this export: one its format could not take, where
    the export used the format's default, stays for the next export of a format that can."""
    forms = MASK_FORMS_FOR.get(params["format"], ())
    return (
        bool(forms)
        and saved in MASK_FORMS
        and saved not in forms
        and params["mask_form"] == forms[0]
    )


def export_start(
    *, project: Project, user, scope: Scope, options: ExportOptions, remember: bool = True
) -> Job:
    """Queue an export of the chosen images and records; the job's result names the file.

    remember: keep these choices in the project state (members who may edit it)."""
    export_validate(project=project, scope=scope, options=options)
    params = export_params(scope, options)
    with transaction.atomic():
        job = Job.objects.create(
            project=project, kind=Job.Kind.EXPORT, params=params, created_by=user
        )
        if remember and options.format != ARCHIVE:
            export_settings_remember(project=project, params=params, user=user)
        job_enqueue(job)
    return job


def export_write(
    *, project: Project, scope: Scope, options: ExportOptions, target: Path, progress=None
) -> dict:
    """Write the export file at `target`; returns what it holds (image and mask counts)."""
    if options.format == ARCHIVE:
        counts = archive_write(project=project, target=target)["counts"]
        return {"images": counts["images"], "masks": counts["mask_objects"], "records": counts}
    images = scope_images(project, scope)
    writer = WRITERS[options.format]
    keep = options.format == "seed_json"
    return writer(
        export_images(images, options.records, keep_records=keep),
        project=project,
        options=options,
        categories=Categories(project_categories(project)),
        target=target,
        progress=progress or (lambda done: None),
    )


def export_file_name(project: Project, options: ExportOptions, suffix: str = "") -> str:
    slug = slugify(project.name) or "project"
    return f"{slug}-{options.format}{suffix}.{EXTENSION[options.format]}"


def export_run(*, job_id: int) -> Job:
    """Run a queued export job. A job already finished is left as it is, so a redelivered
    task does no work twice."""

    def work(progress: JobProgress) -> str:
        job = progress.job
        project = job.owning_project
        scope, options = export_from_params(job.params)
        name = f"{job.pk}.{EXTENSION[options.format]}"
        relative = Path(EXPORT_DIR) / str(job.project_id) / name
        target = Path(settings.MEDIA_ROOT) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        total = scope_images(project, scope).count()
        progress.start(total=total, message="Exporting")
        try:
            counts = export_write(
                project=project,
                scope=scope,
                options=options,
                target=partial,
                progress=lambda done: progress.step(
                    done=done,
                    message=f"Exported {done} of {total} images",
                    every=PROGRESS_SECONDS,
                    force=done == total,
                ),
            )
            partial.replace(target)
        except (ValueError, OSError) as error:
            raise JobFailed(f"The export failed: {error}") from error
        finally:
            partial.unlink(missing_ok=True)
        job.done = total
        job.result = {
            "file": relative.as_posix(),
            "filename": export_file_name(project, options, f"-{job.pk}"),
            "content_type": CONTENT_TYPE[EXTENSION[options.format]],
            "size": target.stat().st_size,
            **counts,
        }
        return "Export ready."

    run_job(job_id, work)
    job = Job.objects.get(pk=job_id)
    if job.status == Job.Status.DONE:
        export_files_prune(project_id=job.project_pk)
    return job


def export_files_prune(*, project_id: int) -> int:
    """Delete the project's export files older than ANNOTATOR_EXPORT_KEEP_HOURS; their jobs
    stay, saying the file expired. Returns how many files went."""
    cutoff = timezone.now() - timedelta(hours=settings.ANNOTATOR_EXPORT_KEEP_HOURS)
    expired = Job.objects.filter(
        project_id=project_id,
        kind=Job.Kind.EXPORT,
        status=Job.Status.DONE,
        finished_at__lt=cutoff,
    )
    root = Path(settings.MEDIA_ROOT).resolve()
    count = 0
    for job in expired:
        if not job.result.get("file"):
            continue
        path = (root / job.result["file"]).resolve()
        if path.is_relative_to(root / EXPORT_DIR):
            path.unlink(missing_ok=True)
            count += 1
        job.result = {**job.result, "file": ""}
        job.message = "The export file expired; start the export again."
        job.save(update_fields=["result", "message", "updated_at"])
    return count


def export_inline(
    *, project: Project, user, scope: Scope, options: ExportOptions, remember: bool = True
):
    """Export a small scope (one image) in the request: returns (bytes, file name, type)."""
    export_validate(project=project, scope=scope, options=options)
    if remember:
        export_settings_remember(project=project, params=export_params(scope, options), user=user)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "export"
        try:
            export_write(project=project, scope=scope, options=options, target=target)
        except ValueError as error:
            raise ValidationError({"detail": str(error)}) from None
        data = target.read_bytes()
    return data, export_file_name(project, options), CONTENT_TYPE[EXTENSION[options.format]]


def export_file(job: Job) -> Path:
    """The finished file of an export job, or a ValidationError saying why there is none."""
    if job.kind != Job.Kind.EXPORT:
        raise ValidationError({"job": "This job is not an export."})
    if job.status != Job.Status.DONE:
        raise ValidationError({"job": f"The export is {job.status}, not ready to download."})
    root = Path(settings.MEDIA_ROOT).resolve()
    relative = job.result.get("file", "")
    path = (root / relative).resolve()
    if not relative or not path.is_relative_to(root / EXPORT_DIR) or not path.is_file():
        raise ValidationError({"job": "The export file is gone; start the export again."})
    return path


def archive_export(*, project: Project):
    """The project's archive as an open file (already unlinked from disk) and its name."""
    folder = Path(settings.MEDIA_ROOT) / EXPORT_DIR / "archives"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".zip", delete=False) as temporary:
        path = Path(temporary.name)
    try:
        archive_write(project=project, target=path)
        handle = path.open("rb")
    finally:
        path.unlink(missing_ok=True)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return handle, f"{slugify(project.name) or 'project'}-{stamp}.annotator.zip"
