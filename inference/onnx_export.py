"""SAM2's prompt encoder and mask decoder as one ONNX graph, for decoding in the browser.

The graph takes an image's features (as the engine and the embedding store hold them) and a
prompt already in the model's input frame, and gives what SAM2ImagePredictor._predict gives
before it upscales: the three multimask logits and scores, and the single-mask output with
SAM2's stability fallback. The browser does the rest as the server does: scale coordinates
by image_size / original size, put a box first as two points labelled 2 and 3, sort by
score, upscale bilinearly to the image size and threshold.

One file per model (its cache key) under ANNOTATOR_CACHE_DIR/decoders, exported once and
written atomically; its ETag is the model key and the file's SHA-256.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from django.conf import settings

logger = logging.getLogger(__name__)

INPUTS = (
    "image_embed",
    "high_res_feats_0",
    "high_res_feats_1",
    "point_coords",
    "point_labels",
    "mask_input",
    "has_mask_input",
)
OUTPUTS = ("masks", "scores", "single_mask", "single_score")
OPSET = 17

_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


class DecoderGraph(torch.nn.Module):
    """The prompt encoder and the mask decoder of a SAM2 model, on given features."""

    def __init__(self, model) -> None:
        super().__init__()
        # Copies on the CPU in float32: the engine's own model stays where it runs.
        self.prompt_encoder = copy.deepcopy(model.sam_prompt_encoder).cpu().float()
        self.mask_decoder = copy.deepcopy(model.sam_mask_decoder).cpu().float()
        self.stability = bool(self.mask_decoder.dynamic_multimask_via_stability)

    def forward(
        self,
        image_embed: torch.Tensor,  # 1 x C x S/16 x S/16
        high_res_feats_0: torch.Tensor,  # 1 x C/8 x S/4 x S/4
        high_res_feats_1: torch.Tensor,  # 1 x C/4 x S/8 x S/8
        point_coords: torch.Tensor,  # 1 x N x 2, in the model's input frame (0..S)
        point_labels: torch.Tensor,  # 1 x N float: 1, 0, 2 and 3 (a box's corners), -1
        mask_input: torch.Tensor,  # 1 x 1 x S/4 x S/4 low-res logits
        has_mask_input: torch.Tensor,  # 1 float: 1 uses mask_input, 0 ignores it
    ):
        encoder = self.prompt_encoder
        # The padding point SAM2 adds when no separate box is given (a box comes as points).
        sparse = encoder._embed_points(point_coords, point_labels, pad=True)
        height, width = encoder.image_embedding_size
        no_mask = encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(1, -1, height, width)
        with_mask = encoder.mask_downscaling(mask_input)
        dense = has_mask_input * with_mask + (1 - has_mask_input) * no_mask
        masks, iou, _, _ = self.mask_decoder.predict_masks(
            image_embeddings=image_embed,
            image_pe=encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            repeat_image=False,
            high_res_features=[high_res_feats_0, high_res_feats_1],
        )
        if self.stability:
            single, single_iou = self.mask_decoder._dynamic_multimask_via_stability(masks, iou)
        else:
            single, single_iou = masks[:, 0:1], iou[:, 0:1]
        return masks[:, 1:], iou[:, 1:], single, single_iou


@dataclass(frozen=True)
class Exported:
    path: Path
    etag: str
    size: int


def example_inputs(model, points: int = 2) -> tuple[torch.Tensor, ...]:
    size = int(model.image_size)
    dim = int(model.sam_mask_decoder.transformer_dim)
    return (
        torch.randn(1, dim, size // 16, size // 16),
        torch.randn(1, dim // 8, size // 4, size // 4),
        torch.randn(1, dim // 4, size // 8, size // 8),
        torch.rand(1, points, 2) * size,
        torch.ones(1, points),
        torch.zeros(1, 1, size // 4, size // 4),
        torch.zeros(1),
    )


def export(model, path: Path) -> None:
    """Write the decoder graph of `model` (a SAM2Base on the CPU, float32) to `path`."""
    graph = DecoderGraph(model).eval()
    dynamic = {"point_coords": {1: "points"}, "point_labels": {1: "points"}}
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        # The legacy exporter warns about SAM2's asserts and its own deprecation.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            example_inputs(model),
            str(path),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def decoders_dir() -> Path:
    return Path(settings.ANNOTATOR_CACHE_DIR) / "decoders"


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _found(model_key: str, path: Path) -> Exported | None:
    stamp = path.with_suffix(".sha256")
    try:
        digest = stamp.read_text().strip()
        size = path.stat().st_size
    except OSError:
        return None
    return Exported(path=path, etag=f'"{model_key}-{digest[:20]}"', size=size)


def cached(model_key: str) -> Exported | None:
    """The exported file of this model, if it is on disk already."""
    return _found(model_key, decoders_dir() / f"{model_key}.onnx")


def decoder_file(model_key: str, model_of) -> Exported:
    """The model's decoder graph on disk, exported on first use (once, even when several
    requests ask at the same time); `model_of()` gives the SAM2 model when it is needed."""
    found = cached(model_key)
    if found is not None:
        return found
    with _locks_lock:
        lock = _locks.setdefault(model_key, threading.Lock())
    with lock:
        found = cached(model_key)
        if found is not None:
            return found
        folder = decoders_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{model_key}.onnx"
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".onnx.tmp")
        os.close(handle)
        try:
            export(model_of(), Path(temporary))
            digest = _digest(Path(temporary))
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
        path.with_suffix(".sha256").write_text(digest)
        logger.info("exported the decoder of model %s (%d bytes)", model_key, path.stat().st_size)
        found = cached(model_key)
        assert found is not None
        return found
