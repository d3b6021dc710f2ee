"""A click's prompt: the one list of its fields.

The REST serializer (inference.serializers.PredictInput), the WebSocket's `predict` message,
the validation both take (PromptInput.from_dict), the saved Prediction and the export rows all
read the fields from here, so a new field is added to the dataclass (and, if it is recorded,
as a Prediction column).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from django.core.exceptions import ValidationError

from annotator.ids import ID_ERROR, parse_id

# What a field holds: any JSON value whose shape the prediction service checks against the
# image (json), an id of an earlier prediction, a whole number from 0, or true/false.
Kind = Literal["json", "id", "index", "flag"]
# How a Prediction keeps a field: a column of the same name, an array file in `<name>_file`,
# or not at all (an earlier prediction's logits are kept as the new one's mask input file).
Recorded = Literal["column", "file", None]


def _field(kind: Kind, default: Any, help_text: str, recorded: Recorded = "column") -> Any:
    return field(default=default, metadata={"kind": kind, "help": help_text, "recorded": recorded})


@dataclass(frozen=True)
class PromptInput:
    """A prompt as a client sends it (JSON values); the prediction service checks it against
    the image and the model (inference.services.predictions.prompt_validate)."""

    point_coords: Any = _field("json", None, "[[x, y], ...] in image pixels.")
    point_labels: Any = _field("json", None, "1 object, 0 background, one per point.")
    box: Any = _field("json", None, "[x1, y1, x2, y2] or a list of boxes.")
    mask_input: Any = _field("json", None, "Low-res logits of an earlier prediction.", "file")
    # Instead of sending 256x256 logits back, a client may name an earlier prediction of the
    # same image and which of its masks to refine.
    mask_input_prediction: int | None = _field(
        "id", None, "An earlier prediction of this image whose logits to refine.", None
    )
    mask_input_index: int = _field("index", 0, "Which of its masks to refine.", None)
    multimask_output: bool = _field("flag", True, "Three candidate masks rather than one.")
    normalize_coords: bool = _field(
        "flag", True, "Coordinates are image pixels (false: already 0..1, as SAM2 takes them)."
    )
    return_logits_to_caller: bool = _field(
        "flag", False, "Send the low-res logits back in the answer."
    )
    sort_results: bool = _field("flag", True, "Masks ordered by score, best first.")

    @classmethod
    def from_dict(cls, data: object) -> PromptInput:
        """The prompt in a JSON object, or a ValidationError naming every wrong field. Both
        the REST route and the WebSocket read prompts here; other keys are ignored."""
        if not isinstance(data, Mapping):
            raise ValidationError("A prompt is a JSON object.")
        values, errors = {}, {}
        for spec in fields(cls):
            if spec.name in data:
                value, problem = _checked(spec.metadata["kind"], data[spec.name])
                if problem:
                    errors[spec.name] = problem
                else:
                    values[spec.name] = value
        if errors:
            raise ValidationError(errors)
        return cls(**values)


def _checked(kind: Kind, value: Any) -> tuple[Any, str]:
    if kind == "json":
        return value, ""
    if kind == "id":
        number = None if value is None else parse_id(value)
        return number, "" if value is None or number is not None else ID_ERROR
    if kind == "index":
        whole = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        return value, "" if whole else "Must be a whole number from 0."
    return value, "" if isinstance(value, bool) else "Must be true or false."


NAMES: tuple[str, ...] = tuple(spec.name for spec in fields(PromptInput))
# The fields a Prediction keeps in columns of the same name, and all it records (columns and
# files), in the dataclass's order.
RECORD_COLUMNS: tuple[str, ...] = tuple(
    spec.name for spec in fields(PromptInput) if spec.metadata["recorded"] == "column"
)
RECORD_INPUTS: tuple[str, ...] = tuple(
    spec.name for spec in fields(PromptInput) if spec.metadata["recorded"] is not None
)


def prompt_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The prompt's fields of a message that carries other keys too (a `predict`'s data)."""
    return {name: data[name] for name in NAMES if name in data}
