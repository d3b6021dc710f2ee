"""Writes on the pool: adding, editing, removing and re-scanning sources, uploads, and
removing or restoring single images."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from projects.crypto import encrypt
from projects.events import project_group, publish
from projects.jobs import JobCancelled, JobFailed, JobProgress, job_enqueue, run_job
from projects.models import Credential, Image, Job, Project, Source
from projects.sources import selectors
from projects.sources.azure import azure_location_parse, azure_secret_check
from projects.sources.folder import folder_resolve
from projects.sources.listing import ImageInvalid, SourceUnavailable, normalize_extensions
from projects.sources.scan import scan_apply, source_listing
from projects.sources.upload import CheckedUpload, upload_check, upload_store
from projects.sources.web import RefusedURL, url_check_host, url_parse_list

UPLOADS_NAME = "Uploads"
SECRET_KINDS = {
    Credential.Kind.CONNECTION_STRING,
    Credential.Kind.ACCOUNT_KEY,
    Credential.Kind.SAS_TOKEN,
}


# --- adding sources -------------------------------------------------------------------


def source_upload_create(*, project: Project, name: str = UPLOADS_NAME) -> Source:
    return Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name=name)


def source_folder_create(
    *,
    project: Project,
    path: str,
    name: str = "",
    recursive: bool = True,
    extensions: list[str] | None = None,
    user=None,
) -> tuple[Source, Job]:
    folder = folder_resolve(path)
    location = {
        "path": str(folder),
        "recursive": recursive,
        "extensions": _extensions(extensions),
    }
    with transaction.atomic():
        source = Source.objects.create(
            project=project, kind=Source.Kind.FOLDER, name=name or folder.name, location=location
        )
        job = source_scan_start(source=source, user=user)
    return source, job


def source_urls_create(*, project: Project, urls: str | list[str], name: str = "") -> Source:
    """URLs are recorded at once (nothing is fetched); each is checked against the address
    rules so a refused one never enters the pool."""
    checked = _urls_checked(urls)
    with transaction.atomic():
        source = Source.objects.create(
            project=project,
            kind=Source.Kind.URL,
            name=name or _url_source_name(checked),
            location={"urls": checked},
        )
        result = scan_apply(source, source_listing(source, check_remote=False))
        source.mark_available()
    _announce(source, "source.added", added=result.added)
    return source


def _urls_checked(urls: str | list[str]) -> list[str]:
    checked = url_parse_list(urls)
    refused = []
    # One lookup per host: a pasted list of thousands of URLs is mostly a few hosts.
    for url in {urlsplit(url).netloc: url for url in checked}.values():
        try:
            url_check_host(url)
        except RefusedURL as error:
            refused.append(str(error))
    if refused:
        raise ValidationError({"urls": refused})
    return checked


def _url_source_name(urls: list[str]) -> str:
    return urls[0][:200] if len(urls) == 1 else f"{len(urls)} URLs"


@dataclass(frozen=True)
class CredentialInput:
    kind: str
    secret: str = ""
    env_var: str = ""


def source_azure_create(
    *,
    project: Project,
    name: str = "",
    account_url: str = "",
    container: str = "",
    prefix: str = "",
    sas_url: str = "",
    extensions: list[str] | None = None,
    credential: CredentialInput | None = None,
    credential_id: int | None = None,
    user=None,
) -> tuple[Source, Job]:
    location = azure_location_parse(
        account_url=account_url, container=container, prefix=prefix, sas_url=sas_url
    )
    if location.sas_token:
        credential = CredentialInput(kind=Credential.Kind.SAS_TOKEN, secret=location.sas_token)
    with transaction.atomic():
        source = Source.objects.create(
            project=project,
            kind=Source.Kind.AZURE_BLOB,
            name=(name or f"{location.container}/{location.prefix}".rstrip("/"))[:200],
            location={**location.as_json(), "extensions": _extensions(extensions)},
        )
        source.credential = _credential(project, source.name, credential, credential_id)
        source.save(update_fields=["credential"])
        job = source_scan_start(source=source, user=user)
    return source, job


def _credential(project, label, given: CredentialInput | None, existing_id) -> Credential | None:
    if existing_id is not None:
        found = Credential.objects.filter(project=project, pk=existing_id).first()
        if found is None:
            raise ValidationError({"credential_id": "No such credential in this project."})
        return found
    if given is None:
        return None
    if given.kind not in Credential.Kind.values:
        raise ValidationError({"credential": f"Kind must be one of {Credential.Kind.values}."})
    if given.kind in SECRET_KINDS and not given.secret.strip():
        raise ValidationError({"credential": "This kind of credential needs its secret."})
    if given.kind == Credential.Kind.ENVIRONMENT and not given.env_var.strip():
        raise ValidationError({"credential": "Name the server environment variable to read."})
    taken = set(project.credentials.values_list("name", flat=True))
    name, n = f"{label} ({given.kind})", 1
    while name in taken:
        n += 1
        name = f"{label} ({given.kind}) {n}"
    return Credential.objects.create(
        project=project,
        name=name[:200],
        kind=given.kind,
        secret_encrypted=encrypt(given.secret.strip()) if given.kind in SECRET_KINDS else "",
        env_var=given.env_var.strip() if given.kind == Credential.Kind.ENVIRONMENT else "",
    )


def _extensions(extensions: list[str] | None) -> list[str]:
    if not extensions:
        return list(settings.ANNOTATOR_IMAGE_EXTENSIONS)
    return normalize_extensions(extensions)


# --- editing, removing, restoring -----------------------------------------------------


def source_update(
    *,
    source: Source,
    name: str | None = None,
    recursive: bool | None = None,
    extensions: list[str] | None = None,
    prefix: str | None = None,
    add_urls: list[str] | None = None,
    credential: CredentialInput | None = None,
    user=None,
) -> tuple[Source, Job | None]:
    """Change a source; a change of what it lists starts a re-scan."""
    location = dict(source.location)
    if recursive is not None and source.kind == Source.Kind.FOLDER:
        location["recursive"] = recursive
    if extensions is not None and source.kind in {Source.Kind.FOLDER, Source.Kind.AZURE_BLOB}:
        location["extensions"] = _extensions(extensions)
    if prefix is not None and source.kind == Source.Kind.AZURE_BLOB:
        location["prefix"] = prefix.lstrip("/")
    if add_urls and source.kind == Source.Kind.URL:
        location["urls"] = list(dict.fromkeys([*location["urls"], *_urls_checked(add_urls)]))
    with transaction.atomic():
        if name is not None:
            if not name.strip():
                raise ValidationError({"name": "A source needs a name."})
            source.name = name.strip()
        if credential is not None:
            source.credential = _credential(source.project, source.name, credential, None)
        relist = location != source.location or credential is not None
        source.location = location
        source.save()
        job = source_scan_start(source=source, user=user) if relist else None
    return source, job


def source_secret_set(
    *, source: Source, secret: str, kind: str = "", user=None
) -> tuple[Source, Job]:
    """Enter the secret of an Azure source's credential (one a restored archive asks for, or
    a new one): stored encrypted, the source's flag cleared, and a re-scan started that puts
    its images back. `kind` changes what the secret is (SAS token, connection string or
    account key); by default the credential keeps its kind."""
    if source.kind != Source.Kind.AZURE_BLOB:
        raise ValidationError("Only an Azure Blob Storage source takes a secret.")
    credential = source.credential
    kind = kind or (credential.kind if credential is not None else "")
    stored = azure_secret_check(kind, secret)
    with transaction.atomic():
        if credential is None or credential.kind not in SECRET_KINDS:
            given = CredentialInput(kind=kind, secret=stored)
            source.credential = _credential(source.project, source.name, given, None)
            source.save(update_fields=["credential", "updated_at"])
        else:
            credential.kind = kind
            credential.secret_encrypted = encrypt(stored)
            credential.save(update_fields=["kind", "secret_encrypted"])
        source.mark_available()
        job = source_scan_start(source=source, user=user)
    return source, job


def source_remove(*, source: Source) -> dict:
    """Hide a source and its images from the pool. Nothing is deleted: every annotation
    record stays and source_restore brings it all back."""
    summary = selectors.source_removal_summary(source)
    if source.removed_at is None:
        source.removed_at = timezone.now()
        source.save(update_fields=["removed_at", "updated_at"])
    _announce(source, "source.removed")
    return summary


def source_restore(*, source: Source) -> Source:
    if source.removed_at is not None:
        source.removed_at = None
        source.save(update_fields=["removed_at", "updated_at"])
        _announce(source, "source.restored")
    return source


def image_remove(*, image: Image) -> Image:
    if image.removed_at is None:
        image.removed_at = timezone.now()
        image.save(update_fields=["removed_at"])
        publish(project_group(image.project_id), "image.removed", {"image_id": image.pk})
    return image


def image_restore(*, image: Image) -> Image:
    if image.removed_at is not None:
        image.removed_at = None
        image.save(update_fields=["removed_at"])
        publish(project_group(image.project_id), "image.restored", {"image_id": image.pk})
    return image


# --- scanning ---------------------------------------------------------------------------


def source_scan_start(*, source: Source, user=None) -> Job:
    """A scan runs as a job on the default queue; it is enqueued once the caller's
    transaction commits, so the worker always finds the source and the job. A scan of the
    source that is still queued or running is returned instead of starting a second."""
    active = Job.objects.filter(
        kind=Job.Kind.SOURCE_SCAN,
        params__source_id=source.pk,
        status__in=[Job.Status.QUEUED, Job.Status.RUNNING],
    ).first()
    if active is not None:
        return active
    job = Job.objects.create(
        project=source.project,
        kind=Job.Kind.SOURCE_SCAN,
        params={"source_id": source.pk},
        created_by=user if user is not None and user.is_authenticated else None,
    )
    job_enqueue(job)
    return job


def source_scan_run(*, job_id: int) -> Job:
    """Run one scan job. Re-running a finished job does nothing; a retried one adds no
    duplicate images (rows are unique per path)."""

    def work(progress: JobProgress) -> str:
        source = Source.objects.get(pk=progress.job.params["source_id"])
        progress.start(message=f"Listing {source.name}")
        try:
            result = scan_apply(
                source, source_listing(source), progress=lambda n: _report(progress, n)
            )
        except SourceUnavailable as error:
            source.mark_unavailable(str(error))
            progress.job.result = {"source_id": source.pk}
            raise JobFailed(str(error)) from None
        progress.job.done = progress.job.total = result.listed
        if progress.cancelled():
            raise JobCancelled("Cancelled; images found so far were added.")
        source.mark_available()
        progress.job.result = {"source_id": source.pk, **result.as_json()}
        return (
            f"{result.listed} listed: {result.added} new, {result.vanished} gone, "
            f"{result.returned} back, {result.changed} changed, {result.unreadable} unreadable."
        )

    run_job(job_id, work)
    return Job.objects.get(pk=job_id)


def _report(progress: JobProgress, done: int) -> bool:
    """Progress of the listing; False asks the scan to stop, keeping what it added."""
    try:
        progress.step(done=done, message=f"{done} listed", every=0.25)
    except JobCancelled:
        return False
    return True


def _announce(source: Source, event: str, **extra) -> None:
    publish(
        project_group(source.project_id),
        event,
        {"source_id": source.pk, "kind": source.kind, "name": source.name, **extra},
    )


# --- uploads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadOutcome:
    name: str
    image: Image
    duplicate: bool


def upload_files(
    *, project: Project, files: list[UploadedFile], source: Source | None = None
) -> list[UploadOutcome]:
    """Add uploaded files to the pool. Every file is checked first: one bad file refuses the
    whole batch and nothing is stored. Bytes the project has already are not stored again;
    the answer points at the image that has them."""
    if not files:
        raise ValidationError({"files": "Choose one or more image files to upload."})
    checked, errors = [], []
    for file in files:
        try:
            checked.append(upload_check(file))
        except ImageInvalid as error:
            errors.append(str(error))
    if errors:
        raise ValidationError({"files": errors})
    if source is not None and source.kind != Source.Kind.UPLOAD:
        raise ValidationError({"source": "Files can only be uploaded into an upload source."})
    return _store_all(project, checked, source)


def _store_all(project, checked: list[CheckedUpload], source) -> list[UploadOutcome]:
    written: list[Path] = []
    outcomes: list[UploadOutcome] = []
    try:
        with transaction.atomic():
            source = source or _default_upload_source(project)
            for upload in checked:
                outcomes.append(_store_one(project, source, upload, written))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    _announce(source, "source.images_added", added=sum(not o.duplicate for o in outcomes))
    return outcomes


def _store_one(project, source, upload: CheckedUpload, written: list[Path]) -> UploadOutcome:
    existing = selectors.upload_with_key(project, upload.key)
    if existing is not None:
        # Uploading the same bytes again means the person wants the image in the pool,
        # readable: put back a file that went missing and clear the flags.
        if not (Path(settings.ANNOTATOR_UPLOAD_DIR) / existing.path).is_file():
            written.append(upload_store(existing.path, upload.file))
        if not existing.available:
            Image.objects.filter(pk=existing.pk).update(
                available=True, unavailable_reason="", checked_at=timezone.now()
            )
            existing.refresh_from_db()
        image_restore(image=existing)
        return UploadOutcome(name=upload.name, image=existing, duplicate=True)
    relative = upload.relative_path(project.pk)
    path = Path(settings.ANNOTATOR_UPLOAD_DIR) / relative
    if not path.exists():
        written.append(upload_store(relative, upload.file))
    image = Image.objects.create(
        project=project,
        source=source,
        path=relative,
        key=upload.key,
        width=upload.width,
        height=upload.height,
        size=upload.size,
        checked_at=timezone.now(),
    )
    return UploadOutcome(name=upload.name, image=image, duplicate=False)


def _default_upload_source(project: Project) -> Source:
    source = (
        Source.objects.select_for_update()
        .filter(project=project, kind=Source.Kind.UPLOAD, removed_at__isnull=True)
        .order_by("id")
        .first()
    )
    return source or source_upload_create(project=project)
