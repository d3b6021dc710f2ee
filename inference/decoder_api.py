"""REST endpoints of the browser's decoder: the model's decoder graph (ONNX) and an image's
features, both revalidated by their ETag.

The server stays the record: the browser decodes a preview with these, a committed click is
still a `predict` message whose saved masks replace it.
"""

from __future__ import annotations

from django.http import FileResponse, HttpResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api_schema import ErrorOutput
from inference import engine, features, onnx_export, selectors
from inference.refs import ModelRef
from projects import access
from projects.errors import Conflict
from projects.models import Project
from projects.sources.editor_file import etag_matches


class FeaturesPendingOutput(serializers.Serializer):
    status = serializers.CharField(help_text="`preparing`: ask again after Retry-After seconds.")
    message = serializers.CharField()


NOT_MODIFIED = OpenApiResponse(description="Not modified: the ETag named is still current.")


class DecoderUnavailable(Conflict):
    code = "decoder_unavailable"


def decoder_model(project: Project) -> ModelRef:
    """The SAM2 model the project's clicks run on, if the browser can decode with it."""
    ref = selectors.project_model_ref(project)
    if ref.is_classic:
        raise DecoderUnavailable(
            "The project's model is `classic`, which has no SAM2 decoder: clicks are decoded "
            "on the server."
        )
    status = (project.model_selection or {}).get("status")
    if status != "loaded" and not engine.is_loaded(ref):
        raise DecoderUnavailable(
            "No SAM2 model is loaded in this project: load one in the Model panel."
        )
    return ref


def _sam2_model(ref: ModelRef):
    loaded = engine.get_engine(ref)
    model = getattr(loaded, "model", None)
    if model is None:
        raise DecoderUnavailable("The project's model has no SAM2 decoder.")
    return model


def _revalidated(response: HttpResponseBase, tag: str) -> HttpResponseBase:
    response["ETag"] = tag
    # Kept by the browser, asked again each time: a new model or image gives a new tag.
    response["Cache-Control"] = "private, no-cache"
    return response


class DecoderModelApi(APIView):
    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            304: NOT_MODIFIED,
            409: ErrorOutput,
        },
        description="The prompt encoder and mask decoder of the project's loaded SAM2 model "
        "as an ONNX graph (exported once per model), for decoding prompts in the browser. "
        "409 with the classic model or none loaded.",
    )
    def get(self, request, project_id: int):
        project = access.project_for_user(request.user, project_id)
        ref = decoder_model(project)
        found = onnx_export.cached(ref.cache_key)
        if found is not None and etag_matches(request.headers.get("If-None-Match", ""), found.etag):
            return _revalidated(HttpResponseNotModified(), found.etag)
        exported = onnx_export.decoder_file(ref.cache_key, lambda: _sam2_model(ref))
        response = FileResponse(exported.path.open("rb"), content_type="application/octet-stream")
        return _revalidated(response, exported.etag)


class ImageFeaturesApi(APIView):
    @extend_schema(
        responses={
            (200, features.CONTENT_TYPE): OpenApiTypes.BINARY,
            202: FeaturesPendingOutput,
            304: NOT_MODIFIED,
            409: ErrorOutput,
        },
        description="The image's SAM2 features on the project's loaded model, for the "
        "browser's decoder: a 4-byte length, a JSON header (shapes, model key, orig_hw, "
        "image_size), then the float16 tensors, bytes shuffled, in one gzip stream. 202 while "
        "the features are being prepared.",
    )
    def get(self, request, image_id: int):
        image = access.image_for_user(request.user, image_id, need="edit")
        ref = decoder_model(image.project)
        tag = features.etag(ref, image)
        if tag and etag_matches(request.headers.get("If-None-Match", ""), tag):
            return _revalidated(HttpResponseNotModified(), tag)
        try:
            state = features.image_features(image, ref)
        except features.FeaturesNotReady as pending:
            body = {"status": "preparing", "message": str(pending)}
            return Response(body, status=202, headers={"Retry-After": "1"})
        packed = features.pack(state, ref=ref, image=image)
        response = HttpResponse(packed.as_bytes(), content_type=features.CONTENT_TYPE)
        return _revalidated(response, features.etag(ref, image) or '"unknown"')
