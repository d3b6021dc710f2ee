"""Files uploaded by a client: checked as images, stored once per content, atomically."""

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from projects.sources.listing import ImageInvalid
from projects.sources.reader import decode

SAFE_NAME = re.compile(r"[^\w.-]+")  # letters of any script stay readable


@dataclass(frozen=True)
class CheckedUpload:
    name: str  # the client's file name, made safe for a path
    file: UploadedFile  # kept, not its bytes: a batch of large files must not sit in memory
    size: int
    key: str  # SHA-256 of the bytes
    width: int
    height: int

    def relative_path(self, project_id: int) -> str:
        """Where the file lives under the upload folder: its name stays readable, the hash
        keeps two different files of the same name apart."""
        return f"{project_id}/{self.key[:16]}/{self.name}"


def upload_check(file: UploadedFile) -> CheckedUpload:
    """Read and check one uploaded file; raises ImageInvalid with a reason a person can act
    on (too large, not an image, corrupt, too many pixels)."""
    limit_mb = settings.ANNOTATOR_MAX_UPLOAD_MB
    name = safe_name(file.name or "image")
    if file.size is not None and file.size > limit_mb * 1024 * 1024:
        raise ImageInvalid(f"{name}: larger than the {limit_mb} MB this server accepts.")
    file.seek(0)
    data = file.read()
    if len(data) > limit_mb * 1024 * 1024:
        raise ImageInvalid(f"{name}: larger than the {limit_mb} MB this server accepts.")
    try:
        decoded = decode(data)
    except ImageInvalid as error:
        raise ImageInvalid(f"{name}: {error}") from None
    return CheckedUpload(
        name=name,
        file=file,
        size=len(data),
        key=hashlib.sha256(data).hexdigest(),
        width=decoded.width,
        height=decoded.height,
    )


def safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    cleaned = SAFE_NAME.sub("_", base).strip("._") or "image"
    return cleaned[:150]


def upload_store(relative: str, file: UploadedFile) -> Path:
    """Copy the upload under the upload folder; a temp file renamed into place, so a crash
    never leaves half a file under a real name."""
    path = Path(settings.ANNOTATOR_UPLOAD_DIR) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    file.seek(0)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as temp:
        for chunk in file.chunks():
            temp.write(chunk)
    os.replace(temp.name, path)
    return path
