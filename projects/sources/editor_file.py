"""The file the editor shows: cheap to move, and the pixels the model sees.

A browser shows JPEG, PNG, WebP and GIF itself, so those are sent as stored, byte for byte,
when no EXIF orientation has to be applied and the browser would not show other pixels than
the model gets (16- and 32-bit grey, which the model sees with its contrast stretched).
Everything else (TIFF, BMP, a turned camera photo, ...) is sent as a high-quality JPEG of the
oriented image, made once and kept in the bounded cache of the sources' files.

The file is checked before it is first served (read through, a JPEG at an eighth of its
scale), which records the size the editor draws on (the oriented size), so the editor's
canvas and the served picture always agree.
"""

import hashlib
import io
from dataclasses import dataclass

from PIL import Image as PILImage

from projects.models import Image
from projects.sources import reader
from projects.sources.cache import cache_key, cached_bytes

__all__ = ["JPEG_QUALITY", "EditorFile", "editor_file", "etag_matches"]

# What a browser shows as the file is, by the format Pillow reads from its header.
SHOWN_AS_IS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # a camera's JPEG with a second picture after the first
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
DEEP_MODES = {"I;16", "I;16B", "I;16L", "I", "F"}
EXIF_ORIENTATION = 0x0112
JPEG_QUALITY = 92


@dataclass(frozen=True)
class EditorFile:
    data: bytes
    content_type: str
    etag: str  # quoted, derived from the content


def editor_file(image: Image) -> EditorFile:
    """The bytes to send the editor for `image`; raises reader.ImageUnavailable or
    reader.ImageInvalid (the image flagged unavailable) when it cannot be read."""
    data = reader.read_or_flag(image)
    key = hashlib.sha256(data).hexdigest()
    content_type = _shown_as_is(data)
    if content_type:
        if image.key != key or image.width is None or not image.available:
            # New or changed content: read through once, which refuses a damaged file and
            # records the size (cheaper than decoding it for the model: the browser will).
            reader.check_and_remember(image, data)
        return EditorFile(data=data, content_type=content_type, etag=f'"{key}"')
    decoded = None
    if image.key != key or image.width is None or not image.available:
        decoded = reader.decode_and_remember(image, data)
    variant = f"{key}-jpeg{JPEG_QUALITY}"
    jpeg = cached_bytes(
        cache_key("editor", variant),
        lambda: _jpeg(decoded or reader.decode_and_remember(image, data)),
    )
    return EditorFile(data=jpeg, content_type="image/jpeg", etag=f'"{variant}"')


def _shown_as_is(data: bytes) -> str | None:
    """The content type to send `data` as it is, or None when it has to be converted."""
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            if picture.format not in SHOWN_AS_IS or picture.mode in DEEP_MODES:
                return None
            if picture.getexif().get(EXIF_ORIENTATION, 1) != 1:
                return None
            return SHOWN_AS_IS[picture.format]
    except (OSError, SyntaxError, ValueError):
        return None  # converting decodes it again and says what is wrong


def _jpeg(decoded: reader.DecodedImage) -> bytes:
    buffer = io.BytesIO()
    # No EXIF written: the pixels are already oriented. Full-resolution colour (4:4:4).
    PILImage.fromarray(decoded.rgb).save(
        buffer, format="JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=False
    )
    return buffer.getvalue()


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (weak comparison, as RFC 9110 asks)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))
