"""prediction_run: bad prompts are refused with a clear message and nothing is written; a
good one saves the record and flags the image."""

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from inference import engine
from inference.services import predictions
from projects.encoding import rle_to_mask
from projects.models import ImageStatus, Prediction
from tests.inference.conftest import iou, micro_ref, use_model


def _files() -> list[Path]:
    return sorted(Path(settings.MEDIA_ROOT).glob("arrays/**/*"))


BAD_PROMPTS = {
    "nan_coordinate": ({"point_coords": [[float("nan"), 3]], "point_labels": [1]}, "NaN"),
    "inf_box": ({"box": [0, 0, float("inf"), 5]}, "infinite"),
    "point_outside": ({"point_coords": [[161, 10]], "point_labels": [1]}, "outside"),
    "negative_box": ({"box": [-5, 0, 10, 10]}, "outside"),
    "normalized_outside": (
        {"point_coords": [[80, 60]], "point_labels": [1], "normalize_coords": False},
        "0..1",
    ),
    "label_two": ({"point_coords": [[10, 10]], "point_labels": [2]}, "1 (object) or 0"),
    "labels_count": ({"point_coords": [[10, 10], [20, 20]], "point_labels": [1]}, "one label"),
    "coords_shape": ({"point_coords": [10, 10], "point_labels": [1]}, "[x, y] pairs"),
    "labels_missing": ({"point_coords": [[10, 10]]}, "together"),
    "box_shape": ({"box": [1, 2, 3]}, "[x1, y1, x2, y2]"),
    "box_inverted": ({"box": [50, 50, 10, 10]}, "x1 <= x2"),
    "text_coords": ({"point_coords": [["a", "b"]], "point_labels": [1]}, "numbers"),
    "nothing": ({}, "at least a point"),
    "mask_input_shape": (
        {"point_coords": [[10, 10]], "point_labels": [1], "mask_input": [[0.0] * 5] * 5},
        "1x128x128",
    ),
    "points_with_boxes": (
        {"box": [[0, 0, 9, 9], [5, 5, 20, 20]], "point_coords": [[3, 3]], "point_labels": [1]},
        "one box",
    ),
}


@pytest.mark.parametrize("name", list(BAD_PROMPTS))
def test_bad_prompt_is_refused_clearly_and_writes_nothing(name, micro_checkpoint, drawn_pool, team):
    images, _ = drawn_pool
    use_model(team.project, micro_ref(micro_checkpoint))
    prompt, phrase = BAD_PROMPTS[name]
    with pytest.raises(ValidationError) as raised:
        predictions.prediction_run(
            image=images[0], user=team.annotator, prompt=predictions.PromptInput.from_dict(prompt)
        )
    assert phrase in " ".join(raised.value.messages)
    assert not Prediction.objects.exists()
    assert _files() == []
    images[0].refresh_from_db()
    assert not images[0].has_manual_prediction


def test_prediction_is_saved_with_inputs_outputs_and_flags_the_image(
    micro_checkpoint, drawn_pool, team
):
    images, _ = drawn_pool
    ref = micro_ref(micro_checkpoint)
    use_model(team.project, ref)
    result = predictions.prediction_run(
        image=images[0],
        user=team.annotator,
        prompt=predictions.PromptInput.from_dict(
            {"point_coords": [[87, 55]], "point_labels": [1], "box": [40, 20, 130, 95]}
        ),
    )
    record = Prediction.objects.get(pk=result.prediction_id)
    assert record.point_coords == [[87.0, 55.0]] and record.point_labels == [1]
    assert record.box == [40.0, 20.0, 130.0, 95.0]
    assert record.created_by == team.annotator
    assert record.model["key"] == "manual" and record.model["checkpoint"] == str(micro_checkpoint)
    assert record.model["params"]["apply_postprocessing"] is True
    assert len(record.masks) == 3 and rle_to_mask(record.masks[0]).shape == (120, 160)
    assert record.logits_file
    image = images[0]
    image.refresh_from_db()
    assert image.has_manual_prediction and image.status == ImageStatus.IN_PROGRESS
    assert image.key and (image.width, image.height) == (160, 120)


def test_second_click_on_an_image_reuses_its_embedding(micro_checkpoint, drawn_pool, team):
    images, _ = drawn_pool
    use_model(team.project, micro_ref(micro_checkpoint, mask_threshold=0.5))
    prompt = predictions.PromptInput.from_dict({"point_coords": [[87, 55]], "point_labels": [1]})
    first = predictions.prediction_run(image=images[0], user=team.owner, prompt=prompt)
    second = predictions.prediction_run(image=images[0], user=team.owner, prompt=prompt)
    assert not first.embedding_cached and second.embedding_cached
    assert first.masks == second.masks


def test_several_boxes_give_one_mask_each(micro_checkpoint, drawn_pool, team):
    images, _ = drawn_pool
    use_model(team.project, micro_ref(micro_checkpoint))
    result = predictions.prediction_run(
        image=images[0],
        user=team.owner,
        prompt=predictions.PromptInput.from_dict(
            {"box": [[40, 20, 130, 95], [5, 5, 50, 40], [0, 0, 159, 119]]}
        ),
    )
    assert len(result.masks) == 3
    assert Prediction.objects.get(pk=result.prediction_id).multimask_output is False


def test_unreadable_image_is_a_clear_error(micro_checkpoint, drawn_pool, team):
    images, _ = drawn_pool
    (Path(settings.ANNOTATOR_UPLOAD_DIR) / images[1].path).unlink()
    with pytest.raises(ValidationError, match="gone"):
        predictions.prediction_run(
            image=images[1],
            user=team.owner,
            prompt=predictions.PromptInput.from_dict(
                {"point_coords": [[5, 5]], "point_labels": [1]}
            ),
        )
    assert not Prediction.objects.exists()


def test_classic_click_inside_an_object_finds_it(drawn_pool, team):
    """Without SAM weights the default backend is `classic`, and it gives real masks."""
    images, drawings = drawn_pool
    for image, drawn in zip(images, drawings, strict=True):
        result = predictions.prediction_run(
            image=image,
            user=team.annotator,
            prompt=predictions.PromptInput.from_dict(
                {"point_coords": [list(drawn.centre)], "point_labels": [1]}
            ),
        )
        assert result.model["key"] == "classic"
        assert iou(rle_to_mask(result.masks[0]), drawn.truth) >= 0.9


def test_classic_box_around_an_object_finds_it(drawn_pool, team):
    images, drawings = drawn_pool
    ys, xs = np.nonzero(drawings[0].truth)
    box = [int(xs.min()) - 6, int(ys.min()) - 6, int(xs.max()) + 6, int(ys.max()) + 6]
    result = predictions.prediction_run(
        image=images[0], user=team.owner, prompt=predictions.PromptInput.from_dict({"box": box})
    )
    assert iou(rle_to_mask(result.masks[0]), drawings[0].truth) >= 0.9


def test_embedding_cache_is_bounded_and_least_recently_used():
    cache = engine.EmbeddingCache(max_bytes=3 * 400)
    arrays = {name: np.zeros(100, np.float32) for name in "abcd"}  # 400 bytes each
    for name in "abc":
        cache.put(("m", name), arrays[name])
    assert cache.get(("m", "a")) is not None  # a is now the most recent
    cache.put(("m", "d"), arrays["d"])
    assert ("m", "b") not in cache
    assert all(("m", name) in cache for name in "acd")
    assert cache.used_bytes == 1200
    cache.put(("m", "huge"), np.zeros(1000, np.float32))
    assert ("m", "huge") not in cache and len(cache) == 3


def test_classic_click_on_a_large_photo_is_scaled_back_to_full_size(team):
    """GrabCut runs on a reduced copy of large images; the mask comes back at full size."""
    from projects.models import Image, Source
    from tests.inference.conftest import draw_object, write_png

    drawn = draw_object(width=1400, height=1000, seed=5)
    write_png(drawn.rgb, "large.png")
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="big")
    image = Image.objects.create(project=team.project, source=source, path="large.png")
    result = predictions.prediction_run(
        image=image,
        user=team.owner,
        prompt=predictions.PromptInput.from_dict(
            {"point_coords": [list(drawn.centre)], "point_labels": [1]}
        ),
    )
    mask = rle_to_mask(result.masks[0])
    assert mask.shape == (1000, 1400)
    assert iou(mask, drawn.truth) >= 0.9
