"""Small JPEG previews for the pool overview, cached on disk by content hash."""

import io
import os
import tempfile
from pathlib import Path

from django.conf import settings
from PIL import Image as PILImage

from projects.models import Image
from projects.sources import reader


def thumbnail_path(key: str) -> Path:
    size = settings.ANNOTATOR_THUMBNAIL_PX
    return Path(settings.ANNOTATOR_CACHE_DIR) / "thumbnails" / str(size) / key[:2] / f"{key}.jpg"


def thumbnail_get(image: Image) -> Path:
    """The thumbnail file of an image, made on first use; raises like reader.load."""
    if image.key:
        path = thumbnail_path(image.key)
        if path.exists():
            return path
    decoded = reader.load(image)
    path = thumbnail_path(decoded.key)
    if not path.exists():
        _write(path, _encode(decoded.rgb))
    return path


def _encode(rgb) -> bytes:
    picture = PILImage.fromarray(rgb)
    side = settings.ANNOTATOR_THUMBNAIL_PX
    picture.thumbnail((side, side), PILImage.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".part") as temp:
        temp.write(data)
    os.replace(temp.name, path)
