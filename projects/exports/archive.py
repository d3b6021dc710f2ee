"""The project archive: a whole project as one versioned zip, and reading one back.

Layout: manifest.json (format, version, the SHA-256 and size of every other member, row
counts), data/<table>.json (one JSON list per table) and arrays/<table>/<id>-<field>.npy
(logits and mask inputs). Nothing is pickled: JSON is parsed as data and arrays are read with
allow_pickle=False. Image pixels are not in the archive: images are referenced by source and
path, as in the pool.

Which fields travel is declared per model in TABLES; a test fails when a model gains a field
that is neither archived nor excluded with a reason, so new state cannot be lost silently.
"""

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from inference.prompts import RECORD_COLUMNS
from projects.encoding import array_open
from projects.models import (
    ActivityEvent,
    AutomaskMask,
    AutomaskRun,
    Comment,
    Credential,
    EditHistory,
    EditStep,
    GroundTruthObject,
    Image,
    ImageAssignment,
    ImageClaim,
    Job,
    Label,
    MaskObject,
    Membership,
    Prediction,
    Project,
    QualityScore,
    Review,
    Source,
    UserProjectSettings,
)

ARCHIVE_FORMAT = "annotator-project-archive"
ARCHIVE_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Table:
    """How one model travels in the archive."""

    name: str
    model: type[models.Model]
    fields: tuple[str, ...]  # copied as they are
    references: dict[str, str] = field(default_factory=dict)  # foreign key -> table
    users: tuple[str, ...] = ()  # user foreign keys, carried as usernames
    arrays: tuple[str, ...] = ()  # .npz paths under media, carried as .npy members
    excluded: dict[str, str] = field(default_factory=dict)  # field -> why it stays behind
    # Plain id columns naming a record of another table (no foreign key: the record may be
    # gone); restored to the new id, or None when the record is not in the archive.
    loose: dict[str, str] = field(default_factory=dict)

    @property
    def member(self) -> str:
        return f"data/{self.name}.json"


TABLES: tuple[Table, ...] = (
    Table(
        "project",
        Project,
        fields=(
            "name",
            "description",
            "created_at",
            "updated_at",
            "model_selection",
            "export_settings",
            "ui_settings",
            "review_required",
        ),
        users=("created_by",),
    ),
    Table("labels", Label, fields=("name", "color"), references={"project": "project"}),
    Table(
        "credentials",
        Credential,
        fields=("name", "kind", "env_var", "created_at"),
        references={"project": "project"},
        excluded={"secret_encrypted": "a secret never leaves the server; it is entered again"},
    ),
    Table(
        "sources",
        Source,
        fields=(
            "kind",
            "name",
            "location",
            "available",
            "unavailable_reason",
            "checked_at",
            "created_at",
            "updated_at",
            "removed_at",
        ),
        references={"project": "project", "credential": "credentials"},
    ),
    Table(
        "images",
        Image,
        fields=(
            "path",
            "key",
            "width",
            "height",
            "size",
            "etag",
            "available",
            "unavailable_reason",
            "checked_at",
            "removed_at",
            "has_automask",
            "has_manual_prediction",
            "has_manual_edit",
            "completed",
            "status",
            "added_at",
            "opened_at",
            "edited_at",
            "version",
            "review_state",
            "submitted_at",
            "ground_truth",
            "honeypot",
        ),
        references={"project": "project", "source": "sources"},
        users=("submitted_by",),
    ),
    Table(
        "predictions",
        Prediction,
        fields=(
            "created_at",
            *RECORD_COLUMNS,
            "model",
            "masks",
            "scores",
            "chosen_index",
            "final_mask",
        ),
        references={"image": "images"},
        users=("created_by",),
        arrays=("mask_input_file", "logits_file"),
    ),
    Table(
        "automask_runs",
        AutomaskRun,
        fields=("created_at", "model", "params"),
        references={"image": "images"},
        users=("created_by",),
        excluded={"job": "jobs are work in progress on one server, not project state"},
    ),
    Table(
        "automask_masks",
        AutomaskMask,
        fields=(
            "segmentation",
            "area",
            "bbox",
            "predicted_iou",
            "stability_score",
            "point_coords",
            "crop_box",
        ),
        references={"run": "automask_runs"},
    ),
    Table(
        "mask_objects",
        MaskObject,
        fields=("name", "mask", "origin", "created_at", "updated_at"),
        references={
            "image": "images",
            "label": "labels",
            "prediction": "predictions",
            "automask": "automask_masks",
        },
        users=("created_by", "updated_by"),
    ),
    Table(
        "ground_truth_objects",
        GroundTruthObject,
        fields=("mask", "created_at"),
        references={"image": "images", "label": "labels"},
        users=("created_by",),
    ),
    Table(
        "reviews",
        Review,
        fields=("decision", "comment", "created_at"),
        references={"image": "images"},
        users=("reviewer", "annotator"),
    ),
    # Threads first, then their replies: a reply's parent is always a thread's first comment.
    Table(
        "comments",
        Comment,
        fields=("body", "is_issue", "point", "resolved_at", "created_at"),
        references={"image": "images", "review": "reviews"},
        users=("author", "resolved_by"),
        loose={"object_id": "mask_objects"},
        excluded={"parent": "a thread's first comment has none; replies are comment_replies"},
    ),
    Table(
        "comment_replies",
        Comment,
        fields=("body", "is_issue", "point", "resolved_at", "created_at"),
        references={"image": "images", "review": "reviews", "parent": "comments"},
        users=("author", "resolved_by"),
        loose={"object_id": "mask_objects"},
    ),
)
TABLE = {table.name: table for table in TABLES}
# Models of the projects app that stay behind, and why.
EXCLUDED_MODELS = {
    Membership: "users differ between servers; whoever uploads the archive owns the project",
    Job: "jobs are work in progress on one server, not project state",
    EditHistory: "a person's own recent-edits list on one server",
    EditStep: "undo steps of one person's editing session on one server",
    UserProjectSettings: "a person's own view settings; users differ between servers",
    ImageClaim: "a lease a person holds on one server for minutes, while they work on an image",
    ImageAssignment: "who works on which image names users, and users differ between servers",
    ActivityEvent: "the activity log of one server's users; exported as CSV instead",
    QualityScore: "scores of one server's users, made again by their next submissions",
}


class _Encoder(DjangoJSONEncoder):
    """Full microseconds: Django's encoder cuts times to milliseconds, and a restored record
    must carry the very time it had."""

    def default(self, o):
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


class ArchiveError(ValidationError):
    """An archive that cannot be read; the message says why, in words a person can act on."""

    def __init__(self, message: str):
        super().__init__({"archive": message})


# Writing ----------------------------------------------------------------------------------


def _rows(table: Table, project: Project) -> Iterator[models.Model]:
    lookups: dict[str, dict[str, Any]] = {
        "project": {"pk": project.pk},
        "labels": {"project": project},
        "credentials": {"project": project},
        "sources": {"project": project},
        "images": {"project": project},
        "predictions": {"image__project": project},
        "automask_runs": {"image__project": project},
        "automask_masks": {"run__image__project": project},
        "mask_objects": {"image__project": project},
        "ground_truth_objects": {"image__project": project},
        "reviews": {"image__project": project},
        "comments": {"image__project": project, "parent__isnull": True},
        "comment_replies": {"image__project": project, "parent__isnull": False},
    }
    related = [name for name in table.users]
    yield from (
        table.model._default_manager.filter(**lookups[table.name])
        .select_related(*related)
        .order_by("pk")
        .iterator(chunk_size=1000)
    )


def _row(table: Table, obj: models.Model) -> dict:
    row = {"id": obj.pk}
    for name in table.fields:
        row[name] = getattr(obj, name)
    for name in table.references:
        row[name] = getattr(obj, f"{name}_id")
    for name in table.loose:
        row[name] = getattr(obj, name)
    for name in table.users:
        user = getattr(obj, name)
        row[name] = user.get_username() if user else None
    return row


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


class _Writer:
    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.members: dict[str, dict] = {}

    def add(self, name: str, data: bytes) -> None:
        self.archive.writestr(name, data)
        self.members[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def archive_write(*, project: Project, target: Path) -> dict:
    """Write the project's archive at `target`; returns the manifest."""
    counts = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        writer = _Writer(archive)
        for table in TABLES:
            rows = []
            for obj in _rows(table, project):
                row = _row(table, obj)
                for name in table.arrays:
                    relative = getattr(obj, name)
                    row[name] = None
                    if relative:
                        member = f"arrays/{table.name}/{obj.pk}-{name}.npy"
                        writer.add(member, _npy(array_open(relative)))
                        row[name] = member
                rows.append(row)
            counts[table.name] = len(rows)
            data = json.dumps(rows, cls=_Encoder, separators=(",", ":")).encode()
            writer.add(table.member, data)
        manifest = {
            "format": ARCHIVE_FORMAT,
            "version": ARCHIVE_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "project": project.name,
            "counts": counts,
            "members": writer.members,
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
    return manifest


# Reading ----------------------------------------------------------------------------------


@dataclass
class ArchiveContents:
    """A checked archive, still open: its tables are read, its arrays are read one at a time
    (`array`), so a large archive never sits in memory whole. Close it when done."""

    manifest: dict
    tables: dict[str, list[dict]]
    archive: zipfile.ZipFile

    def array(self, name: str, *, shape_of: str, count: int) -> np.ndarray:
        """The array member `name`, checked for what a record's `shape_of` field holds:
        `count` logits of one prompt (float32, C x S x S) or one mask input (1 x S x S)."""
        if name not in self.manifest["members"] or not name.startswith("arrays/"):
            raise ArchiveError(f"A record refers to a missing array {name}.")
        return _array(_member(self.archive, name, self.manifest), name, shape_of, count)

    def close(self) -> None:
        self.archive.close()


def _limits() -> tuple[int, int, int, int]:
    return (
        settings.ANNOTATOR_ARCHIVE_MAX_MB * 1024 * 1024,
        settings.ANNOTATOR_ARCHIVE_MAX_UNPACKED_MB * 1024 * 1024,
        settings.ANNOTATOR_ARCHIVE_MAX_MEMBER_MB * 1024 * 1024,
        settings.ANNOTATOR_ARCHIVE_MAX_MEMBERS,
    )


# The largest array a record holds: three logits of a 2048 px model (512 x 512 float32).
ARRAY_MAX_BYTES = 3 * 512 * 512 * 4 + 4096
LOGITS_MAX_SIDE = 512


def archive_read(path: Path) -> ArchiveContents:
    """Open and check an archive completely before anything is written anywhere."""
    max_size, max_unpacked, max_member, max_members = _limits()
    size = path.stat().st_size
    if size > max_size:
        raise ArchiveError(
            f"The archive is {size / 2**20:.1f} MiB; this server accepts archives up to "
            f"{max_size // 2**20} MiB."
        )
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ArchiveError(
            f"The file is not a complete zip archive: it may be truncated or damaged ({error})."
        ) from None
    try:
        return _read_checked(archive, max_unpacked, max_member, max_members)
    except zipfile.BadZipFile as error:
        archive.close()
        raise ArchiveError(
            f"The file is not a complete zip archive: it may be truncated or damaged ({error})."
        ) from None
    except (EOFError, zipfile.LargeZipFile) as error:
        archive.close()
        raise ArchiveError(f"The archive is truncated or damaged ({error}).") from None
    except BaseException:
        archive.close()
        raise


def _read_checked(archive: zipfile.ZipFile, max_unpacked: int, max_member: int, max_members):
    infos = archive.infolist()
    if len(infos) > max_members:
        raise ArchiveError(
            f"The archive has {len(infos)} files; this server accepts up to {max_members}."
        )
    unpacked = sum(info.file_size for info in infos)
    if unpacked > max_unpacked:
        raise ArchiveError(
            f"The archive unpacks to {unpacked / 2**20:.1f} MiB; this server accepts up to "
            f"{max_unpacked // 2**20} MiB."
        )
    for info in infos:
        limit = ARRAY_MAX_BYTES if info.filename.startswith("arrays/") else max_member
        if info.file_size > limit:
            raise ArchiveError(
                f"{info.filename} unpacks to {info.file_size / 2**20:.1f} MiB; this server "
                f"accepts up to {limit / 2**20:.1f} MiB for one file of an archive."
            )
    manifest = _manifest(archive)
    _check_members(archive, manifest)
    tables = {}
    for table in TABLES:
        rows = _json(_member(archive, table.member, manifest), table.member)
        if not isinstance(rows, list) or not all(
            isinstance(row, dict) and isinstance(row.get("id"), int) for row in rows
        ):
            raise ArchiveError(f"{table.member} is not a list of records with ids.")
        if len(rows) != manifest.get("counts", {}).get(table.name, len(rows)):
            raise ArchiveError(f"{table.member} does not hold the records the manifest counts.")
        tables[table.name] = rows
    if len(tables["project"]) != 1:
        raise ArchiveError("The archive must hold exactly one project.")
    return ArchiveContents(manifest=manifest, tables=tables, archive=archive)


def _manifest(archive: zipfile.ZipFile) -> dict:
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise ArchiveError(
            "This zip is not a project archive of this application (it has no manifest.json)."
        ) from None
    if info.file_size > 64 * 2**20:
        raise ArchiveError("The archive's manifest is implausibly large.")
    manifest = _json(archive.read(MANIFEST), MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(
            "This zip is not a project archive of this application (its manifest names "
            f"the format {manifest.get('format') if isinstance(manifest, dict) else None!r})."
        )
    version = manifest.get("version")
    if not isinstance(version, int) or version < 1:
        raise ArchiveError(f"The archive's version {version!r} is not valid.")
    if version > ARCHIVE_VERSION:
        raise ArchiveError(
            f"The archive was made by a newer version of the application (archive version "
            f"{version}; this server reads up to version {ARCHIVE_VERSION}). Upgrade this "
            "server to open it."
        )
    if not isinstance(manifest.get("members"), dict):
        raise ArchiveError("The archive's manifest does not list its files.")
    return manifest


def _check_members(archive: zipfile.ZipFile, manifest: dict) -> None:
    present = {name for name in archive.namelist() if name != MANIFEST}
    listed = set(manifest["members"])
    for name in present | listed:
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts:
            raise ArchiveError(f"The archive holds a file with an unsafe name: {name!r}.")
    if listed - present:
        missing = ", ".join(sorted(listed - present)[:5])
        raise ArchiveError(f"The archive is incomplete: missing {missing}.")
    if present - listed:
        extra = ", ".join(sorted(present - listed)[:5])
        raise ArchiveError(f"The archive was altered: files not in its manifest: {extra}.")
    required = {table.member for table in TABLES}
    if required - listed:
        raise ArchiveError(f"The archive lacks {', '.join(sorted(required - listed))}.")


def _member(archive: zipfile.ZipFile, name: str, manifest: dict) -> bytes:
    expected = manifest["members"][name]
    limit = expected.get("size") if isinstance(expected, dict) else None
    if not isinstance(limit, int) or limit != archive.getinfo(name).file_size:
        raise ArchiveError(
            f"The archive was altered or damaged: {name} does not match its checksum (size)."
        )
    with archive.open(name) as stream:
        data = stream.read(limit + 1)
    if len(data) != limit or hashlib.sha256(data).hexdigest() != expected.get("sha256"):
        raise ArchiveError(
            f"The archive was altered or damaged: {name} does not match its checksum."
        )
    return data


def _json(data: bytes, name: str):
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArchiveError(f"{name} is not valid JSON ({error}).") from None


def _array(data: bytes, name: str, shape_of: str, count: int) -> np.ndarray:
    """A plain .npy member whose header is checked before its data is read: float32 of the
    shape the record's field holds, never an object array, never a .npz."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(stream)
    except (ValueError, OSError, EOFError, SyntaxError) as error:
        raise ArchiveError(f"{name} is not a plain array file (.npy) ({error}).") from None
    if dtype.hasobject:
        raise ArchiveError(f"{name} is not a plain array file: it holds Python objects.")
    expected = "C x S x S" if shape_of == "logits_file" else "1 x S x S"
    side_ok = len(shape) == 3 and shape[1] == shape[2] and 16 <= shape[1] <= LOGITS_MAX_SIDE
    count_ok = len(shape) == 3 and shape[0] == (count if shape_of == "logits_file" else 1)
    if dtype != np.float32 or not side_ok or not count_ok:
        raise ArchiveError(
            f"{name} holds {dtype} {'x'.join(map(str, shape))}; a record's {shape_of} is "
            f"float32 {expected} (S from 16 to {LOGITS_MAX_SIDE}, C the record's mask count)."
        )
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ArchiveError(f"{name} is not a plain array file (.npy) ({error}).") from None


def archive_users(tables: dict[str, list[dict]]) -> dict[str, object]:
    """Users named in the archive who exist on this server, by username."""
    names = {
        row.get(name)
        for table in TABLES
        for name in table.users
        for row in tables[table.name]
        if row.get(name)
    }
    User = get_user_model()
    return {
        user.get_username(): user
        for user in User.objects.filter(**{f"{User.USERNAME_FIELD}__in": names})
    }
