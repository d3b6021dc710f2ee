"""A model choice as data: the one door between a requested or stored choice and a model.

SAM2 models are built by Hydra, and Hydra calls whatever a config's `_target_` names. So no
value from a request, an archive or a stored row reaches it as it came: `model_ref_parse`
rebuilds every choice from checked parts (a registry key, `classic`, or `manual` with a
packaged config, a checkpoint inside the model roots and overrides from the closed set
`OVERRIDES` with typed values), and the engine checks the rebuilt reference again just before
it builds a model. A row written by an older version that does not pass is refused, never
built.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from django.conf import settings
from django.core.exceptions import ValidationError

from inference import registry

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class LoadParams:
    """What the client may choose when loading a model (all of SAM2ImagePredictor's knobs)."""

    device: str = "auto"
    dtype: str = "float32"
    apply_postprocessing: bool = True
    mask_threshold: float = 0.0
    max_hole_area: float = 0.0
    max_sprinkle_area: float = 0.0

    def resolved_device(self) -> str:
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device


@dataclass(frozen=True)
class ModelRef:
    """What a model is built from: enough to load it again in any worker process.

    Build one from outside data with `model_ref_parse` (or `from_dict`), never directly."""

    key: str  # registry key, "manual" or "classic"
    checkpoint: str = ""
    config: str = ""
    overrides: tuple[str, ...] = ()
    params: LoadParams = field(default_factory=LoadParams)

    @property
    def is_classic(self) -> bool:
        return self.key == registry.CLASSIC

    @functools.cached_property
    def cache_key(self) -> str:  # asked several times per click
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["overrides"] = list(self.overrides)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ModelRef:
        """A stored choice (a project's state, a job's parameters), checked again."""
        return model_ref_parse(data)


# Overrides ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Int:
    low: int
    high: int

    def canonical(self, text: str) -> str:
        if not re.fullmatch(r"-?\d{1,9}", text) or not self.low <= int(text) <= self.high:
            raise ValueError(f"a whole number from {self.low} to {self.high}")
        return str(int(text))


@dataclass(frozen=True)
class Ints:
    low: int
    high: int
    max_length: int

    def canonical(self, text: str) -> str:
        match = re.fullmatch(r"\[\s*((?:-?\d{1,9}\s*,\s*)*-?\d{1,9})?\s*\]", text)
        values = [int(v) for v in match.group(1).split(",")] if match and match.group(1) else []
        if (
            match is None
            or not 1 <= len(values) <= self.max_length
            or not all(self.low <= v <= self.high for v in values)
        ):
            raise ValueError(
                f"a list of 1 to {self.max_length} whole numbers from {self.low} to {self.high}"
            )
        return "[" + ",".join(str(v) for v in values) + "]"


@dataclass(frozen=True)
class Float:
    low: float
    high: float

    def canonical(self, text: str) -> str:
        if not re.fullmatch(r"-?\d{1,9}(\.\d{1,9})?([eE]-?\d{1,2})?", text):
            raise ValueError(f"a number from {self.low:g} to {self.high:g}")
        value = float(text)
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(f"a number from {self.low:g} to {self.high:g}")
        return repr(value)


@dataclass(frozen=True)
class Bool:
    def canonical(self, text: str) -> str:
        if text.lower() not in {"true", "false"}:
            raise ValueError("true or false")
        return text.lower()


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]

    def canonical(self, text: str) -> str:
        if text not in self.values:
            raise ValueError("one of " + ", ".join(self.values))
        return text


Kind = Int | Ints | Float | Bool | Choice
_WIDTH = Int(1, 4096)
_HEADS = Int(1, 64)
_LAYERS = Int(0, 64)

# Every key a manual model may override, under `model.`, with the type of its value: the
# architecture's sizes (what a smaller or retrained variant of a packaged config changes) and
# its switches. Nothing here names a class or a file.
OVERRIDES: dict[str, Kind] = {
    "image_size": Int(64, 4096),
    "num_maskmem": Int(0, 16),
    "image_encoder.scalp": Int(0, 3),
    "image_encoder.trunk.embed_dim": _WIDTH,
    "image_encoder.trunk.num_heads": _HEADS,
    "image_encoder.trunk.stages": Ints(1, 64, 4),
    "image_encoder.trunk.global_att_blocks": Ints(0, 256, 16),
    "image_encoder.trunk.window_pos_embed_bkg_spatial_size": Ints(1, 64, 2),
    "image_encoder.trunk.window_spec": Ints(1, 64, 4),
    "image_encoder.neck.d_model": _WIDTH,
    "image_encoder.neck.backbone_channel_list": Ints(1, 4096, 4),
    "image_encoder.neck.fpn_top_down_levels": Ints(0, 3, 4),
    "image_encoder.neck.fpn_interp_model": Choice(("nearest", "bilinear")),
    "image_encoder.neck.position_encoding.num_pos_feats": _WIDTH,
    "memory_attention.d_model": _WIDTH,
    "memory_attention.num_layers": _LAYERS,
    "memory_attention.layer.d_model": _WIDTH,
    "memory_attention.layer.dim_feedforward": Int(1, 16384),
    "memory_attention.layer.dropout": Float(0.0, 1.0),
    "memory_attention.layer.activation": Choice(("relu", "gelu")),
    "memory_attention.layer.self_attention.embedding_dim": _WIDTH,
    "memory_attention.layer.self_attention.num_heads": _HEADS,
    "memory_attention.layer.cross_attention.embedding_dim": _WIDTH,
    "memory_attention.layer.cross_attention.num_heads": _HEADS,
    "memory_attention.layer.cross_attention.kv_in_dim": _WIDTH,
    "memory_encoder.out_dim": _WIDTH,
    "memory_encoder.in_dim": _WIDTH,
    "memory_encoder.position_encoding.num_pos_feats": _WIDTH,
    "memory_encoder.mask_downsampler.embed_dim": _WIDTH,
    "memory_encoder.fuser.layer.dim": _WIDTH,
    "memory_encoder.fuser.num_layers": _LAYERS,
    "sigmoid_scale_for_mem_enc": Float(-1000.0, 1000.0),
    "sigmoid_bias_for_mem_enc": Float(-1000.0, 1000.0),
    "use_high_res_features_in_sam": Bool(),
    "multimask_output_in_sam": Bool(),
    "iou_prediction_use_sigmoid": Bool(),
    "pred_obj_scores": Bool(),
    "pred_obj_scores_mlp": Bool(),
    "use_mask_input_as_output_without_sam": Bool(),
    "compile_image_encoder": Bool(),
    "multimask_min_pt_num": Int(0, 16),
    "multimask_max_pt_num": Int(0, 16),
}
MAX_OVERRIDES = 64
_OVERRIDE = re.compile(r"\+{0,2}model\.([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)=(.*)")
# What Hydra or OmegaConf would read as code, a reference or a path; named in the refusal.
_FORBIDDEN = {
    "_target_": "names a callable",
    "_args_": "passes arguments to a callable",
    "_partial_": "makes a callable",
    "_recursive_": "changes how callables are built",
    "_convert_": "changes how callables are built",
    "${": "is an interpolation",
    "{": "holds braces",
    "}": "holds braces",
    "/": "holds a path",
    "\\": "holds a path",
}


def override_parse(override: Any) -> str:
    """One override in its canonical form `++model.<key>=<value>`, or a ValidationError."""
    if not isinstance(override, str) or len(override) > 300:
        raise ValidationError({"overrides": f"{str(override)[:80]!r} is not an override."})
    for token, why in _FORBIDDEN.items():
        if token in override:
            raise ValidationError(
                {
                    "overrides": f"{override[:120]!r} is refused: it {why}. Overrides set sizes "
                    "and switches of a packaged config only."
                }
            )
    match = _OVERRIDE.fullmatch(override)
    kind = OVERRIDES.get(match.group(1)) if match else None
    if match is None or kind is None:
        raise ValidationError(
            {
                "overrides": f"{override[:120]!r} is not one of the documented model overrides "
                "(`++model.<key>=<value>` with a key listed in docs/security.md)."
            }
        )
    key, text = match.groups()
    try:
        value = kind.canonical(text.strip())
    except ValueError as error:
        raise ValidationError({"overrides": f"model.{key} must be {error}."}) from None
    return f"++model.{key}={value}"


def overrides_parse(overrides: Any) -> tuple[str, ...]:
    if overrides in (None, ""):
        return ()
    if not isinstance(overrides, list | tuple) or len(overrides) > MAX_OVERRIDES:
        raise ValidationError({"overrides": f"Give a list of at most {MAX_OVERRIDES} overrides."})
    parsed = tuple(override_parse(override) for override in overrides)
    keys = [override.split("=", 1)[0] for override in parsed]
    if len(set(keys)) != len(keys):
        raise ValidationError({"overrides": "Each key may be overridden once."})
    return parsed


# Checkpoints, configs, parameters ----------------------------------------------------------


def checkpoint_parse(path: Any, *, require_present: bool) -> str:
    """The resolved path of a manual checkpoint, which must lie inside a model root once
    symlinks are followed."""
    if not isinstance(path, str) or not path or len(path) > 4096 or "\x00" in path:
        raise ValidationError({"checkpoint": "Give the path of a checkpoint file."})
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = Path(settings.ANNOTATOR_MODEL_DIR) / candidate
    try:
        resolved = candidate.resolve()
        present = resolved.is_file()
    except (OSError, RuntimeError, ValueError):
        raise ValidationError({"checkpoint": f"{path[:200]!r} is not a usable path."}) from None
    roots = registry.model_roots()
    if not any(resolved.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(root) for root in roots)
        raise ValidationError(
            {"checkpoint": f"{path[:200]!r} is outside the model folders ({allowed})."}
        )
    if require_present and not present:
        raise ValidationError({"checkpoint": f"There is no checkpoint file at {path[:200]!r}."})
    return str(resolved)


def config_parse(config: Any) -> str:
    if config not in registry.PACKAGED_CONFIGS:
        raise ValidationError(
            {
                "config": f"Unknown config {str(config)[:120]!r}. Choose one of "
                f"{', '.join(registry.PACKAGED_CONFIGS)}."
            }
        )
    return config


def load_params_parse(params: Any) -> LoadParams:
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"params": "Load parameters are an object of named values."})
    unknown = set(params) - set(LoadParams.__dataclass_fields__)
    if unknown:
        names = ", ".join(sorted(str(name)[:40] for name in unknown))
        raise ValidationError({"params": f"Unknown load parameters: {names}."})
    values = {**LoadParams().__dict__, **params}
    if values["device"] not in DEVICES:
        raise ValidationError({"device": f"Must be one of {', '.join(DEVICES)}."})
    if values["dtype"] not in DTYPES:
        raise ValidationError({"dtype": f"Must be one of {', '.join(DTYPES)}."})
    if values["dtype"] != "float32" and values["device"] == "cpu":
        raise ValidationError({"dtype": "Half precision needs a CUDA device; use float32."})
    if not isinstance(values["apply_postprocessing"], bool):
        raise ValidationError({"apply_postprocessing": "Must be true or false."})
    for name in ("mask_threshold", "max_hole_area", "max_sprinkle_area"):
        value = values[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValidationError({name: "Must be a finite number."})
        if name != "mask_threshold" and value < 0:
            raise ValidationError({name: "Must be zero or more."})
        values[name] = float(value)
    return LoadParams(**values)


# The door ----------------------------------------------------------------------------------


def model_ref_parse(data: Any, *, require_present: bool = False) -> ModelRef:
    """A model choice (from a request, an archive or a stored row) as a checked ModelRef.

    Registry models take their checkpoint and config from the registry, whatever the data
    says; `require_present` also asks that the checkpoint file exists (a load, a build)."""
    if not isinstance(data, dict):
        raise ValidationError({"model": "A model choice is an object with a key."})
    key = data.get("key")
    if not isinstance(key, str) or not key:
        raise ValidationError({"key": "Choose a model."})
    params = load_params_parse(data.get("params"))
    if key == registry.CLASSIC:
        return ModelRef(key=key, params=params)
    if key == registry.MANUAL:
        return ModelRef(
            key=key,
            checkpoint=checkpoint_parse(data.get("checkpoint"), require_present=require_present),
            config=config_parse(data.get("config")),
            overrides=overrides_parse(data.get("overrides")),
            params=params,
        )
    spec = registry.spec_for(key)
    if require_present and not spec.is_present():
        raise ValidationError(
            {"key": f"{spec.label} is not downloaded yet: download it first, then load it."}
        )
    return ModelRef(key=spec.key, checkpoint=str(spec.path), config=spec.config, params=params)


class ModelRefused(Exception):
    """A model that may not or cannot be built from what was stored; the message says why."""


def model_ref_check(ref: ModelRef) -> ModelRef:
    """Just before a model is built: the reference as the door makes it, from `ref`'s own
    parts; the engine builds from this one, so nothing unchecked reaches Hydra. A refusal
    here is the whole model's, not one image's, so it is not a ValidationError."""
    try:
        return model_ref_parse(ref.as_dict(), require_present=True)
    except ValidationError as error:
        reasons = " ".join(error.messages)
        raise ModelRefused(f"The model {ref.key!r} cannot be built: {reasons}") from None
