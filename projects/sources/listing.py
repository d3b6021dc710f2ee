"""What a source listing yields: one entry per image, without reading its pixels."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Listed:
    path: str  # within the source: relative path, blob name or URL
    size: int | None = None
    etag: str = ""
    # Set when the entry is known but cannot be read now (a URL answering 500, say).
    problem: str = ""


class ImageUnavailable(Exception):
    """The image cannot be read now (gone, unreachable, refused); the reason is the message."""


class ImageInvalid(Exception):
    """The bytes are not an image this application can read."""


class SourceUnavailable(Exception):
    """The whole source cannot be listed now (folder gone, credential refused, ...)."""


def has_image_extension(name: str, extensions: list[str]) -> bool:
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in extensions


def normalize_extensions(extensions: list[str]) -> list[str]:
    return sorted({("." + ext.strip().lstrip(".")).lower() for ext in extensions if ext.strip()})
