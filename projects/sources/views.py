"""The Sources panel's form for an Azure source's secret, an HTMX partial: a source restored
from an archive (or whose stored secret this server can no longer read) asks for it here.

Any member sees that the source needs its secret; only an owner gets the form, and only an
owner's POST saves it (encrypted, through the sources service, which starts a re-scan)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from projects import access
from projects.models import Credential, Source
from projects.sources import services
from projects.sources.azure import SECRET_KINDS, azure_needs_secret

TEMPLATE = "projects/_source_secret.html"
KIND_LABELS = {
    Credential.Kind.SAS_TOKEN: "SAS token",
    Credential.Kind.CONNECTION_STRING: "Connection string",
    Credential.Kind.ACCOUNT_KEY: "Account key",
}


@login_required
@require_http_methods(["GET", "POST"])
def source_secret_form(request: HttpRequest, source_id: int) -> HttpResponse:
    if request.method == "POST":
        source = access.source_for_user(request.user, source_id, need="own")
        return _save(request, source)
    source = access.source_for_user(request.user, source_id)
    if not azure_needs_secret(source):
        return _render(request, source, "none")
    try:
        access.source_for_user(request.user, source_id, need="own")
    except PermissionDenied:
        return _render(request, source, "note")
    return _render(request, source, "form")


def _save(request: HttpRequest, source: Source) -> HttpResponse:
    try:
        services.source_secret_set(
            source=source,
            secret=request.POST.get("secret", ""),
            kind=request.POST.get("kind", ""),
            user=request.user,
        )
    except ValidationError as error:
        # Answered 200 so the panel shows it in place (HTMX swaps only successful answers).
        return _render(request, source, "form", error=" ".join(error.messages))
    response = _render(request, source, "saved")
    response["HX-Trigger"] = "sources-changed"
    return response


def _render(request: HttpRequest, source: Source, mode: str, *, error: str = "") -> HttpResponse:
    credential = source.credential
    kinds = [(kind, KIND_LABELS[kind]) for kind in SECRET_KINDS]
    context = {
        "source": source,
        "mode": mode,
        "error": error,
        "kinds": kinds,
        "current_kind": credential.kind if credential is not None else "",
        "credential_name": credential.name if credential is not None else "",
    }
    return render(request, TEMPLATE, context)
