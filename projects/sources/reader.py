"""Reading an image of the pool, whatever its source: bytes, then RGB pixels for the model."""

__all__ = [
    "DecodedImage",
    "ImageInvalid",
    "ImageUnavailable",
    "check",
    "check_and_remember",
    "decode",
    "decode_and_remember",
    "load",
    "read_bytes",
    "read_or_flag",
    "remember",
]

import hashlib
import io
import urllib.error
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageOps

from projects.crypto import CredentialKeyError
from projects.events import project_group, publish
from projects.models import Image, Source
from projects.sources.azure import azure_read
from projects.sources.cache import cache_key, cached_bytes
from projects.sources.folder import folder_allowed, folder_read
from projects.sources.listing import ImageInvalid, ImageUnavailable
from projects.sources.web import RefusedURL, url_fetch


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # H x W x 3, uint8, EXIF orientation applied
    width: int
    height: int
    key: str  # SHA-256 of the bytes


def read_bytes(image: Image) -> bytes:
    """The stored bytes of an image, from wherever its source keeps them.

    Remote bytes (URLs, Azure) go through the bounded on-disk cache, keyed by the etag the
    last scan saw, so a changed remote file is fetched again after a re-scan.
    """
    source = image.source
    if source.kind == Source.Kind.UPLOAD:
        return folder_read(*_upload_location(image))
    if source.kind == Source.Kind.FOLDER:
        root = Path(source.location["path"])
        if not folder_allowed(root):
            raise ImageUnavailable(f"{str(root)!r} is no longer inside ANNOTATOR_FOLDER_ROOTS.")
        return folder_read(root, image.path)
    key = cache_key(source.pk, image.path, image.etag)
    if source.kind == Source.Kind.URL:
        return cached_bytes(key, lambda: _fetch_url(image.path))
    if source.kind == Source.Kind.AZURE_BLOB:
        return cached_bytes(key, lambda: azure_read(source, image.path)[0])
    raise ImageUnavailable(f"Reading {source.get_kind_display()} sources is not supported.")


def _upload_location(image: Image) -> tuple[Path, str]:
    """An upload is read from its own project's upload folder, never another's."""
    base = Path(settings.ANNOTATOR_UPLOAD_DIR)
    head, _, rest = image.path.partition("/")
    if ".." in image.path.split("/") or (head.isdigit() and int(head) != image.project_id):
        raise ImageUnavailable("The file is not in this project's uploads: upload it again.")
    return (base / head, rest) if head.isdigit() else (base, image.path)


def _fetch_url(url: str) -> bytes:
    try:
        return url_fetch(url)[0]
    except RefusedURL as error:
        raise ImageUnavailable(str(error)) from None
    except urllib.error.HTTPError as error:
        raise ImageUnavailable(f"{url!r} answered {error.code} {error.reason}.") from None
    except urllib.error.URLError as error:
        raise ImageUnavailable(f"{url!r} cannot be reached: {error.reason}.") from None
    except (TimeoutError, OSError) as error:
        raise ImageUnavailable(f"{url!r} cannot be reached: {error}.") from None


def decode(data: bytes) -> DecodedImage:
    """RGB pixels for the model: EXIF orientation applied; grey, 16-bit, RGBA and palette
    images converted; dimensions as a person sees the image."""
    return _reading(data, lambda picture: _pixels(picture, data))


def check(data: bytes) -> tuple[int, int]:
    """The size of `data` as a person sees it, once every byte of it was read and found an
    image: a JPEG decoded at an eighth of its scale (cheap, and a cut or damaged file is
    still refused), other formats in full. Raises ImageInvalid like decode."""
    return _reading(data, _checked_size)


def _reading(data: bytes, work):
    limit = settings.ANNOTATOR_MAX_IMAGE_PIXELS
    PILImage.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            # The explicit check below refuses what the warning is about.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            opened = PILImage.open(io.BytesIO(data))
        with opened as picture:
            # Pillow only raises above twice its limit; the setting is the limit itself.
            if picture.width * picture.height > limit:
                raise PILImage.DecompressionBombError(
                    f"{picture.width} x {picture.height} pixels is more than the "
                    f"{limit:,} this server accepts (ANNOTATOR_MAX_IMAGE_PIXELS)"
                )
            return work(picture)
    except PILImage.DecompressionBombError as error:
        raise ImageInvalid(f"The image is too large: {error}") from None
    except PILImage.UnidentifiedImageError:
        raise ImageInvalid(
            "The file is not a readable image (not JPEG, PNG, TIFF, BMP, WebP, GIF or another "
            "format this server reads)."
        ) from None
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombWarning) as error:
        raise ImageInvalid(f"The file is not a readable image ({error}).") from None


def _pixels(picture: PILImage.Image, data: bytes) -> DecodedImage:
    rgb = _to_rgb(ImageOps.exif_transpose(picture))
    return DecodedImage(
        rgb=rgb, width=rgb.shape[1], height=rgb.shape[0], key=hashlib.sha256(data).hexdigest()
    )


TURNED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


def _checked_size(picture: PILImage.Image) -> tuple[int, int]:
    width, height = picture.size
    turned = picture.getexif().get(0x0112, 1) in TURNED
    if picture.format in {"JPEG", "MPO"}:
        picture.draft("RGB", (max(1, width // 8), max(1, height // 8)))
    picture.load()
    return (height, width) if turned else (width, height)


def _to_rgb(picture: PILImage.Image) -> np.ndarray:
    if picture.mode in {"I;16", "I;16B", "I;16L", "I"}:
        # 16-bit and 32-bit grey: scale the full range to 8 bits instead of clipping it.
        values = np.asarray(picture, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255 if high > low else values * 0
        grey = scaled.round().astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if picture.mode in {"RGBA", "LA", "PA"} or (
        picture.mode == "P" and "transparency" in picture.info
    ):
        # Transparent pixels over white, as a viewer shows them.
        rgba = picture.convert("RGBA")
        background = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(PILImage.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(picture.convert("RGB"))


def load(image: Image) -> DecodedImage:
    """Read and decode an image of the pool, recording its size and key on the first read.

    An image that cannot be read is flagged unavailable with the reason, then the error is
    raised for the caller to report.
    """
    return decode_and_remember(image, read_or_flag(image))


def read_or_flag(image: Image) -> bytes:
    """The image's bytes; an image that cannot be read is flagged unavailable, then raised."""
    try:
        return read_bytes(image)
    except ImageUnavailable as error:
        image.mark_unavailable(str(error))
        raise
    except CredentialKeyError as error:
        image.mark_unavailable(str(error))
        raise ImageUnavailable(str(error)) from None


def decode_and_remember(image: Image, data: bytes) -> DecodedImage:
    """Decode `data`, the image's bytes, and record its size and key (flagged on failure)."""
    try:
        decoded = decode(data)
    except ImageInvalid as error:
        image.mark_unavailable(str(error))
        raise
    remember(image, decoded.width, decoded.height, decoded.key)
    return decoded


def check_and_remember(image: Image, data: bytes) -> None:
    """Check `data`, the image's bytes, as `check` does and record its size and key (flagged
    unavailable when it is no image)."""
    try:
        width, height = check(data)
    except ImageInvalid as error:
        image.mark_unavailable(str(error))
        raise
    remember(image, width, height, hashlib.sha256(data).hexdigest())


def remember(image: Image, width: int, height: int, key: str) -> None:
    """Record what a read found: the viewed size and the content key; a changed key is told
    to everyone with the project open."""
    if image.key and image.key != key:
        # The file behind the path changed since it was first read; annotations made on the
        # old content may no longer fit, so everyone with the project open is told.
        publish(
            project_group(image.project_id),
            "image.content_changed",
            {"image_id": image.pk, "old_key": image.key, "new_key": key},
        )
    changed = {
        "width": width,
        "height": height,
        "key": key,
        "available": True,
        "unavailable_reason": "",
    }
    if any(getattr(image, field) != value for field, value in changed.items()):
        for field, value in changed.items():
            setattr(image, field, value)
        image.checked_at = timezone.now()
        image.save(update_fields=[*changed, "checked_at"])
