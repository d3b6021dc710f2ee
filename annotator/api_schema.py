"""The API's OpenAPI description as clients and the schema fuzzer read it: ids in paths are
bounded integers, and every error answer an operation can give is listed with its body."""

import inspect
import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from annotator.ids import ID_MAX

ID_SCHEMA = {"type": "integer", "format": "int64", "minimum": 1, "maximum": ID_MAX}
_ID_IN_PATH = re.compile(r"<id:(\w+)>")
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(help_text="invalid, not_found, permission_denied, ...")
    message = serializers.CharField(help_text="What went wrong, in a sentence for a person.")
    fields = serializers.DictField(  # type: ignore[assignment]  # the body's key is `fields`
        allow_null=True, help_text="For invalid input: what is wrong, field by field."
    )


class ErrorOutput(serializers.Serializer):
    """The one error body of the API, made by annotator.api_errors.exception_handler."""

    error = ErrorDetailOutput()


class ApiSchema(AutoSchema):
    """Every API view's schema (DEFAULT_SCHEMA_CLASS): documents, beside what a view
    declares, the errors every view of its kind answers: 401 and 403 for signed-in routes,
    404 for a route naming objects, 400 for input."""

    def get_description(self):
        # The view's own words only: a base class's docstring is about the base.
        method = getattr(self.view, self.method.lower(), None)
        return inspect.getdoc(method) or inspect.cleandoc(
            type(self.view).__dict__.get("__doc__") or ""
        )

    def _resolve_path_parameters(self, variables):
        ids = set(_ID_IN_PATH.findall(self.path_regex))
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] in ids:
                parameter["schema"] = dict(ID_SCHEMA)
        return parameters

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, body, description in self.error_answers(operation):
            if code not in responses:
                error = OpenApiResponse(body, description=description)
                responses[code] = self._get_response_for_code(error, code)
        return operation

    def error_answers(self, operation: dict) -> list[tuple[str, type[serializers.Serializer], str]]:
        answers: list[tuple[str, type[serializers.Serializer], str]] = []
        if self.method in _WRITES or self.get_override_parameters():
            answers.append(("400", ErrorOutput, "The input is invalid; `fields` says where."))
        if "requestBody" in operation:
            answers.append(("415", ErrorOutput, "The body is in no format this route reads."))
        if any(isinstance(p, IsAuthenticated) for p in self.view.get_permissions()):
            answers.append(("401", ErrorOutput, "Not signed in: no valid token or session."))
            answers.append(("403", ErrorOutput, "Your role in the project does not allow this."))
        if _ID_IN_PATH.search(self.path_regex):
            answers.append(("404", ErrorOutput, "No such object, or none of your projects'."))
        return answers
