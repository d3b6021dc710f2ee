"""The on-disk embedding store under the engine, with real SAM2 code on the random-weight
micro model: what is stored is what a fresh encode gives, a bad file is never served, the
budget holds, another model or changed bytes never get old features, and a fresh engine (a
restarted worker) answers from disk."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from inference import embeddings, engine
from inference.embeddings import EmbeddingStore, embedding_store
from inference.services import predictions
from inference.services.predictions import PromptInput
from projects.encoding import rle_to_mask
from projects.sources import reader
from tests.inference.conftest import draw_object, micro_ref, use_model, write_png

pytestmark = pytest.mark.django_db

CLICK = {"point_coords": [[87, 55]], "point_labels": [1]}


@pytest.fixture(autouse=True)
def _fresh_memory():
    """Each test starts and ends with an empty in-memory cache: the features other test
    modules find there are the fresh float32 ones."""
    engine.embedding_cache().clear()
    yield
    engine.embedding_cache().clear()


@pytest.fixture
def model(micro_checkpoint):
    return engine.get_engine(micro_ref(micro_checkpoint))


def _rgb(seed=0):
    return draw_object(seed=seed).rgb


def _key(seed=0) -> str:
    return f"{seed:064x}"


def _tensors(state):
    features, _ = state
    return [features["image_embed"], *features["high_res_feats"]]


def _prompt(model):
    return predictions.prompt_validate(
        PromptInput.from_dict(CLICK), image=None, width=160, height=120, logits_size=128
    )


def test_stored_features_are_the_fresh_ones_and_click_the_same(model):
    rgb = _rgb()
    fresh, ready = model.embed(_key(), lambda: rgb)
    assert not ready
    store = embedding_store()
    path = store.path(model.ref.cache_key, _key())
    assert path.is_file() and path.parent.parent.parent == Path(store.root)
    stored = store.get(model.ref.cache_key, _key(), shapes=model.shapes)
    assert stored[1] == fresh[1] == [(120, 160)]
    for a, b in zip(_tensors(stored), _tensors(fresh), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype == torch.float32
        assert torch.allclose(a, b.half().float())  # exactly the float16 of the fresh ones
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-3)
    expected = sum(t.nelement() * 2 for t in _tensors(fresh))
    assert expected < path.stat().st_size < expected + 2048

    prompt = _prompt(model)
    from_fresh = model.predict(_key(), lambda: rgb, prompt)
    engine.embedding_cache().clear()
    from_disk = model.predict(_key(), lambda: pytest.fail("no pixels: read from disk"), prompt)
    # Float16 on disk: the low-res logits agree to ~1e-4 (these random weights put them
    # within ~0.05 of the threshold everywhere), so at most a few boundary pixels differ.
    np.testing.assert_allclose(from_disk.logits, from_fresh.logits, atol=2e-4)
    np.testing.assert_allclose(from_disk.scores, from_fresh.scores, atol=1e-3)
    differing = (from_disk.masks != from_fresh.masks).mean()
    assert differing <= 1e-3


def test_a_write_is_atomic(model, monkeypatch):
    rgb = _rgb()
    state, _ = model.embed(_key(), lambda: rgb)
    store = embedding_store()
    path = store.path(model.ref.cache_key, _key())
    before = path.read_bytes()

    def interrupted(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(embeddings.os, "replace", interrupted)
    with pytest.raises(OSError):
        store.put(model.ref.cache_key, _key(), state)
    assert path.read_bytes() == before  # the old file is whole
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left over


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[: len(blob) // 2],  # cut short
        lambda blob: blob[:-1],
        lambda blob: blob[:-4096] + bytes(4096),  # the data zeroed at the end
        lambda blob: b"\x00" * 8,  # an empty header
        lambda blob: b"not a features file at all",
        lambda blob: blob.replace(b'"F16"', b'"F32"', 1),  # the header lies
    ],
    ids=["half", "one_byte_short", "zeroed_tail", "empty_header", "garbage", "wrong_dtype"],
)
def test_a_bad_file_is_dropped_and_computed_again(model, damage):
    rgb = _rgb()
    model.embed(_key(), lambda: rgb)
    store = embedding_store()
    path = store.path(model.ref.cache_key, _key())
    good = path.read_bytes()
    path.write_bytes(damage(good))
    engine.embedding_cache().clear()

    assert store.get(model.ref.cache_key, _key(), shapes=model.shapes) is None
    assert not path.exists()
    path.write_bytes(damage(good))
    reads = []
    _, ready = model.embed(_key(), lambda: reads.append(1) or rgb)
    assert not ready and reads == [1]  # computed from the pixels again
    assert store.get(model.ref.cache_key, _key(), shapes=model.shapes) is not None


def test_another_models_features_are_never_served(model, micro_checkpoint):
    rgb = _rgb()
    model.embed(_key(), lambda: rgb)
    store = embedding_store()
    other = engine.get_engine(micro_ref(micro_checkpoint, mask_threshold=0.5))
    assert other.ref.cache_key != model.ref.cache_key
    assert not other.features_ready(_key())
    # A file of the first model put where the other's would be is refused, not served.
    source = store.path(model.ref.cache_key, _key())
    target = store.path(other.ref.cache_key, _key())
    target.parent.mkdir(parents=True)
    shutil.copy(source, target)
    assert store.get(other.ref.cache_key, _key(), shapes=other.shapes) is None
    assert not target.exists() and source.exists()
    # Nor is a file whose shapes are not what the model makes.
    assert (
        store.get(model.ref.cache_key, _key(), shapes=embeddings.Shapes.of_model(256, 1024)) is None
    )


def test_eviction_keeps_the_store_within_its_budget(model, settings):
    rgb = _rgb()
    model.embed(_key(0), lambda: rgb)
    first = embedding_store().path(model.ref.cache_key, _key(0))
    one = first.stat().st_size
    os.utime(first, (1000, 1000))
    settings.ANNOTATOR_EMBEDDING_STORE_GB = (3.5 * one) / 1024**3
    store = embedding_store()
    assert store.max_bytes == int(3.5 * one)
    for seed in range(1, 6):
        model.embed(_key(seed), lambda: rgb)
        assert store.used_bytes() <= store.max_bytes
        path = store.path(model.ref.cache_key, _key(seed))
        os.utime(path, (1000 + seed, 1000 + seed))  # a clear order of use
        if seed == 3:
            assert store.get(model.ref.cache_key, _key(1), shapes=model.shapes) is not None
    kept = sorted(p.stem for _, _, p in store.files())
    # 1 was read after 3 was written: the least recently used (0, then 2, then 3) went.
    assert kept == sorted([_key(1), _key(4), _key(5)])


def test_two_workers_writing_to_one_store_keep_it_within_its_budget(model, settings, monkeypatch):
    """Each process counts its own writes and walks the folder again when its count is over
    the budget or older than _RESCAN_S seconds: the store goes over its budget by at most
    what another worker wrote in that time, then fits again."""
    state, _ = model.embed(_key(0), lambda: _rgb())
    first = embedding_store().path(model.ref.cache_key, _key(0))
    one = first.stat().st_size
    os.utime(first, (1000, 1000))
    settings.ANNOTATOR_EMBEDDING_STORE_GB = (3.5 * one) / 1024**3
    here = embedding_store()
    there = EmbeddingStore(here.root, here.max_bytes)  # another worker, with its own count
    clock = [1000.0]
    monkeypatch.setattr(embeddings.time, "monotonic", lambda: clock[0])

    def put(store, seed):
        store.put(model.ref.cache_key, _key(seed), state)
        os.utime(store.path(model.ref.cache_key, _key(seed)), (1000 + seed, 1000 + seed))

    put(here, 1)  # walks: 2 files
    put(there, 2)  # walks: 3 files
    put(here, 3)  # counts 3 of its own view: no walk, though 4 are on disk
    assert here.max_bytes < here.used_bytes() <= here.max_bytes + one

    clock[0] += embeddings._RESCAN_S + 1
    put(here, 4)  # its count is stale: it walks, and the least recently used go
    assert here.used_bytes() <= here.max_bytes
    assert sorted(p.stem for _, _, p in here.files()) == sorted([_key(2), _key(3), _key(4)])


def test_changed_bytes_get_new_features(model, drawn_pool, team):
    images, _ = drawn_pool
    image = images[0]
    use_model(team.project, model.ref)
    first = predictions.prediction_run(
        image=image, user=team.annotator, prompt=PromptInput.from_dict(CLICK)
    )
    assert not first.embedding_cached
    old_key = image.key
    write_png(draw_object(seed=7).rgb, image.path)  # the file behind the path changed
    reader.load(image)  # opening the image reads it and records its new key
    image.refresh_from_db()
    assert image.key != old_key
    second = predictions.prediction_run(
        image=image, user=team.annotator, prompt=PromptInput.from_dict(CLICK)
    )
    assert not second.embedding_cached
    store = embedding_store()
    assert store.contains(model.ref.cache_key, old_key)
    assert store.contains(model.ref.cache_key, image.key)


def test_a_restarted_worker_answers_from_disk(micro_checkpoint, drawn_pool, team):
    images, _ = drawn_pool
    ref = micro_ref(micro_checkpoint)
    use_model(team.project, ref)
    prompt = PromptInput.from_dict(CLICK)
    first = predictions.prediction_run(image=images[0], user=team.annotator, prompt=prompt)
    assert not first.embedding_cached
    engine.unload_all()  # what a restart loses: the models and the memory cache
    assert not engine.is_loaded(ref)
    images[0].refresh_from_db()
    again = predictions.prediction_run(image=images[0], user=team.annotator, prompt=prompt)
    assert again.embedding_cached
    for after, before in zip(again.masks, first.masks, strict=True):
        assert (rle_to_mask(after) != rle_to_mask(before)).mean() <= 1e-3  # float16 on disk
    assert embedding_store().reads >= 1


def test_store_off_keeps_nothing_on_disk(model, settings):
    settings.ANNOTATOR_EMBEDDING_STORE_GB = 0
    rgb = _rgb()
    model.embed(_key(), lambda: rgb)
    store = embedding_store()
    assert not store.enabled and not store.contains(model.ref.cache_key, _key())
    assert not Path(store.root).exists()


def test_keys_that_are_not_digests_are_never_paths(tmp_path):
    store = EmbeddingStore(tmp_path, 10**9)
    assert store.path("0123456789abcdef", "../../etc/passwd") is None
    assert store.path("../x", "ab" * 32) is None
    assert store.get("0123456789abcdef", "..", shapes=None) is None


def test_one_image_is_encoded_once_when_two_threads_ask(model):
    import threading

    rgb = _rgb()
    reads = []
    barrier = threading.Barrier(2)

    def ask(background):
        barrier.wait()
        model.embed(_key(), lambda: reads.append(1) or rgb, background=background)

    threads = [threading.Thread(target=ask, args=(flag,)) for flag in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert reads == [1]
