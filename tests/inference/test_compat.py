"""The pure-torch stand-ins for torchvision's Normalize, Resize, ToTensor, batched_nms and
box_area, used where torchvision cannot be imported."""

import numpy as np
import pytest
import torch

from inference import compat


def test_sam2_imports_with_or_without_torchvision():
    compat.install()
    from sam2.automatic_mask_generator import batched_nms
    from sam2.utils.transforms import Resize

    if not compat.torchvision_available():
        assert Resize is compat.Resize and batched_nms is compat.batched_nms


def test_resize_is_scriptable_and_keeps_flat_images_flat():
    resize = torch.jit.script(torch.nn.Sequential(compat.Resize((32, 48))))
    image = torch.full((3, 100, 80), 0.25)
    out = resize(image)
    assert out.shape == (3, 32, 48)
    assert torch.allclose(out, torch.full_like(out, 0.25), atol=1e-6)


def test_resize_antialiases_when_shrinking():
    stripes = torch.zeros(1, 64, 64)
    stripes[:, :, ::2] = 1.0  # one-pixel stripes
    small = compat.Resize((16, 16))(stripes)
    # Without antialiasing bilinear sampling would alias to stripes of 0s or 1s; with it the
    # inside is the average (the outermost columns see a clamped border).
    inside = small[:, :, 1:-1]
    assert torch.allclose(inside, torch.full_like(inside, 0.5), atol=0.02)


def test_resize_bilinear_matches_align_corners_false_when_growing():
    image = torch.tensor([[[0.0, 1.0]]])
    grown = compat.Resize((1, 4))(image)
    assert torch.allclose(grown, torch.tensor([[[0.0, 0.25, 0.75, 1.0]]]))


def test_normalize_and_to_tensor():
    pixels = np.array([[[255, 0, 51]]], dtype=np.uint8)
    tensor = compat.ToTensor()(pixels)
    assert tensor.shape == (3, 1, 1) and tensor.dtype == torch.float32
    assert torch.allclose(tensor.flatten(), torch.tensor([1.0, 0.0, 0.2]))
    normalized = torch.jit.script(compat.Normalize([0.5, 0.5, 0.5], [0.5, 0.25, 1.0]))(tensor)
    assert torch.allclose(normalized.flatten(), torch.tensor([1.0, -2.0, -0.3]))


def test_box_area():
    boxes = torch.tensor([[0.0, 0.0, 2.0, 3.0], [1.0, 1.0, 1.0, 5.0]])
    assert compat.box_area(boxes).tolist() == [6.0, 0.0]


def test_batched_nms_suppresses_overlaps_within_a_category_only():
    boxes = torch.tensor(
        [
            [0.0, 0.0, 10.0, 10.0],
            [1.0, 1.0, 10.0, 10.0],  # overlaps the first (IoU 0.81)
            [0.0, 0.0, 10.0, 10.0],  # same box, other category
            [50.0, 50.0, 60.0, 60.0],
        ]
    )
    scores = torch.tensor([0.5, 0.9, 0.3, 0.7])
    categories = torch.tensor([0, 0, 1, 0])
    keep = compat.batched_nms(boxes, scores, categories, 0.5)
    assert keep.tolist() == [1, 3, 2]  # highest score first
    assert compat.batched_nms(boxes, scores, categories, 0.9).tolist() == [1, 3, 0, 2]


def test_batched_nms_of_nothing():
    empty = torch.zeros((0, 4))
    assert compat.batched_nms(empty, torch.zeros(0), torch.zeros(0), 0.5).numel() == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nms_matches_a_brute_force_greedy_reference(seed):
    generator = torch.Generator().manual_seed(seed)
    corners = torch.rand(40, 2, generator=generator) * 50
    sizes = torch.rand(40, 2, generator=generator) * 20 + 1
    boxes = torch.cat([corners, corners + sizes], dim=1)
    scores = torch.rand(40, generator=generator)
    keep = compat.nms(boxes, scores, 0.3).tolist()
    expected: list[int] = []
    for index in sorted(range(40), key=lambda i: -float(scores[i])):
        box = boxes[index]
        ok = True
        for kept in expected:
            other = boxes[kept]
            w = max(0.0, float(min(box[2], other[2]) - max(box[0], other[0])))
            h = max(0.0, float(min(box[3], other[3]) - max(box[1], other[1])))
            inter = w * h
            union = float(compat.box_area(box[None])[0] + compat.box_area(other[None])[0]) - inter
            if inter / union > 0.3:
                ok = False
                break
        if ok:
            expected.append(index)
    assert keep == expected
