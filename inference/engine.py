"""The model wrapper: load SAM2 (or `classic`), embed images with an LRU cache, predict,
automask.

This is the only module that talks to sam2 and the only one that converts coordinates:
everything outside it speaks image pixels (x, y), or 0..1 when a caller sets
normalize_coords False, exactly as SAM2ImagePredictor does.

Loaded models live in the worker process that serves the predictions, keyed by what they
were built from (checkpoint, config, load params); embeddings are keyed by (model, params,
image key): in memory (bounded by ANNOTATOR_EMBEDDING_CACHE_MB) in front of the on-disk store
that every worker shares and a restart keeps (inference.embeddings). A click never waits for
a background preparation: that runs on its own predictor, starts an image only when no click
is in flight, and an image being encoded is never encoded twice at once.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import re
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from django.conf import settings

from inference import compat, refs
from inference.embeddings import Shapes, embedding_store
from inference.refs import ModelRef
from projects.errors import CheckpointUnreadable

logger = logging.getLogger(__name__)


def import_sam2():
    """Import sam2 after installing the torchvision stand-ins where torchvision is missing."""
    compat.install()
    import sam2  # noqa: F401  (registers sam2's hydra config module)
    from sam2 import automatic_mask_generator, build_sam, sam2_image_predictor

    return build_sam, sam2_image_predictor, automatic_mask_generator


@dataclass
class Prompt:
    """A prompt as the seed's schema has it, already validated (see services)."""

    point_coords: np.ndarray | None = None  # N x 2 float32
    point_labels: np.ndarray | None = None  # N int32
    box: np.ndarray | None = None  # 4 or B x 4 float32
    mask_input: np.ndarray | None = None  # 1 x h x w float32 low-res logits
    multimask_output: bool = True
    normalize_coords: bool = True
    return_logits_to_caller: bool = False
    sort_results: bool = True

    @property
    def box_count(self) -> int:
        return 0 if self.box is None else (1 if self.box.ndim == 1 else self.box.shape[0])


@dataclass
class Output:
    masks: np.ndarray  # C x H x W bool
    scores: np.ndarray  # C float32
    logits: np.ndarray  # C x h x w float32 low-res logits


class ModelLoadCancelled(Exception):
    pass


class EmbeddingCache:
    """LRU of image features, bounded in bytes; safe to share between threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def size_of(features: Any) -> int:
        if isinstance(features, torch.Tensor):
            return features.element_size() * features.nelement()
        if isinstance(features, dict):
            return sum(EmbeddingCache.size_of(v) for v in features.values())
        if isinstance(features, list | tuple):
            return sum(EmbeddingCache.size_of(v) for v in features)
        if isinstance(features, np.ndarray):
            return features.nbytes
        return 0

    def get(self, key: tuple[str, str]) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: tuple[str, str], features: Any) -> None:
        size = self.size_of(features)
        with self._lock:
            if key in self._items:
                self._bytes -= self._items.pop(key)[1]
            if size > self.max_bytes:
                return
            self._items[key] = (features, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __contains__(self, key: tuple[str, str]) -> bool:
        with self._lock:
            return key in self._items

    @property
    def used_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)


_cache: EmbeddingCache | None = None


def embedding_cache() -> EmbeddingCache:
    global _cache
    limit = int(settings.ANNOTATOR_EMBEDDING_CACHE_MB) * 1024 * 1024
    if _cache is None or _cache.max_bytes != limit:
        _cache = EmbeddingCache(limit)
    return _cache


class Sam2Engine:
    def __init__(self, ref: ModelRef, should_stop: Callable[[], bool] = lambda: False) -> None:
        build_sam, predictor_module, _ = import_sam2()
        self.ref = ref
        self.device = ref.params.resolved_device()
        if should_stop():
            raise ModelLoadCancelled()
        # Hydra builds whatever the config names: only the door's own rebuild reaches it.
        checked = refs.model_ref_check(ref)
        try:
            self.model = build_sam.build_sam2(
                checked.config,
                checked.checkpoint,
                device=self.device,
                hydra_overrides_extra=list(checked.overrides),
                apply_postprocessing=ref.params.apply_postprocessing,
            )
        except Exception as error:
            if not _raised_reading_checkpoint(error):
                raise
            raise CheckpointUnreadable(
                f"The file {Path(checked.checkpoint).name!r} is not a SAM2 checkpoint this app "
                f"can load safely ({checkpoint_problem(error, checked.config)}). Choose an "
                'official SAM2 checkpoint, or one saved as {"model": state_dict}.'
            ) from None
        if should_stop():
            raise ModelLoadCancelled()
        self.predictor = self._predictor(predictor_module.SAM2ImagePredictor)
        # One image's features are in the predictor at a time: a click sets them and
        # predicts under this lock.
        self._lock = threading.Lock()
        # Preparations ahead of a click (prefetch, the pool job) encode on their own
        # predictor, so a click never waits for their lock.
        self._encoder = self._predictor(predictor_module.SAM2ImagePredictor)
        self._encoder_lock = threading.Lock()
        self.shapes = Shapes.of_model(
            int(self.model.sam_mask_decoder.transformer_dim), self.image_size
        )
        self._encoding: dict[str, threading.Event] = {}
        self._encoding_lock = threading.Lock()
        self._clicks = 0
        self._clicks_changed = threading.Condition()

    @property
    def image_size(self) -> int:
        return int(self.model.image_size)

    @property
    def logits_size(self) -> int:
        return self.image_size // 4

    def _predictor(self, predictor_class, **extra):
        params = self.ref.params
        predictor = predictor_class(
            self.model,
            mask_threshold=params.mask_threshold,
            max_hole_area=params.max_hole_area,
            max_sprinkle_area=params.max_sprinkle_area,
            **extra,
        )
        return fit_feature_sizes(predictor, self.image_size)

    def _autocast(self):
        dtype = self.ref.params.dtype
        if dtype == "float32" or self.device != "cuda":
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=getattr(torch, dtype))

    def embed(
        self, image_key: str, pixels: Callable[[], np.ndarray], *, background: bool = False
    ) -> tuple[Any, bool]:
        """The features of an image and whether they were ready (in memory or on disk);
        computed on a miss and written to both. `background`: a preparation ahead of a
        click, which waits for the clicks in flight and encodes apart from them."""
        cache = embedding_cache()
        key = (self.ref.cache_key, image_key)
        if background and key not in cache:
            # Before taking the image: a click waiting for it must not wait for this.
            self.wait_for_clicks()
        while True:
            cached = cache.get(key)
            if cached is not None:
                return cached, True
            with self._encoding_lock:
                running = self._encoding.get(image_key)
                if running is None:
                    running = self._encoding[image_key] = threading.Event()
                    break
            running.wait(timeout=600)  # another thread encodes it: take its result
        try:
            return self._embed_missing(key, pixels, background=background)
        finally:
            with self._encoding_lock:
                self._encoding.pop(image_key, None)
            running.set()

    def _embed_missing(
        self, key: tuple[str, str], pixels: Callable[[], np.ndarray], *, background: bool
    ) -> tuple[Any, bool]:
        cache, store = embedding_cache(), embedding_store()
        stored = store.get(*key, shapes=self.shapes, device=self.device)
        if stored is not None:
            cache.put(key, stored)
            return stored, True
        rgb = pixels()
        predictor, lock = (
            (self._encoder, self._encoder_lock) if background else (self.predictor, self._lock)
        )
        with lock, torch.inference_mode(), self._autocast():
            predictor.set_image(rgb)
            state = (predictor._features, list(predictor._orig_hw))
        cache.put(key, state)
        store.put(*key, state)
        return state, False

    def prepare(self, image_key: str, pixels: Callable[[], np.ndarray]) -> str:
        """Have an image's features in the store ahead of its first click: "stored" when
        they were there, "copied" from memory, or "computed"."""
        store = embedding_store()
        if store.contains(self.ref.cache_key, image_key):
            return "stored"
        in_memory = embedding_cache().get((self.ref.cache_key, image_key))
        if in_memory is not None and store.enabled:
            store.put(self.ref.cache_key, image_key, in_memory)
            return "copied"
        _, ready = self.embed(image_key, pixels, background=True)
        return "stored" if ready else "computed"

    def features_ready(self, image_key: str) -> bool:
        key = (self.ref.cache_key, image_key)
        return key in embedding_cache() or embedding_store().contains(*key)

    @contextlib.contextmanager
    def _click(self):
        with self._clicks_changed:
            self._clicks += 1
        try:
            yield
        finally:
            with self._clicks_changed:
                self._clicks -= 1
                self._clicks_changed.notify_all()

    def wait_for_clicks(self, timeout: float = 10.0) -> bool:
        """Wait until no click is in flight on this engine (at most `timeout` seconds), so
        a click is served between two prepared images."""
        with self._clicks_changed:
            return self._clicks_changed.wait_for(lambda: self._clicks == 0, timeout=timeout)

    def predict(self, image_key: str, pixels: Callable[[], np.ndarray], prompt: Prompt) -> Output:
        with self._click():
            return self._predict(image_key, pixels, prompt)

    def _predict(self, image_key: str, pixels: Callable[[], np.ndarray], prompt: Prompt) -> Output:
        state, _ = self.embed(image_key, pixels)
        multimask = prompt.multimask_output and prompt.box_count <= 1
        with self._lock, torch.inference_mode(), self._autocast():
            predictor = self.predictor
            predictor._features, predictor._orig_hw = state
            predictor._is_image_set, predictor._is_batch = True, False
            # SAM2ImagePredictor.predict's own two steps (sam2 1.1.0), minus its conversion
            # of the boolean masks to float and back, which costs milliseconds per click.
            mask_input, coords, labels, box = predictor._prep_prompts(
                prompt.point_coords,
                prompt.point_labels,
                prompt.box,
                prompt.mask_input,
                prompt.normalize_coords,
            )
            masks, scores, logits = predictor._predict(
                coords, labels, box, mask_input, multimask, return_logits=False
            )
        masks = masks.squeeze(0).cpu().numpy()
        scores = scores.squeeze(0).float().cpu().numpy()
        logits = logits.squeeze(0).float().cpu().numpy()
        if masks.ndim == 4:  # several boxes: B x 1 x H x W
            masks, scores, logits = masks[:, 0], scores[:, 0], logits[:, 0]
        return finish(Output(masks, scores, logits), prompt)

    def automask(self, rgb: np.ndarray, params: dict[str, Any]) -> list[dict[str, Any]]:
        _, _, generator_module = import_sam2()
        generator = generator_module.SAM2AutomaticMaskGenerator(
            self.model, output_mode="binary_mask", **params
        )
        fit_feature_sizes(generator.predictor, self.image_size)
        with torch.inference_mode(), self._autocast():
            return generator.generate(rgb)


def _raised_reading_checkpoint(error: BaseException) -> bool:
    """Whether `error` came from reading the checkpoint (sam2's _load_checkpoint: torch.load
    and load_state_dict), not from building the model or moving it to the device."""
    frames = traceback.extract_tb(error.__traceback__)
    return any(frame.name == "_load_checkpoint" for frame in frames)


def checkpoint_problem(error: BaseException, config: str) -> str:
    """A short reason a checkpoint could not be read, from what torch or sam2 raised; the
    long text of torch's refusal (and its advice to load unsafely) is never passed on."""
    text = str(error)
    if isinstance(error, pickle.UnpicklingError):
        found = re.search(r"GLOBAL ([\w.]+)", text)
        if found:
            return (
                f"it holds Python code or objects ({found.group(1)[:80]}) besides the weights, "
                "which this app never runs"
            )
        return "it is not a PyTorch weights file"
    if isinstance(error, EOFError):
        return "the file is empty or cut short"
    if isinstance(error, KeyError | TypeError | AttributeError | IndexError):
        return 'it has no "model" entry holding the weights'
    if "PytorchStreamReader" in text or "zip archive" in text:
        return "the file is damaged or incomplete"
    if isinstance(error, RuntimeError) and (not text or "loading state_dict" in text):
        return f"its weights do not fit the model config {config}"
    lines = text.strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:160].rstrip(".")


class ClassicEngine:
    """The weight-free backend behind the same interface (see inference.classic)."""

    logits_size = 256

    def __init__(self, ref: ModelRef, should_stop: Callable[[], bool] = lambda: False) -> None:
        self.ref = ref

    def embed(
        self, image_key: str, pixels: Callable[[], np.ndarray], *, background: bool = False
    ) -> tuple[Any, bool]:
        return None, False

    def prepare(self, image_key: str, pixels: Callable[[], np.ndarray]) -> str:
        return "stored"  # nothing to prepare: classic works on the pixels

    def features_ready(self, image_key: str) -> bool:
        return False

    def predict(self, image_key: str, pixels: Callable[[], np.ndarray], prompt: Prompt) -> Output:
        from inference import classic

        masks, scores, logits = classic.predict(pixels(), prompt, logits_size=self.logits_size)
        return finish(Output(masks, scores, logits), prompt)

    def automask(self, rgb: np.ndarray, params: dict[str, Any]) -> list[dict[str, Any]]:
        from inference import classic

        return classic.automask(rgb, params)


def fit_feature_sizes(predictor, image_size: int):
    """SAM2ImagePredictor assumes a 1024 input; other sizes need their feature map sizes."""
    predictor._bb_feat_sizes = [(image_size // s, image_size // s) for s in (4, 8, 16)]
    return predictor


def finish(output: Output, prompt: Prompt) -> Output:
    if prompt.sort_results and len(output.scores) > 1:
        order = np.argsort(-output.scores, kind="stable")
        return Output(output.masks[order], output.scores[order], output.logits[order])
    return output


Engine = Sam2Engine | ClassicEngine

_engines: OrderedDict[str, Engine] = OrderedDict()
_engines_lock = threading.Lock()
_loading_locks: dict[str, threading.Lock] = {}


def get_engine(ref: ModelRef, should_stop: Callable[[], bool] = lambda: False) -> Engine:
    """The loaded engine for `ref`, loading it on first use (once, even when asked by
    several threads); the least recently used engine is dropped past the limit."""
    key = ref.cache_key
    with _engines_lock:
        engine = _engines.get(key)
        if engine is not None:
            _engines.move_to_end(key)
            return engine
        loading = _loading_locks.setdefault(key, threading.Lock())
    with loading:
        with _engines_lock:
            if key in _engines:
                return _engines[key]
        engine = ClassicEngine(ref) if ref.is_classic else Sam2Engine(ref, should_stop)
        with _engines_lock:
            _engines[key] = engine
            while len(_engines) > max(1, settings.ANNOTATOR_MAX_LOADED_MODELS):
                _engines.popitem(last=False)
        logger.info("loaded model %s (%s)", ref.key, key)
        return engine


def is_loaded(ref: ModelRef) -> bool:
    with _engines_lock:
        return ref.cache_key in _engines


def unload_all() -> None:
    with _engines_lock:
        _engines.clear()
    embedding_cache().clear()
