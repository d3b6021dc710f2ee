"""The domain errors services raise, and the one body both edges give them.

The family is small: Django's ValidationError (invalid input, 400), PermissionDenied (the
role may not, 403), Http404 (no such object for this user, 404) and `Conflict` (the state
moved on meanwhile, 409). The REST exception handler (annotator.api_errors) and the WebSocket
consumers both turn any of them into `{"code", "message", "fields"}` through `error_body`, so
a client reads one shape everywhere.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404


class ErrorBody(TypedDict):
    code: str
    message: str
    fields: dict[str, list[str]] | None


class Conflict(Exception):
    """The object changed since the client read it; `current` is what it is now, when the
    client needs it to re-apply its change."""

    code = "conflict"

    def __init__(self, message: str, *, code: str = "", current: Any = None) -> None:
        super().__init__(message)
        self.code = code or self.code
        self.current = current


class ImageNotReadable(Conflict):
    """The image's file cannot be read now (gone, unreachable, no longer an image): nothing
    is wrong with the request, the pool's state stops it."""

    code = "image_unavailable"


class CheckpointUnreadable(Conflict):
    """The chosen checkpoint file cannot be loaded safely (not PyTorch weights, damaged, code
    besides weights, or weights that do not fit the config): the request is well formed, the
    file on the server stops it."""

    code = "checkpoint_unreadable"


DOMAIN_ERRORS = (ValidationError, PermissionDenied, Http404, Conflict)


def error_status(error: Exception) -> int:
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, Http404):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 400


def error_body(error: Exception) -> ErrorBody:
    """The one error body of a domain error, for a person and for a program."""
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            fields = {name: list(texts) for name, texts in error.message_dict.items()}
            text = " ".join(
                " ".join(texts) if name == "__all__" else f"{name}: {' '.join(texts)}"
                for name, texts in fields.items()
            )
            return {"code": "invalid", "message": text, "fields": fields}
        return {"code": "invalid", "message": " ".join(error.messages), "fields": None}
    if isinstance(error, PermissionDenied):
        message = str(error) or "Your role in this project does not allow this."
        return {"code": "permission_denied", "message": message, "fields": None}
    if isinstance(error, Http404):
        return {"code": "not_found", "message": str(error) or "Not found.", "fields": None}
    if isinstance(error, Conflict):
        return {"code": error.code, "message": str(error), "fields": None}
    return {"code": "error", "message": str(error), "fields": None}
