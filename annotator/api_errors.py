"""One JSON error shape for the whole API: {"error": {"code", "message", "fields"}}.

`error_data` makes it, for a domain error (projects.errors) and for DRF's own exceptions
(invalid input, not signed in, throttled, a method or a media type the route does not take).
The REST exception handler, the 404 of a URL no route matches and the ASGI guard against
oversized requests all answer with it; a conflict that knows the current state adds it as
`"current"` beside the error.
"""

from typing import Any

from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from projects.errors import DOMAIN_ERRORS, Conflict, ErrorBody, error_body, error_status


class RequestTooLarge(exceptions.APIException):
    """The request body is over ANNOTATOR_MAX_REQUEST_MB; annotator.limits answers it
    before Django reads the body."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request is larger than this server accepts."


def _message(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_message(d) for d in detail)
    if isinstance(detail, dict):
        return " ".join(f"{k}: {_message(v)}" for k, v in detail.items())
    return str(detail)


def _api_exception_body(exc: exceptions.APIException) -> ErrorBody:
    detail: Any = exc.detail
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        return {
            "code": "invalid",
            "message": "Invalid input. " + _message(detail),
            "fields": detail,
        }
    code = exc.default_code
    if isinstance(detail, exceptions.ErrorDetail):
        code = detail.code or code
    message = _message(detail.get("detail", detail) if isinstance(detail, dict) else detail)
    return {"code": code, "message": message, "fields": None}


def error_data(exc: Exception) -> dict[str, Any]:
    """The body of the answer to `exc`."""
    if isinstance(exc, exceptions.APIException):
        data: dict[str, Any] = {"error": _api_exception_body(exc)}
    else:
        data = {"error": error_body(exc)}
    if isinstance(exc, Conflict) and exc.current is not None:
        data["current"] = exc.current
    return data


def exception_handler(exc, context):
    if isinstance(exc, DOMAIN_ERRORS):
        set_rollback()
        return Response(error_data(exc), status=error_status(exc))
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = error_data(exc)
    return response


def not_found(request, exception):
    """The 404 for a URL no route matches (an id out of range, say): the API's error body
    under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_data(Http404()), status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception)
