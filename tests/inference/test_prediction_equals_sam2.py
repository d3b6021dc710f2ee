"""The app's predictions are exactly what Meta's SAM2ImagePredictor gives on the same
weights and image, for every prompt kind and option of the seed's schema."""

import numpy as np
import pytest
import torch

from inference import checkpoints, engine, registry, selectors
from inference.services import predictions
from projects.encoding import array_open, rle_to_mask
from tests.inference.conftest import micro_ref, use_model


def direct_predictor(path, config, overrides, image_size):
    build_sam, predictor_module, _ = engine.import_sam2()
    model = build_sam.build_sam2(config, str(path), device="cpu", hydra_overrides_extra=overrides)
    predictor = predictor_module.SAM2ImagePredictor(model)
    predictor._bb_feat_sizes = [(image_size // s, image_size // s) for s in (4, 8, 16)]
    return predictor


@pytest.fixture(scope="module")
def reference(micro_checkpoint):
    return direct_predictor(
        micro_checkpoint,
        checkpoints.TINY_CONFIG,
        list(checkpoints.MICRO_OVERRIDES),
        checkpoints.MICRO_IMAGE_SIZE,
    )


PROMPTS = {
    "one_click": {"point_coords": [[87, 55]], "point_labels": [1]},
    "clicks_with_background": {
        "point_coords": [[87, 55], [20, 100], [60, 70]],
        "point_labels": [1, 0, 1],
    },
    "box": {"box": [40, 20, 130, 95]},
    "box_and_click": {"box": [40, 20, 130, 95], "point_coords": [[87, 55]], "point_labels": [1]},
    "several_boxes": {"box": [[40, 20, 130, 95], [5, 5, 50, 40]]},
    "single_mask": {"point_coords": [[87, 55]], "point_labels": [1], "multimask_output": False},
}


def _direct(reference, rgb, prompt, width, height):
    coords = prompt.get("point_coords")
    labels = prompt.get("point_labels")
    box = prompt.get("box")
    normalize = prompt.get("normalize_coords", True)
    reference.set_image(rgb)
    with torch.inference_mode():
        masks, scores, logits = reference.predict(
            point_coords=None if coords is None else np.array(coords, np.float32),
            point_labels=None if labels is None else np.array(labels, np.int32),
            box=None if box is None else np.array(box, np.float32),
            mask_input=prompt.get("_mask_input"),
            multimask_output=prompt.get("multimask_output", True)
            and (box is None or np.ndim(box) == 1),
            normalize_coords=normalize,
        )
    if masks.ndim == 4:
        masks, scores, logits = masks[:, 0], scores[:, 0], logits[:, 0]
    if prompt.get("sort_results", True):
        order = np.argsort(-scores, kind="stable")
        masks, scores, logits = masks[order], scores[order], logits[order]
    return masks > 0, scores, logits


def _normalized(prompt, width, height):
    scaled = dict(prompt, normalize_coords=False)
    if "point_coords" in prompt:
        scaled["point_coords"] = [[x / width, y / height] for x, y in prompt["point_coords"]]
    if "box" in prompt:
        boxes = np.array(prompt["box"], np.float64).reshape(-1, 4) / [width, height, width, height]
        boxes = boxes.reshape(np.shape(prompt["box"]))
        scaled["box"] = boxes.tolist()
    return scaled


def _check_same(result, direct):
    masks, scores, logits = direct
    assert len(result.masks) == len(masks)
    for rle, mask in zip(result.masks, masks, strict=True):
        assert np.array_equal(rle_to_mask(rle), mask)
    np.testing.assert_allclose(result.scores, scores, rtol=1e-5, atol=1e-6)
    saved = array_open(predictions.Prediction.objects.get(pk=result.prediction_id).logits_file)
    np.testing.assert_allclose(saved, logits, rtol=1e-4, atol=1e-4)
    return saved


@pytest.mark.parametrize("normalize", [True, False], ids=["pixels", "normalized"])
@pytest.mark.parametrize("name", list(PROMPTS))
def test_app_prediction_equals_direct_sam2_call(
    name, normalize, reference, micro_checkpoint, drawn_pool, team
):
    images, drawings = drawn_pool
    image, rgb = images[0], drawings[0].rgb
    use_model(team.project, micro_ref(micro_checkpoint))
    height, width = rgb.shape[:2]
    prompt = PROMPTS[name] if normalize else _normalized(PROMPTS[name], width, height)
    result = predictions.prediction_run(
        image=image, user=team.annotator, prompt=predictions.PromptInput.from_dict(prompt)
    )
    _check_same(result, _direct(reference, rgb, prompt, width, height))


@pytest.mark.parametrize("sort_results", [True, False])
@pytest.mark.parametrize("return_logits", [True, False])
def test_sorting_and_returned_logits_follow_the_request(
    sort_results, return_logits, reference, micro_checkpoint, drawn_pool, team
):
    images, drawings = drawn_pool
    use_model(team.project, micro_ref(micro_checkpoint))
    prompt = {
        **PROMPTS["one_click"],
        "sort_results": sort_results,
        "return_logits_to_caller": return_logits,
    }
    result = predictions.prediction_run(
        image=images[1], user=team.annotator, prompt=predictions.PromptInput.from_dict(prompt)
    )
    saved = _check_same(result, _direct(reference, drawings[1].rgb, prompt, 160, 120))
    if sort_results:
        assert result.scores == sorted(result.scores, reverse=True)
    if return_logits:
        np.testing.assert_allclose(np.array(result.logits), saved, atol=1e-6)
    else:
        assert result.logits is None


def test_refining_with_previous_logits_equals_sam2_with_mask_input(
    reference, micro_checkpoint, drawn_pool, team
):
    images, drawings = drawn_pool
    use_model(team.project, micro_ref(micro_checkpoint))
    first = predictions.prediction_run(
        image=images[0],
        user=team.annotator,
        prompt=predictions.PromptInput.from_dict(PROMPTS["one_click"]),
    )
    logits = array_open(predictions.Prediction.objects.get(pk=first.prediction_id).logits_file)
    refine = {
        "point_coords": [[87, 55], [30, 30]],
        "point_labels": [1, 0],
        "mask_input_prediction": first.prediction_id,
        "mask_input_index": 0,
        "multimask_output": False,
    }
    result = predictions.prediction_run(
        image=images[0], user=team.annotator, prompt=predictions.PromptInput.from_dict(refine)
    )
    direct = _direct(
        reference, drawings[0].rgb, {**refine, "_mask_input": logits[0][None]}, 160, 120
    )
    _check_same(result, direct)
    record = predictions.Prediction.objects.get(pk=result.prediction_id)
    np.testing.assert_array_equal(array_open(record.mask_input_file), logits[0][None])


def test_official_hiera_tiny_checkpoint_format_loads_and_predicts_like_sam2(
    checkpoint_dir, drawn_pool, team, settings
):
    """A hiera-tiny-shaped checkpoint (the official file's layout and size) placed where a
    download puts it becomes the default model and predicts as SAM2 does."""
    spec = registry.spec_for("sam2.1_hiera_tiny")
    checkpoints.write_tiny_checkpoint(spec.path, seed=3)
    assert registry.default_key() == "sam2.1_hiera_tiny"
    assert spec.path.stat().st_size > 100_000_000
    images, drawings = drawn_pool
    ref = selectors.project_model_ref(team.project)
    assert ref.key == "sam2.1_hiera_tiny" and ref.config == spec.config
    result = predictions.prediction_run(
        image=images[2],
        user=team.annotator,
        prompt=predictions.PromptInput.from_dict(PROMPTS["box_and_click"]),
    )
    reference = direct_predictor(spec.path, spec.config, [], 1024)
    _check_same(result, _direct(reference, drawings[2].rgb, PROMPTS["box_and_click"], 160, 120))
    engine.unload_all()
