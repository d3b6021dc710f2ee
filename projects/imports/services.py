"""Importing annotations into a project's pool: start the job, match the file's images to
the pool, turn each annotation into a mask, and write everything in one transaction.

The work runs in two phases. The first reads the file, matches its images (by the names the
exports give them: projects.exports.naming), learns each image's size and turns every
annotation into an RLE, with progress and cancel checks and nothing written but the sizes of
images read for the first time. The second writes all of it in one transaction: final
objects (each image one undo step, so undo in the editor removes what the import added) or
one automask run per image (reviewed in the editor like any automask), each touched image's
version bumped. A failure in either phase leaves no annotation behind.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from projects.activity import activity_record_many
from projects.encoding import rle_area, rle_bbox
from projects.events import project_group, publish
from projects.exports.naming import file_stem, names_for, relative_safe
from projects.exports.selectors import ExportImage, export_sizes
from projects.imports.formats import (
    FORMATS,
    MAX_REPORTED,
    MODES,
    ZIP_FORMATS,
    Entry,
    ImportRefused,
    Parsed,
    parsed_file,
)
from projects.imports.masks import EmptyMask, InvalidShape
from projects.jobs import JobFailed, JobProgress, job_enqueue, run_job
from projects.models import (
    AutomaskMask,
    AutomaskRun,
    EditHistory,
    EditStep,
    Image,
    ImageStatus,
    Job,
    Label,
    MaskObject,
    Project,
)
from projects.selectors import image_source_path, pool_images
from projects.services import label_create
from projects.workflow.services import UNDO_DEPTH, snapshot

IMPORT_DIR = "imports"
PROGRESS_SECONDS = 0.5
CROWD = "crowd"


# Starting ------------------------------------------------------------------------------------


def import_limit_bytes() -> int:
    return settings.ANNOTATOR_IMPORT_MAX_MB * 2**20


def import_start(
    *, project: Project, user, upload, format: str, mode: str, create_labels: bool
) -> Job:
    """Save the uploaded file under the media folder and queue its import."""
    if format not in FORMATS:
        raise ValidationError({"format": f"Format must be one of {', '.join(FORMATS)}."})
    if mode not in MODES:
        raise ValidationError({"mode": f"Mode must be one of {', '.join(MODES)}."})
    limit = import_limit_bytes()
    if upload.size > limit:
        raise ValidationError(
            {
                "file": f"The file is {upload.size / 2**20:.1f} MiB; this server imports files "
                f"up to {settings.ANNOTATOR_IMPORT_MAX_MB} MiB."
            }
        )
    relative = Path(IMPORT_DIR) / str(project.pk) / f"{uuid.uuid4().hex}.upload"
    target = Path(settings.MEDIA_ROOT) / relative
    _save_upload(upload, target, limit)
    try:
        _sniff(target, format)
        with transaction.atomic():
            job = Job.objects.create(
                project=project,
                kind=Job.Kind.IMPORT,
                created_by=user,
                params={
                    "file": relative.as_posix(),
                    "file_name": str(getattr(upload, "name", "") or "")[:200],
                    "format": format,
                    "mode": mode,
                    "create_labels": bool(create_labels),
                },
                message="Queued",
            )
            job_enqueue(job)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return job


def _save_upload(upload, target: Path, limit: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with target.open("xb") as out:
        for chunk in upload.chunks():
            written += len(chunk)
            if written > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise ValidationError({"file": "The file is larger than the import limit."})
            out.write(chunk)


def _sniff(path: Path, format: str) -> None:
    """Refuse at once a file that cannot be of its format (a zip for JSON, text for a zip)."""
    with path.open("rb") as file:
        head = file.read(64)
    if format in ZIP_FORMATS:
        if not head.startswith(b"PK\x03\x04"):
            raise ValidationError({"file": f"A {format} import is a zip file."})
        return
    start = head.lstrip()[:1]
    if start not in (b"{", b"["):
        raise ValidationError({"file": f"A {format} import is a JSON file."})


# Matching the file's images to the pool -------------------------------------------------------


class ImageIndex:
    """The pool's images by every name an export or a person gives them: the export name,
    the name shown in the pool, the path inside the source, the file name, the file stem
    and the content hash. A name two images share matches neither."""

    def __init__(self, project: Project):
        images = list(pool_images(project))
        self.images = {image.pk: image for image in images}
        names = names_for(images)
        self.exact: dict[str, set[int]] = defaultdict(set)
        self.base: dict[str, set[int]] = defaultdict(set)
        self.stems: dict[str, set[int]] = defaultdict(set)
        self.keys: dict[str, set[int]] = defaultdict(set)
        for image in images:
            shown = relative_safe(image.display_name)
            inside = relative_safe(image_source_path(image))
            for name in {names[image.pk], shown, inside}:
                self.exact[name].add(image.pk)
                self.base[PurePosixPath(name).name].add(image.pk)
                self.stems[PurePosixPath(name).stem].add(image.pk)
                self.stems[file_stem(name, image.pk)].add(image.pk)
            if image.key:
                self.keys[image.key].add(image.pk)

    def find(self, entry: Entry) -> tuple[Image | None, str]:
        """The image an entry names, or None and why not."""
        if entry.key and len(self.keys.get(entry.key, ())) == 1:
            return self.images[next(iter(self.keys[entry.key]))], ""
        names = [relative_safe(name) for name in entry.names]
        tables = [self.stems] if entry.stem else [self.exact, self.base]
        for table in tables:
            for name in names:
                key = PurePosixPath(name).name if table is self.base else name
                found = table.get(key, set())
                if len(found) == 1:
                    return self.images[next(iter(found))], ""
                if len(found) > 1:
                    return None, f"{len(found)} images of the pool are named {key!r}."
        return None, "No image of the pool has this name."


# Reading the file ---------------------------------------------------------------------------


@dataclass
class Planned:
    image: Image
    masks: list[tuple[dict, str | None, float | None, str]] = field(default_factory=list)


@dataclass
class Report:
    format: str
    mode: str
    file_name: str
    unmatched_images: list[dict] = field(default_factory=list)
    unmatched_count: int = 0
    unreadable_images: list[dict] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    invalid_count: int = 0
    unmatched_labels: dict[str, int] = field(default_factory=dict)
    labels_created: list[str] = field(default_factory=list)
    crowd: int = 0
    per_image: list[dict] = field(default_factory=list)

    def refuse(self, image: str, where: str, reason: str) -> None:
        self.invalid_count += 1
        if len(self.invalid) < MAX_REPORTED:
            self.invalid.append({"image": image, "annotation": where, "reason": reason})

    def as_result(self, created: int, images: int) -> dict:
        return {
            "format": self.format,
            "mode": self.mode,
            "file_name": self.file_name,
            "created": {
                "images": images,
                ("objects" if self.mode == "objects" else "masks"): created,
            },
            "per_image": self.per_image[:MAX_REPORTED],
            "labels_created": self.labels_created,
            "unmatched_labels": [
                {"name": name, "annotations": count}
                for name, count in sorted(self.unmatched_labels.items())
            ],
            "unmatched_images": self.unmatched_images,
            "unmatched_count": self.unmatched_count,
            "unreadable_images": self.unreadable_images[:MAX_REPORTED],
            "invalid": self.invalid,
            "invalid_count": self.invalid_count,
            "crowd": self.crowd,
        }


def _matched(index: ImageIndex, parsed: Parsed, report: Report) -> dict[int, list[Entry]]:
    """The file's entries per pool image; the others go to the report."""
    by_image: dict[int, list[Entry]] = defaultdict(list)
    for entry in parsed.entries:
        image, reason = index.find(entry)
        if image is None:
            report.unmatched_count += 1
            if len(report.unmatched_images) < MAX_REPORTED:
                report.unmatched_images.append(
                    {"name": entry.where, "annotations": len(entry.annotations), "reason": reason}
                )
        elif entry.annotations:
            by_image[image.pk].append(entry)
    return by_image


def _sized(images: Iterable[Image], report: Report) -> list[Image]:
    """The images with their size known (read now for those never opened)."""
    sized = []
    for export in export_sizes(ExportImage(image) for image in images):
        if export.unreadable:
            report.unreadable_images.append(
                {
                    "image_id": export.image.pk,
                    "name": export.image.display_name,
                    "reason": export.unreadable,
                }
            )
        else:
            sized.append(export.image)
    return sized


def _plan_image(image: Image, entries: list[Entry], report: Report) -> Planned:
    planned = Planned(image)
    height, width = int(image.height or 0), int(image.width or 0)
    for entry in entries:
        if entry.size is not None and entry.size != (height, width):
            reason = (
                f"The file says the image is {entry.size[1]}x{entry.size[0]}, but it is "
                f"{width}x{height}."
            )
            for annotation in entry.annotations:
                report.refuse(entry.where, annotation.where, reason)
            continue
        for annotation in entry.annotations:
            try:
                rle = annotation.shape.rle(height, width)
            except EmptyMask as error:
                if not annotation.optional:
                    report.refuse(entry.where, annotation.where, str(error))
                continue
            except InvalidShape as error:
                report.refuse(entry.where, annotation.where, str(error))
                continue
            name = annotation.name
            if annotation.crowd:
                report.crowd += 1
                name = name or CROWD
            planned.masks.append((rle, annotation.label, annotation.score, name))
    return planned


# Writing ------------------------------------------------------------------------------------


def _labels(project: Project, planned: list[Planned], create: bool, report: Report) -> dict:
    """Label names of the file to the project's labels: by name, then by name in any case;
    the others are made (with `create`) or counted as unmatched (the objects stay unlabeled)."""
    wanted = Counter(label for plan in planned for _, label, _, _ in plan.masks if label)
    existing = {label.name: label for label in Label.objects.filter(project=project)}
    folded: dict[str, list[Label]] = defaultdict(list)
    for label in existing.values():
        folded[label.name.casefold()].append(label)
    found: dict[str, Label] = {}
    for name in sorted(wanted):
        if name in existing:
            found[name] = existing[name]
        elif len(folded.get(name.casefold(), [])) == 1:
            found[name] = folded[name.casefold()][0]
        elif create:
            found[name] = label_create(project=project, name=name)
            folded[name.casefold()].append(found[name])
            report.labels_created.append(name)
        else:
            report.unmatched_labels[name] = wanted[name]
    return found


BATCH = 500  # rows per INSERT, and images per locking query


def _touched(images: list[Image], user, *, objects: bool) -> None:
    """Bump the versions, stamp the edit, set the flags and status, tell the project: what
    each editor write does, for every image at once."""
    now = timezone.now()
    flag = {"has_manual_edit": True} if objects else {"has_automask": True}
    for start in range(0, len(images), BATCH):
        chunk = Image.objects.filter(pk__in=[image.pk for image in images[start : start + BATCH]])
        chunk.update(version=F("version") + 1, edited_at=now, **flag)
        chunk.filter(completed=False).update(status=ImageStatus.IN_PROGRESS)
    for image in images:
        image.version += 1
        image.edited_at = now
        for name, value in flag.items():
            setattr(image, name, value)
        image.status = Image.derive_status(completed=image.completed, has_any_record=True)
    EditHistory.objects.filter(user=user, image__in=images).delete()
    EditHistory.objects.bulk_create(
        (
            EditHistory(user=user, project_id=image.project_id, image=image, edited_at=now)
            for image in images
        ),
        batch_size=BATCH,
    )
    changes = [
        {"image_id": i.pk, "version": i.version, "status": i.status, "by": user.username}
        for i in images
    ]
    group = project_group(images[0].project_id) if images else ""
    transaction.on_commit(lambda: _announce(group, changes))


def _announce(group: str, changes: list[dict]) -> None:
    for data in changes:
        publish(group, "image.changed", data)


def _write_objects(images: list[Image], plans: list[Planned], labels: dict, user) -> list[int]:
    """Every plan's objects, and per image one batch of undo steps: undo in the editor
    removes that image's imported objects together."""
    made = MaskObject.objects.bulk_create(
        (
            MaskObject(
                image=image,
                label=labels.get(label) if label else None,
                name=name,
                mask=rle,
                origin=MaskObject.Origin.MANUAL,
                created_by=user,
                updated_by=user,
            )
            for image, plan in zip(images, plans, strict=True)
            for rle, label, _, name in plan.masks
        ),
        batch_size=BATCH,
    )
    EditStep.objects.filter(image__in=images, user=user, undone=True).delete()
    steps, start = [], 0
    for image, plan in zip(images, plans, strict=True):
        batch = uuid.uuid4()
        for obj in made[start : start + len(plan.masks)]:
            steps.append(
                EditStep(
                    image=image,
                    user=user,
                    kind=EditStep.Kind.CREATE,
                    object_id=obj.pk,
                    before=None,
                    after=snapshot(obj),
                    batch=batch,
                )
            )
        start += len(plan.masks)
    EditStep.objects.bulk_create(steps, batch_size=BATCH)
    _trim_steps(images, user)
    return [len(plan.masks) for plan in plans]


def _trim_steps(images: list[Image], user) -> None:
    """Keep each image's latest UNDO_DEPTH steps of the user, as every edit does."""
    deep = (
        EditStep.objects.filter(image__in=images, user=user)
        .values("image")
        .annotate(count=Count("id"))
        .filter(count__gt=UNDO_DEPTH)
    )
    for row in deep:
        mine = EditStep.objects.filter(image_id=row["image"], user=user).order_by("-id")
        stale = list(mine.values_list("pk", flat=True)[UNDO_DEPTH:])
        EditStep.objects.filter(pk__in=stale).delete()


def _write_runs(images: list[Image], plans: list[Planned], job: Job, user) -> list[int]:
    """One automask run per image, its masks scored by the file (1.0 where it has none)."""
    params = job.params
    about = {"format": params["format"], "file": params["file_name"]}
    runs = AutomaskRun.objects.bulk_create(
        (
            AutomaskRun(
                image=image,
                job=job,
                created_by=user,
                model={"name": "import", **about},
                params={"import": True, **about},
            )
            for image in images
        ),
        batch_size=BATCH,
    )
    AutomaskMask.objects.bulk_create(
        (
            AutomaskMask(
                run=run,
                segmentation=rle,
                area=rle_area(rle),
                bbox=rle_bbox(rle),
                predicted_iou=1.0 if score is None else score,
                stability_score=1.0 if score is None else score,
                point_coords=[],
                crop_box=[0, 0, int(image.width or 0), int(image.height or 0)],
            )
            for run, image, plan in zip(runs, images, plans, strict=True)
            for rle, _, score, _ in plan.masks
        ),
        batch_size=BATCH,
    )
    return [len(plan.masks) for plan in plans]


def _locked(planned: list[Planned]) -> list[Image]:
    """The planned images, locked and read again, in the plans' order."""
    ids = [plan.image.pk for plan in planned]
    rows: dict[int, Image] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows.update(
            (image.pk, image)
            for image in Image.objects.select_for_update()
            .filter(pk__in=chunk)
            .select_related("source")
        )
    return [rows[pk] for pk in ids]


@transaction.atomic
def _write(job: Job, user, planned: list[Planned], report: Report) -> int:
    project = job.owning_project
    objects = job.params["mode"] == "objects"
    labels = _labels(project, planned, job.params["create_labels"], report) if objects else {}
    images = _locked(planned)
    if objects:
        counts = _write_objects(images, planned, labels, user)
    else:
        counts = _write_runs(images, planned, job, user)
    _touched(images, user, objects=objects)
    about = {"job": job.pk, "format": job.params["format"], "file": job.params["file_name"]}
    activity_record_many(
        project_id=project.pk,
        user=user,
        action="objects.imported" if objects else "predictions.imported",
        per_image=((i.pk, {**about, "count": n}) for i, n in zip(images, counts, strict=True)),
    )
    report.per_image = [
        {
            "image_id": image.pk,
            "name": image.display_name,
            "created": count,
            "version": image.version,
        }
        for image, count in zip(images, counts, strict=True)
    ]
    return sum(counts)


# Running ------------------------------------------------------------------------------------


def _upload_path(job: Job) -> Path:
    root = (Path(settings.MEDIA_ROOT) / IMPORT_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / str(job.params.get("file", ""))).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise JobFailed("The uploaded file is gone; upload it again.")
    return path


def _work(progress: JobProgress) -> str:
    job = progress.job
    params = job.params
    report = Report(params["format"], params["mode"], params["file_name"])
    progress.start(message="Reading the file")
    path = _upload_path(job)
    try:
        with parsed_file(params["format"], path, max_bytes=import_limit_bytes()) as parsed:
            report.invalid, report.invalid_count = parsed.invalid, parsed.invalid_count
            by_image = _matched(ImageIndex(job.owning_project), parsed, report)
            images = _sized(Image.objects.filter(pk__in=by_image).select_related("source"), report)
            total = len(images)
            progress.start(total=total, message=f"Reading the masks of {total} images")
            planned = []
            for done, image in enumerate(images, start=1):
                plan = _plan_image(image, by_image[image.pk], report)
                if plan.masks:
                    planned.append(plan)
                progress.step(
                    done=done,
                    message=f"Read the masks of {done} of {total} images",
                    every=PROGRESS_SECONDS,
                    force=done == total,
                )
    except ImportRefused as error:
        raise JobFailed(f"The file cannot be imported: {error}") from None
    user = job.created_by
    if user is None:
        raise JobFailed("The user who started the import is gone.")
    created = _write(job, user, planned, report) if planned else 0
    job.result = report.as_result(created, len(planned))
    if not created:
        raise JobFailed(_nothing_message(report))
    kind = "objects" if params["mode"] == "objects" else "masks to review"
    return f"Imported {created} {kind} on {len(planned)} images." + _problems(report)


def _problems(report: Report) -> str:
    parts = []
    if report.unmatched_count:
        parts.append(f"{report.unmatched_count} images not in the pool")
    if report.invalid_count:
        parts.append(f"{report.invalid_count} annotations refused")
    if report.unreadable_images:
        parts.append(f"{len(report.unreadable_images)} images unreadable")
    return f" Left out: {', '.join(parts)} (see the report)." if parts else ""


def _nothing_message(report: Report) -> str:
    return "Nothing was imported." + (_problems(report) or " The file holds no annotations.")


def import_run(*, job_id: int) -> Job:
    """Run a queued import job; its uploaded file is deleted once it ends, however it ends.
    A job already finished is left as it is."""
    try:
        run_job(job_id, _work)
    finally:
        job = Job.objects.get(pk=job_id)
        if not job.is_active:
            _upload_delete(job)
    return job


def _upload_delete(job: Job) -> None:
    root = (Path(settings.MEDIA_ROOT) / IMPORT_DIR).resolve()
    path = (Path(settings.MEDIA_ROOT) / str(job.params.get("file", ""))).resolve()
    if path.is_relative_to(root) and path.is_file():
        path.unlink(missing_ok=True)
