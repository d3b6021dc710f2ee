"""Input and output shapes of the inference API (also its OpenAPI documentation)."""

import dataclasses
from typing import Any

from rest_framework import serializers

from annotator.ids import IdField
from inference.prompts import PromptInput
from projects.models import ImageStatus


class ModelOutput(serializers.Serializer):
    key = serializers.CharField(help_text="What to send as `key` to download or load it.")
    kind = serializers.ChoiceField(choices=["sam2", "classic"])
    family = serializers.CharField()
    size = serializers.CharField()
    # A field named like Field.label, which the stubs type as a string attribute.
    label = serializers.CharField()  # type: ignore[assignment]
    config = serializers.CharField()
    url = serializers.CharField(help_text="Official checkpoint URL (or the configured mirror).")
    parameters_m = serializers.FloatField(help_text="Millions of parameters.")
    download_mb = serializers.FloatField(help_text="Approximate download size in MB.")
    present = serializers.BooleanField(help_text="The checkpoint is on the server already.")


class ModelLoadInput(serializers.Serializer):
    key = serializers.CharField(help_text="A key of the model list, `manual` or `classic`.")
    checkpoint = serializers.CharField(
        required=False, help_text="For `manual`: a path inside the configured model folders."
    )
    config = serializers.CharField(required=False, help_text="For `manual`: a sam2 config.")
    overrides = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="For `manual`: hydra overrides."
    )
    # Checked by the service (one validator for every path).
    params = serializers.DictField(
        required=False,
        help_text="device (auto/cpu/cuda), dtype (float32; bfloat16/float16 on CUDA), "
        "apply_postprocessing, mask_threshold, max_hole_area, max_sprinkle_area.",
    )


class ModelStateOutput(serializers.Serializer):
    status = serializers.CharField(help_text="default, loading, loaded, failed or cancelled.")
    message = serializers.CharField(required=False)
    active = serializers.DictField(help_text="The model predictions run on now.")
    requested = serializers.DictField(required=False)
    loaded_at = serializers.CharField(required=False)
    job_id = serializers.IntegerField(required=False)


class ModelDownloadInput(serializers.Serializer):
    key = serializers.CharField()


def _prompt_field(spec: dataclasses.Field) -> serializers.Field:
    kind, help_text = spec.metadata["kind"], spec.metadata["help"]
    default: Any = spec.default
    if kind == "json":
        return serializers.JSONField(required=False, allow_null=True, help_text=help_text)
    if kind == "id":
        return IdField(required=False, allow_null=True, help_text=help_text)
    if kind == "index":
        return serializers.IntegerField(
            required=False, default=default, min_value=0, help_text=help_text
        )
    return serializers.BooleanField(required=False, default=default, help_text=help_text)


# The schema of the prompt the route reads with PromptInput.from_dict, field for field.
PredictInput = type(
    "PredictInput",
    (serializers.Serializer,),
    {
        "__module__": __name__,
        **{spec.name: _prompt_field(spec) for spec in dataclasses.fields(PromptInput)},
    },
)


class PredictionOutput(serializers.Serializer):
    prediction_id = serializers.IntegerField()
    masks = serializers.ListField(child=serializers.DictField(), help_text="COCO RLE masks.")
    scores = serializers.ListField(child=serializers.FloatField())
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    model = serializers.DictField()
    logits = serializers.JSONField(allow_null=True)
    embedding_cached = serializers.BooleanField()


class AutomaskParamsInput(serializers.Serializer):
    """SAM2AutomaticMaskGenerator's options (the classic backend reads the last four)."""

    points_per_side = serializers.IntegerField(required=False, min_value=1, max_value=128)
    points_per_batch = serializers.IntegerField(required=False, min_value=1, max_value=1024)
    pred_iou_thresh = serializers.FloatField(required=False, min_value=0, max_value=1)
    stability_score_thresh = serializers.FloatField(required=False, min_value=0, max_value=1)
    stability_score_offset = serializers.FloatField(required=False, min_value=0)
    mask_threshold = serializers.FloatField(required=False)
    box_nms_thresh = serializers.FloatField(required=False, min_value=0, max_value=1)
    crop_n_layers = serializers.IntegerField(required=False, min_value=0, max_value=3)
    crop_nms_thresh = serializers.FloatField(required=False, min_value=0, max_value=1)
    crop_overlap_ratio = serializers.FloatField(required=False, min_value=0, max_value=1)
    crop_n_points_downscale_factor = serializers.IntegerField(
        required=False, min_value=1, max_value=8
    )
    min_mask_region_area = serializers.IntegerField(required=False, min_value=0)
    use_m2m = serializers.BooleanField(required=False)
    multimask_output = serializers.BooleanField(required=False)
    scale = serializers.FloatField(required=False, min_value=1, help_text="classic only")
    sigma = serializers.FloatField(required=False, min_value=0, help_text="classic only")
    max_masks = serializers.IntegerField(required=False, min_value=1, help_text="classic only")


class AutomaskPoolInput(serializers.Serializer):
    params = AutomaskParamsInput(required=False)
    image_ids = serializers.ListField(
        child=IdField(), required=False, help_text="Default: the whole pool."
    )


class AutomaskImageInput(serializers.Serializer):
    params = AutomaskParamsInput(required=False)


class _NoUnknownKeys(serializers.Serializer):
    """A key the serializer does not know is a 400 naming it, not silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(key)[:50] for key in set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({key: "Unknown key." for key in unknown})
        return super().to_internal_value(data)


class EmbeddingsFilterInput(_NoUnknownKeys):
    status = serializers.ListField(
        child=serializers.ChoiceField(choices=ImageStatus.choices),
        required=False,
        help_text="Only images of these statuses. Default: every status.",
    )
    # A field named like Field.source: DRF takes declared fields off the class.
    source = IdField(required=False, help_text="Only images of this source.")  # type: ignore[assignment]
    image_ids = serializers.ListField(
        child=IdField(), required=False, help_text="Only these images."
    )


class EmbeddingsInput(_NoUnknownKeys):
    filter = EmbeddingsFilterInput(
        required=False, help_text="Which images of the pool. Default: the whole pool."
    )
