"""Reading an image of the pool, whatever its source: bytes, then RGB pixels for the model."""

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageOps

from projects.models import Image, Source


class ImageUnavailable(Exception):
    """The image cannot be read now (gone, unreachable, refused); the reason is the message."""


class ImageInvalid(Exception):
    """The bytes are not an image this application can read."""


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # H x W x 3, uint8, EXIF orientation applied
    width: int
    height: int
    key: str  # SHA-256 of the bytes


def read_bytes(image: Image) -> bytes:
    """The stored bytes of an image, from wherever its source keeps them."""
    source = image.source
    if source.kind == Source.Kind.UPLOAD:
        return _read_file(Path(settings.ANNOTATOR_UPLOAD_DIR), image.path)
    if source.kind == Source.Kind.FOLDER:
        return _read_file(Path(source.location["path"]), image.path)
    raise ImageUnavailable(f"Reading {source.get_kind_display()} sources is not supported yet.")


def _read_file(root: Path, relative: str) -> bytes:
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ImageUnavailable(f"{relative!r} is outside its source folder.")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageUnavailable(f"The file {relative!r} is gone.") from None
    except OSError as error:
        raise ImageUnavailable(f"The file {relative!r} cannot be read: {error.strerror}.") from None


def decode(data: bytes) -> DecodedImage:
    """RGB pixels for the model: EXIF orientation applied; grey, 16-bit, RGBA and palette
    images converted; dimensions as a person sees the image."""
    PILImage.MAX_IMAGE_PIXELS = settings.ANNOTATOR_MAX_IMAGE_PIXELS
    try:
        with PILImage.open(io.BytesIO(data)) as picture:
            picture = ImageOps.exif_transpose(picture)
            rgb = _to_rgb(picture)
    except PILImage.DecompressionBombError as error:
        raise ImageInvalid(f"The image is too large: {error}") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageInvalid(f"The file is not a readable image ({error}).") from None
    return DecodedImage(
        rgb=rgb, width=rgb.shape[1], height=rgb.shape[0], key=hashlib.sha256(data).hexdigest()
    )


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
    try:
        decoded = decode(read_bytes(image))
    except (ImageUnavailable, ImageInvalid) as error:
        image.mark_unavailable(str(error))
        raise
    changed = {
        "width": decoded.width,
        "height": decoded.height,
        "key": decoded.key,
        "available": True,
        "unavailable_reason": "",
    }
    if any(getattr(image, field) != value for field, value in changed.items()):
        for field, value in changed.items():
            setattr(image, field, value)
        image.checked_at = timezone.now()
        image.save(update_fields=[*changed, "checked_at"])
    return decoded
