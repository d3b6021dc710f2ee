"""Projects, their members, sources, images and every annotation record.

Arrays are never pickled: masks are COCO compressed RLE (a JSON dict), small arrays (points,
boxes, scores) are JSON lists, and logits (.npy) and mask inputs (compressed .npz) are files
under media referenced by path (see projects.encoding).
"""

import colorsys
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ANNOTATOR = "annotator", "Annotator"
    # Accepts or rejects submitted images when the project has a review stage; sees
    # everything a viewer sees and comments on it, but draws nothing.
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"


class Project(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The project state of the seed: latest model selection with its load params, the
    # export choices and the project-wide UI settings (the automask parameters; each user's
    # view settings are a UserProjectSettings), each a JSON object owned by its own feature.
    model_selection = models.JSONField(default=dict, blank=True)
    export_settings = models.JSONField(default=dict, blank=True)
    ui_settings = models.JSONField(default=dict, blank=True)
    # With a review stage, "complete" submits an image for review and only an accepted image
    # is completed (green). Off by default: completing is final, as in the seed.
    review_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class UserProjectSettings(models.Model):
    """One user's view preferences in one project (tool, opacity, brush size, panels, pool
    filters...): what one annotator picks never changes what another sees. The keys and
    their types are checked by projects.services.view_settings_clean."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_settings"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="user_settings")
    values = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "project"], name="user_settings_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user}'s settings in {self.project}"


# Sasha Trubetskoy's 20 distinct colours: a new label takes the first one its project does
# not use yet, so labels look apart and colour-keyed readers (Pascal VOC) keep them apart.
LABEL_PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#ffe119",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#fabed4",
    "#469990",
    "#dcbeff",
    "#9a6324",
    "#fffac8",
    "#800000",
    "#aaffc3",
    "#808000",
    "#ffd8b1",
    "#000075",
    "#a9a9a9",
)
# A turn of the golden angle on the colour wheel: each round of variations lands between the
# hues already used.
_HUE_TURN = 0.381966


def label_color_free(taken: Iterable[str]) -> str:
    """The first colour of the palette not in `taken`; once all are taken, the palette with
    its hues turned, round after round; in the end any free #rrggbb, so never a taken one."""
    used = {color.lower() for color in taken}
    return next(color for color in _label_colors() if color not in used)


def _label_colors() -> Iterator[str]:
    yield from LABEL_PALETTE
    for turn in range(1, 64):
        for color in LABEL_PALETTE:
            red, green, blue = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
            hue, lightness, saturation = colorsys.rgb_to_hls(red, green, blue)
            turned = colorsys.hls_to_rgb((hue + turn * _HUE_TURN) % 1, lightness, saturation)
            yield "#" + "".join(f"{round(channel * 255):02x}" for channel in turned)
    for value in range(0x1000000):
        yield f"#{value:06x}"


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    # Labels made by the services take a free colour of LABEL_PALETTE; this default is its
    # first colour, for rows made otherwise.
    color = models.CharField(max_length=7, default="#e6194b")  # #rrggbb

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="label_unique_name"),
            models.CheckConstraint(
                condition=Q(color__regex=r"^#[0-9a-fA-F]{6}$"), name="label_color_hex"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Credential(models.Model):
    """A secret for a remote source. The secret never leaves the server."""

    class Kind(models.TextChoices):
        CONNECTION_STRING = "connection_string", "Connection string"
        ACCOUNT_KEY = "account_key", "Account key"
        SAS_TOKEN = "sas_token", "SAS token"
        ENVIRONMENT = "environment", "Server environment variable"
        DEFAULT = "default", "Default Azure credential"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="credentials")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Fernet token of the secret typed by a user (projects.crypto); empty for kinds that
    # read the server's environment or its default identity.
    secret_encrypted = models.TextField(blank=True, editable=False)
    env_var = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="credential_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class SourceKind(models.TextChoices):
    UPLOAD = "upload", "Upload"
    FOLDER = "folder", "Server folder"
    URL = "url", "URLs"
    AZURE_BLOB = "azure_blob", "Azure Blob Storage"


class Source(models.Model):
    Kind = SourceKind

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    # Where the images are, in the kind's own terms: {"path", "recursive", "extensions"}
    # for a folder, {"urls"} for URLs, {"account_url", "container", "prefix"} for Azure.
    location = models.JSONField(default=dict, blank=True)
    # RESTRICT, not PROTECT: a credential in use cannot be deleted on its own, but deleting
    # the project deletes both.
    credential = models.ForeignKey(
        Credential, null=True, blank=True, on_delete=models.RESTRICT, related_name="sources"
    )
    available = models.BooleanField(default=True)
    unavailable_reason = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Removing a source hides it and its images; records stay and a restore brings them back.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SourceKind.values), name="source_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def mark_unavailable(self, reason: str) -> None:
        self.available = False
        self.unavailable_reason = reason
        self.checked_at = timezone.now()
        self.save(update_fields=["available", "unavailable_reason", "checked_at", "updated_at"])

    def mark_available(self) -> None:
        self.available = True
        self.unavailable_reason = ""
        self.checked_at = timezone.now()
        self.save(update_fields=["available", "unavailable_reason", "checked_at", "updated_at"])


class ImageStatus(models.TextChoices):
    """The colour a person sees, derived from the flags."""

    UNPROCESSED = "unprocessed", "Unprocessed"  # white
    IN_PROGRESS = "in_progress", "In progress"  # yellow
    COMPLETED = "completed", "Completed"  # green


class ReviewState(models.TextChoices):
    """Where an image stands in the review stage; a marker beside the status colour."""

    NONE = "", "Not submitted"
    SUBMITTED = "submitted", "Submitted for review"  # yellow, "submitted" marker
    REJECTED = "rejected", "Rejected"  # yellow, "rejected" marker
    ACCEPTED = "accepted", "Accepted"  # green


class Image(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="images")
    # Path within the source; the stored file name for uploads, the URL for URL sources.
    path = models.CharField(max_length=2048)
    # The seed's "unique imagehash": SHA-256 of the bytes, known once they were read.
    key = models.CharField(max_length=64, blank=True, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    etag = models.CharField(max_length=200, blank=True)
    available = models.BooleanField(default=True)
    unavailable_reason = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    has_automask = models.BooleanField(default=False)
    has_manual_prediction = models.BooleanField(default=False)
    has_manual_edit = models.BooleanField(default=False)
    completed = models.BooleanField(default=False)
    # Derived from the flags by refresh_status(); stored so the pool can be filtered and
    # "next unprocessed" found through an index.
    status = models.CharField(
        max_length=16, choices=ImageStatus.choices, default=ImageStatus.UNPROCESSED
    )

    added_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Optimistic concurrency: every write to the image's annotations carries the version it
    # was based on and bumps it.
    version = models.PositiveIntegerField(default=0)

    # The review stage (Project.review_required): who submitted the image last, for whom a
    # rejection sends it back.
    review_state = models.CharField(
        max_length=16, choices=ReviewState.choices, default=ReviewState.NONE, blank=True
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Ground truth: the owner's reference objects are GroundTruthObject rows. A honeypot is
    # served to annotators as ordinary work, without its reference objects.
    ground_truth = models.BooleanField(default=False)
    honeypot = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source", "path"], name="image_unique_path_in_source"
            ),
            models.CheckConstraint(
                condition=Q(review_state__in=ReviewState.values), name="image_review_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ImageStatus.values), name="image_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status", "id"], name="image_project_status"),
            models.Index(fields=["project", "source", "id"], name="image_project_source"),
            models.Index(fields=["project", "review_state", "id"], name="image_review_queue"),
            # Stepping through the pool (next, previous, position, next unprocessed) reads
            # only these partial indexes; source is in them so that images of a removed
            # source are skipped without touching the table.
            models.Index(
                fields=["project", "id", "source"],
                condition=Q(available=True, removed_at__isnull=True),
                name="image_navigable",
            ),
            models.Index(
                fields=["project", "status", "id", "source"],
                condition=Q(available=True, removed_at__isnull=True),
                name="image_navigable_status",
            ),
            # The overview filters and counts on these columns alone.
            models.Index(
                fields=[
                    "project",
                    "id",
                    "source",
                    "status",
                    "available",
                    "has_automask",
                    "has_manual_prediction",
                    "has_manual_edit",
                ],
                condition=Q(removed_at__isnull=True),
                name="image_overview",
            ),
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def display_name(self) -> str:
        """The name a person knows the image by. An upload is stored as
        `<project id>/<hash>/<file name>` (a restore moves it to its new project's id): its
        name is the file name it was uploaded as. A folder image is its path in the folder, an
        Azure blob its name after the folder part of the source's prefix, a URL the URL."""
        kind = self.source.kind
        if kind == SourceKind.UPLOAD:
            return self.path.rsplit("/", 1)[-1]
        if kind == SourceKind.AZURE_BLOB:
            prefix = str((self.source.location or {}).get("prefix") or "")
            folder = prefix[: prefix.rfind("/") + 1]
            if folder and self.path.startswith(folder) and len(self.path) > len(folder):
                return self.path[len(folder) :]
        return self.path

    @staticmethod
    def derive_status(*, completed: bool, has_any_record: bool) -> str:
        if completed:
            return ImageStatus.COMPLETED
        return ImageStatus.IN_PROGRESS if has_any_record else ImageStatus.UNPROCESSED

    def refresh_status(self) -> None:
        """Set the record flags from what exists now and derive the status from them."""
        self.has_automask = self.automask_runs.exists()
        self.has_manual_prediction = self.predictions.exists()
        self.has_manual_edit = self.mask_objects.exists()
        self.status = self.derive_status(
            completed=self.completed,
            has_any_record=self.has_automask or self.has_manual_prediction or self.has_manual_edit,
        )

    def bump_version(self, *, expected: int) -> bool:
        """Advance the version if it is still `expected`; False means a stale write."""
        with transaction.atomic():
            updated = Image.objects.filter(pk=self.pk, version=expected).update(
                version=F("version") + 1
            )
        if updated:
            self.version = expected + 1
        return bool(updated)

    def mark_unavailable(self, reason: str) -> None:
        self.available = False
        self.unavailable_reason = reason
        self.checked_at = timezone.now()
        self.save(update_fields=["available", "unavailable_reason", "checked_at"])


class Prediction(models.Model):
    """One prompt prediction: the seed's inputs and outputs for a click, box or refine."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="predictions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # Inputs. Points are [[x, y], ...] image pixels (or 0..1 when normalize_coords is False
    # they are still stored as the caller sent them), labels 1 positive / 0 negative.
    point_coords = models.JSONField(null=True, blank=True)
    point_labels = models.JSONField(null=True, blank=True)
    box = models.JSONField(null=True, blank=True)  # [x1, y1, x2, y2] or a list of them
    mask_input_file = models.CharField(max_length=500, blank=True)  # .npz under media
    multimask_output = models.BooleanField(default=True)
    normalize_coords = models.BooleanField(default=True)
    return_logits_to_caller = models.BooleanField(default=False)
    sort_results = models.BooleanField(default=True)

    # Outputs.
    model = models.JSONField(default=dict)  # name, config and load params of the model used
    masks = models.JSONField(default=list)  # list of COCO RLE dicts
    scores = models.JSONField(default=list)
    logits_file = models.CharField(max_length=500, blank=True)  # low-res logits, .npy
    chosen_index = models.PositiveSmallIntegerField(null=True, blank=True)
    final_mask = models.JSONField(null=True, blank=True)  # RLE of the mask the user kept

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["image", "-created_at"], name="prediction_image_recent")]

    def __str__(self) -> str:
        return f"Prediction #{self.pk} on image {self.image_id}"


class Job(models.Model):
    """A long piece of work (pool automask, model download, export, source scan)."""

    class Kind(models.TextChoices):
        AUTOMASK_POOL = "automask_pool", "Automask the pool"
        MODEL_DOWNLOAD = "model_download", "Model download"
        MODEL_LOAD = "model_load", "Model load"
        EXPORT = "export", "Export"
        SOURCE_SCAN = "source_scan", "Source scan"
        PREPARE_EMBEDDINGS = "prepare_embeddings", "Prepare embeddings"
        IMPORT = "import", "Import annotations"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"
        DONE = "done", "Done"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.CANCELLING)

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["project", "kind", "status"], name="job_project_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def eta_seconds(self) -> float | None:
        if not self.started_at or not self.done or self.total <= self.done:
            return None
        elapsed = (timezone.now() - self.started_at).total_seconds()
        return elapsed / self.done * (self.total - self.done)

    @property
    def project_pk(self) -> int:
        """The id of the job's project: every kind but a download belongs to one."""
        if self.project_id is None:
            raise ValueError(f"Job {self.pk} belongs to no project.")
        return self.project_id

    @property
    def owning_project(self) -> Project:
        if self.project is None:
            raise ValueError(f"Job {self.pk} belongs to no project.")
        return self.project

    def request_cancel(self) -> bool:
        """Ask a running job to stop; the worker sees it at its next check."""
        updated = Job.objects.filter(pk=self.pk, status__in=self.ACTIVE).update(
            status=self.Status.CANCELLING, updated_at=timezone.now()
        )
        self.refresh_from_db(fields=["status"])
        return bool(updated)


class AutomaskRun(models.Model):
    """SAM2's automatic mask generator on one image: its parameters and every mask."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="automask_runs")
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="automask_runs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    model = models.JSONField(default=dict)
    params = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A resumed pool job must never add a second run for an image it already did.
            models.UniqueConstraint(
                fields=["job", "image"],
                condition=Q(job__isnull=False),
                name="automask_run_once_per_job_image",
            ),
        ]

    def __str__(self) -> str:
        return f"Automask #{self.pk} on image {self.image_id}"


class AutomaskMask(models.Model):
    run = models.ForeignKey(AutomaskRun, on_delete=models.CASCADE, related_name="masks")
    segmentation = models.JSONField()  # COCO RLE
    area = models.PositiveIntegerField()
    bbox = models.JSONField()  # [x, y, w, h], COCO order
    predicted_iou = models.FloatField()
    stability_score = models.FloatField()
    point_coords = models.JSONField(default=list)
    crop_box = models.JSONField(default=list)  # [x, y, w, h]

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Automask mask #{self.pk} (area {self.area})"


class MaskObject(models.Model):
    """An object's final mask, as chosen and edited by a person, with its label."""

    class Origin(models.TextChoices):
        PREDICTION = "prediction", "Prompt prediction"
        AUTOMASK = "automask", "Automask"
        MANUAL = "manual", "Drawn by hand"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="mask_objects")
    label = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.SET_NULL, related_name="mask_objects"
    )
    name = models.CharField(max_length=200, blank=True)
    mask = models.JSONField()  # COCO RLE, image size
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.MANUAL)
    prediction = models.ForeignKey(
        Prediction, null=True, blank=True, on_delete=models.SET_NULL, related_name="mask_objects"
    )
    automask = models.ForeignKey(
        AutomaskMask, null=True, blank=True, on_delete=models.SET_NULL, related_name="mask_objects"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or f"Object #{self.pk}"


class EditHistory(models.Model):
    """The images a user edited, newest first, for "back through my history"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="edit_history"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "image"], name="history_unique_user_image"),
        ]
        indexes = [
            models.Index(fields=["user", "project", "-edited_at"], name="history_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} edited image {self.image_id} at {self.edited_at:%Y-%m-%d %H:%M}"

    @classmethod
    def touch(cls, *, user, image: Image) -> None:
        cls.objects.update_or_create(
            user=user,
            image=image,
            defaults={"project_id": image.project_id, "edited_at": timezone.now()},
        )


class EditStep(models.Model):
    """One undoable change to an image's objects, by one user.

    `before` and `after` are snapshots of the object ({"label_id", "name", "mask", "origin"}),
    None where the object did not exist. Undo restores `before`, redo restores `after`.
    """

    class Kind(models.TextChoices):
        CREATE = "create", "Create"
        BRUSH = "brush", "Brush"
        ERASER = "eraser", "Eraser"
        POLYGON = "polygon", "Polygon fill"
        REPLACE = "replace", "Replace mask"
        LABEL = "label", "Label or name"
        DELETE = "delete", "Delete"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="edit_steps")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    # Steps made by one request share a batch and are undone and redone together.
    batch = models.UUIDField()
    undone = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["image", "user", "-id"], name="editstep_recent")]

    def __str__(self) -> str:
        return f"{self.kind} object {self.object_id} on image {self.image_id}"


class ImageClaim(models.Model):
    """An annotator's lease on an image: while it has not expired, "next unprocessed" hands
    the image to no one else. Opening and editing the image renew it; leaving it releases it."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="claim")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    claimed_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["project", "expires_at"], name="claim_project_expiry")]

    def __str__(self) -> str:
        return f"image {self.image_id} held by {self.user_id} until {self.expires_at:%H:%M:%S}"


class ImageAssignment(models.Model):
    """An owner's choice of who annotates an image: it is served to that person first and to
    no other annotator."""

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="assignment")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="image_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"image {self.image_id} assigned to {self.user_id}"


class Review(models.Model):
    """One reviewer's decision on one submission of an image."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Whose work was judged: the image's submitter at the time.
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["image", "-id"], name="review_image_recent")]

    def __str__(self) -> str:
        return f"{self.decision} image {self.image_id}"


class Comment(models.Model):
    """A remark on an image or one of its objects. A thread's first comment has no parent;
    replies point at it. An issue is a first comment that asks for a fix, optionally pinned to
    a point; it stays open until someone resolves it."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="comments")
    # The object it is about; kept as an id so the remark survives the object's deletion.
    object_id = models.BigIntegerField(null=True, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    is_issue = models.BooleanField(default=False)
    point = models.JSONField(null=True, blank=True)  # [x, y] in image pixels
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["image", "id"], name="comment_image"),
            models.Index(
                fields=["image"],
                condition=Q(is_issue=True, resolved_at__isnull=True, parent__isnull=True),
                name="comment_open_issue",
            ),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} on image {self.image_id}"


class ActivityEvent(models.Model):
    """The append-only log of who did what, when, on which image or object. Written in the
    transaction of the change it records; never updated or deleted by the app."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="activity")
    image = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="activity"
    )
    object_id = models.BigIntegerField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=32)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["project", "at"], name="activity_project_at"),
            models.Index(fields=["project", "user", "at"], name="activity_project_user_at"),
            models.Index(fields=["image", "id"], name="activity_image"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.action} at {self.at:%Y-%m-%d %H:%M:%S}"


class GroundTruthObject(models.Model):
    """A reference object of a ground-truth image: a copy of an accepted object, kept apart
    from the image's live objects so a honeypot can be annotated again from nothing."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="ground_truth_objects")
    label = models.ForeignKey(
        Label, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    mask = models.JSONField()  # COCO RLE, image size
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"reference object {self.pk} of image {self.image_id}"


class QualityScore(models.Model):
    """An annotator's objects on a ground-truth image against its reference: the mean best
    IoU per reference object, and the objects missed and made in excess. The latest
    submission's score per (image, annotator)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="quality_scores")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    mean_iou = models.FloatField()
    matched = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    extra = models.PositiveIntegerField(default=0)
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "user"], name="quality_unique_image_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on image {self.image_id}: {self.mean_iou:.3f}"
