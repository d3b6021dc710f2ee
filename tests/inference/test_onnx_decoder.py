"""The browser's decoder: the exported ONNX graph decodes as SAM2 does, and the two endpoints
that serve it and an image's features.

onnxruntime runs the exported file, fed what the browser feeds it (coordinates scaled by
image_size / original size, a box first as two points labelled 2 and 3, the candidates sorted
by score, upscaled bilinearly and thresholded), against SAM2ImagePredictor on the same
random-weight micro checkpoint and image.
"""

import numpy as np
import onnxruntime
import pytest
import torch
from django.urls import reverse

from inference import checkpoints, engine, features, onnx_export
from inference.services import predictions
from tests.inference.conftest import draw_object, iou, micro_ref, use_model
from tests.inference.test_prediction_equals_sam2 import direct_predictor

WIDTH, HEIGHT = 160, 120


@pytest.fixture(scope="module")
def reference(micro_checkpoint):
    return direct_predictor(
        micro_checkpoint,
        checkpoints.TINY_CONFIG,
        list(checkpoints.MICRO_OVERRIDES),
        checkpoints.MICRO_IMAGE_SIZE,
    )


@pytest.fixture(scope="module")
def session(reference, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "decoder.onnx"
    onnx_export.export(reference.model, path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def picture(reference):
    rgb = draw_object(WIDTH, HEIGHT, seed=4).rgb
    reference.set_image(rgb)
    return rgb


def upscale(logits: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear, half-pixel centres (torch's align_corners=False), as the browser does."""
    size_y, size_x = logits.shape[-2:]
    ys = np.clip((np.arange(height) + 0.5) * size_y / height - 0.5, 0, size_y - 1)
    xs = np.clip((np.arange(width) + 0.5) * size_x / width - 0.5, 0, size_x - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, size_y - 1), np.minimum(x0 + 1, size_x - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = logits[..., y0, :][..., x0] * (1 - fx) + logits[..., y0, :][..., x1] * fx
    bottom = logits[..., y1, :][..., x0] * (1 - fx) + logits[..., y1, :][..., x1] * fx
    return top * (1 - fy) + bottom * fy


def browser_decode(session, feats, prompt, *, image_size=checkpoints.MICRO_IMAGE_SIZE):
    coords, labels = [], []
    if "box" in prompt:
        x1, y1, x2, y2 = prompt["box"]
        coords += [[x1, y1], [x2, y2]]
        labels += [2, 3]
    coords += prompt.get("point_coords", [])
    labels += prompt.get("point_labels", [])
    scale = np.array([image_size / WIDTH, image_size / HEIGHT], np.float32)
    size = image_size // 4
    outputs = session.run(
        None,
        {
            "image_embed": feats["image_embed"],
            "high_res_feats_0": feats["high_res_feats"][0],
            "high_res_feats_1": feats["high_res_feats"][1],
            "point_coords": (np.array(coords, np.float32) * scale)[None],
            "point_labels": np.array(labels, np.float32)[None],
            "mask_input": np.zeros((1, 1, size, size), np.float32),
            "has_mask_input": np.zeros(1, np.float32),
        },
    )
    multimask = prompt.get("multimask_output", True)
    logits, scores = (outputs[0], outputs[1]) if multimask else (outputs[2], outputs[3])
    logits, scores = logits[0], scores[0]
    order = np.argsort(-scores, kind="stable")
    return upscale(logits[order], HEIGHT, WIDTH) > 0, scores[order]


def torch_decode(reference, prompt):
    box = prompt.get("box")
    with torch.inference_mode():
        masks, scores, _ = reference.predict(
            point_coords=np.array(prompt["point_coords"], np.float32)
            if "point_coords" in prompt
            else None,
            point_labels=np.array(prompt["point_labels"], np.int32)
            if "point_labels" in prompt
            else None,
            box=None if box is None else np.array(box, np.float32),
            multimask_output=prompt.get("multimask_output", True),
        )
    order = np.argsort(-scores, kind="stable")
    return masks[order] > 0, scores[order]


def features_of(reference, dtype=np.float32):
    state = reference._features
    cast = lambda t: t.detach().cpu().numpy().astype(dtype).astype(np.float32)  # noqa: E731
    return {
        "image_embed": cast(state["image_embed"]),
        "high_res_feats": [cast(f) for f in state["high_res_feats"]],
    }


PROMPTS = {
    # One click: three candidates, each compared.
    "point": {"point_coords": [[87, 55]], "point_labels": [1]},
    "two_points": {
        "point_coords": [[87, 55], [20, 100]],
        "point_labels": [1, 0],
        "multimask_output": False,
    },
    "box": {"box": [40, 20, 130, 95], "multimask_output": False},
    "box_and_point": {
        "box": [40, 20, 130, 95],
        "point_coords": [[87, 55]],
        "point_labels": [1],
        "multimask_output": False,
    },
    "candidates_of_a_box": {"box": [40, 20, 130, 95]},
}


@pytest.mark.parametrize("name", PROMPTS)
def test_the_exported_decoder_decodes_as_sam2(name, reference, session, picture):
    prompt = PROMPTS[name]
    expected_masks, expected_scores = torch_decode(reference, prompt)
    masks, scores = browser_decode(session, features_of(reference), prompt)
    assert masks.shape == expected_masks.shape
    assert len(scores) == (3 if prompt.get("multimask_output", True) else 1)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-3)
    for mask, expected in zip(masks, expected_masks, strict=True):
        assert iou(mask, expected) >= 0.99, name


def test_features_sent_as_float16_decode_as_sam2(reference, session, picture):
    prompt = PROMPTS["point"]
    expected_masks, expected_scores = torch_decode(reference, prompt)
    masks, scores = browser_decode(session, features_of(reference, np.float16), prompt)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-2)
    assert iou(masks[0], expected_masks[0]) >= 0.99


def wire_features(reference):
    """The features as the browser receives them: float16, the high-resolution maps with
    the mantissa bits the wire keeps."""
    feats = features_of(reference, np.float16)
    rounded = [
        features.rounded(f.astype(np.float16), features.MANTISSA_BITS[f"high_res_feats_{i}"])
        for i, f in enumerate(feats["high_res_feats"])
    ]
    feats["high_res_feats"] = [r.astype(np.float32) for r in rounded]
    return feats


@pytest.mark.parametrize("name", PROMPTS)
def test_features_as_the_wire_sends_them_decode_as_sam2(name, reference, session, picture):
    prompt = PROMPTS[name]
    expected_masks, expected_scores = torch_decode(reference, prompt)
    masks, scores = browser_decode(session, wire_features(reference), prompt)
    np.testing.assert_allclose(scores, expected_scores, atol=1e-2)
    for mask, expected in zip(masks, expected_masks, strict=True):
        assert iou(mask, expected) >= 0.99, name


def test_rounding_for_the_wire_is_to_nearest_and_never_infinite():
    values = np.array([1.0, 1.0009766, 1.0068359, -2.5, 65504.0, -65504.0, 0.0], np.float16)
    out = features.rounded(values, 7)
    assert np.isfinite(out).all()
    assert (out.view(np.uint16) & 0x7).max() == 0
    # 1 + 7/1024 lies nearer 1 + 8/1024 than 1: rounded up, not cut.
    assert out[2] == np.float16(1.0078125)
    assert out[0] == 1.0 and out[1] == 1.0 and out[3] == -2.5 and out[6] == 0.0
    assert out[4] > 65000 and out[5] < -65000  # the largest values are cut, not made inf
    np.testing.assert_array_equal(features.rounded(values, 10), values)


def test_the_graph_takes_a_mask_input(reference, session, picture):
    feats = features_of(reference)
    size = checkpoints.MICRO_IMAGE_SIZE // 4
    with torch.inference_mode():
        _, _, logits = reference.predict(
            point_coords=np.array([[87, 55]], np.float32),
            point_labels=np.array([1], np.int32),
            multimask_output=False,
        )
        masks, scores, _ = reference.predict(
            point_coords=np.array([[87, 55], [60, 70]], np.float32),
            point_labels=np.array([1, 1], np.int32),
            mask_input=logits,
            multimask_output=False,
        )
    scale = checkpoints.MICRO_IMAGE_SIZE / np.array([WIDTH, HEIGHT], np.float32)
    out = session.run(
        ["single_mask", "single_score"],
        {
            "image_embed": feats["image_embed"],
            "high_res_feats_0": feats["high_res_feats"][0],
            "high_res_feats_1": feats["high_res_feats"][1],
            "point_coords": (np.array([[87, 55], [60, 70]], np.float32) * scale)[None],
            "point_labels": np.array([[1, 1]], np.float32),
            "mask_input": logits.reshape(1, 1, size, size).astype(np.float32),
            "has_mask_input": np.ones(1, np.float32),
        },
    )
    np.testing.assert_allclose(out[1][0], scores, atol=1e-3)
    assert iou(upscale(out[0][0], HEIGHT, WIDTH)[0] > 0, masks[0] > 0) >= 0.99


# ---------------------------------------------------------------------------------------
# The endpoints


@pytest.fixture
def micro_project(team, micro_checkpoint, drawn_pool):
    ref = micro_ref(micro_checkpoint)
    use_model(team.project, ref)
    yield ref
    engine.unload_all()


def test_a_member_gets_the_decoder_once_per_model_then_not_modified(
    micro_project, team, client, settings, tmp_path
):
    settings.ANNOTATOR_CACHE_DIR = tmp_path / "cache"
    client.force_login(team.user("viewer"))
    url = reverse("inference:decoder-model", kwargs={"project_id": team.project.pk})
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/octet-stream"
    data = b"".join(response.streaming_content)
    tag = response["ETag"]
    assert tag.startswith(f'"{micro_project.cache_key}-')
    assert (
        tmp_path / "cache" / "decoders" / f"{micro_project.cache_key}.onnx"
    ).read_bytes() == data
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(onnx_export.INPUTS)
    again = client.get(url, HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 304
    assert again["ETag"] == tag


def test_no_decoder_with_the_classic_model_and_none_for_outsiders(team, client):
    client.force_login(team.user("owner"))
    url = reverse("inference:decoder-model", kwargs={"project_id": team.project.pk})
    response = client.get(url)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "decoder_unavailable"
    assert "classic" in error["message"]
    client.force_login(team.user("outsider"))
    assert client.get(url).status_code == 404


def test_the_features_of_the_open_image_are_the_models_in_float16(
    micro_project, team, client, drawn_pool
):
    images, _ = drawn_pool
    client.force_login(team.user("annotator"))
    url = reverse("inference:image-features", kwargs={"image_id": images[0].pk})
    # Not prepared yet: the request asks for them and says so, without waiting.
    pending = client.get(url)
    assert pending.status_code == 202, pending.content[:300]
    assert pending.json()["status"] == "preparing"
    assert pending["Retry-After"] == "1"
    pixels = predictions.Pixels(images[0])
    pixels()  # the first read records the image's content key
    images[0].refresh_from_db()
    model = engine.get_engine(micro_project)
    if not model.features_ready(images[0].key):  # the preparation ran eagerly, or not
        model.embed(images[0].key, pixels)
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == features.CONTENT_TYPE
    header, tensors = features.unpack(response.content)
    assert header["model"] == micro_project.cache_key
    assert header["orig_hw"] == [120, 160]
    assert header["image_size"] == checkpoints.MICRO_IMAGE_SIZE
    assert [t["shape"] for t in header["tensors"]] == [
        [1, 64, 32, 32],
        [1, 8, 128, 128],
        [1, 16, 64, 64],
    ]
    state, ready = model.embed(images[0].key, lambda: None)
    assert ready
    np.testing.assert_array_equal(
        tensors["image_embed"],
        state[0]["image_embed"].cpu().numpy().astype(np.float16),
    )
    # The high-resolution maps keep 7 mantissa bits on the wire: within 2**-8 of float16.
    sent = tensors["high_res_feats_0"].astype(np.float32)
    full = state[0]["high_res_feats"][0].cpu().numpy().astype(np.float16).astype(np.float32)
    assert header["tensors"][1]["mantissa_bits"] == 7
    np.testing.assert_allclose(
        sent, full, rtol=2**-8, atol=2**-22
    )  # subnormals: half a step of 2**-21
    assert len(np.unique(sent.view(np.uint32) & 0x1FFF)) == 1  # the dropped bits are zero
    again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_a_viewer_gets_no_features_and_an_unreadable_image_is_a_clear_error(
    micro_project, team, client, drawn_pool, settings
):
    images, _ = drawn_pool
    client.force_login(team.user("viewer"))
    url = reverse("inference:image-features", kwargs={"image_id": images[0].pk})
    assert client.get(url).status_code == 403
    client.force_login(team.user("owner"))
    (settings.ANNOTATOR_UPLOAD_DIR / "photo1.png").write_bytes(b"not a picture")
    url = reverse("inference:image-features", kwargs={"image_id": images[1].pk})
    response = client.get(url)
    assert response.status_code in (400, 409), response.content[:300]
    assert "image" in response.content.decode().lower()
