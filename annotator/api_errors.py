"""One JSON error shape for the whole API: {"error": {"code", "message", "fields"}}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def _message(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_message(d) for d in detail)
    if isinstance(detail, dict):
        return " ".join(f"{k}: {_message(v)}" for k, v in detail.items())
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "You do not have permission to do this.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    fields = None
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        fields = detail
        message = "Invalid input. " + _message(detail)
    else:
        message = _message(detail.get("detail", detail) if isinstance(detail, dict) else detail)
    code = getattr(exc, "default_code", "error")
    if isinstance(getattr(exc, "detail", None), exceptions.ErrorDetail):
        code = exc.detail.code or code
    response.data = {"error": {"code": code, "message": message, "fields": fields}}
    return response


def not_found(request, exception):
    """The 404 for a URL no route matches (an id out of range, say): the API's error body
    under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        body = {"error": {"code": "not_found", "message": "Not found.", "fields": None}}
        return JsonResponse(body, status=404)
    return page_not_found(request, exception)
