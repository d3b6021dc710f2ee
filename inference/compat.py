"""Pure-torch stand-ins for the few torchvision functions sam2 imports.

sam2 imports torchvision in two places only: `sam2.utils.transforms` (Normalize, Resize,
ToTensor) and `sam2.automatic_mask_generator` (batched_nms, box_area). The CPU build of torch
used on machines without a GPU has no matching torchvision on the package index, so when
`import torchvision` fails these stand-ins are registered under torchvision's module names
before sam2 is imported. Wherever the real torchvision imports it is used unchanged.

The transforms are nn.Modules written for TorchScript, because sam2 scripts
`nn.Sequential(Resize, Normalize)`.
"""

import sys
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Resize(nn.Module):
    """torchvision's Resize for tensors: bilinear, antialiased, align_corners False."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size: list[int] = [int(size[0]), int(size[1])]

    def forward(self, image: Tensor) -> Tensor:
        batched = image.dim() == 4
        x = image if batched else image.unsqueeze(0)
        x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return x if batched else x.squeeze(0)


class Normalize(nn.Module):
    """(x - mean) / std per channel of a C x H x W (or N x C x H x W) tensor."""

    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.mean: list[float] = [float(v) for v in mean]
        self.std: list[float] = [float(v) for v in std]

    def forward(self, image: Tensor) -> Tensor:
        mean = torch.tensor(self.mean, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=image.dtype, device=image.device).view(-1, 1, 1)
        return (image - mean) / std


class ToTensor:
    """An H x W x C uint8 array (or PIL image) as a C x H x W float tensor in [0, 1]."""

    def __call__(self, picture) -> Tensor:
        array = np.asarray(picture)
        if array.ndim == 2:
            array = array[:, :, None]
        tensor = torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))
        if tensor.dtype == torch.uint8:
            return tensor.float().div_(255)
        return tensor.float()


def box_area(boxes: Tensor) -> Tensor:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _box_iou(box: Tensor, others: Tensor) -> Tensor:
    left_top = torch.maximum(box[:2], others[:, :2])
    right_bottom = torch.minimum(box[2:], others[:, 2:])
    size = (right_bottom - left_top).clamp(min=0)
    intersection = size[:, 0] * size[:, 1]
    area = (box[2] - box[0]) * (box[3] - box[1])
    return intersection / (area + box_area(others) - intersection)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Indices of the boxes kept, highest score first, as torchvision.ops.nms."""
    order = torch.argsort(scores, descending=True, stable=True)
    keep: list[int] = []
    while order.numel() > 0:
        best = int(order[0])
        keep.append(best)
        if order.numel() == 1:
            break
        rest = order[1:]
        order = rest[_box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    """NMS within each category of `idxs`: boxes of different categories never suppress
    each other (offsetting each category's boxes apart, as torchvision does)."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64, device=boxes.device)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def torchvision_available() -> bool:
    try:
        import torchvision  # noqa: F401
    except Exception:  # a CUDA-only build raises more than ImportError on a CPU machine
        return False
    return True


def install() -> bool:
    """Register the stand-ins when torchvision cannot be imported; True if they were."""
    if "torchvision" in sys.modules and getattr(sys.modules["torchvision"], "_annotator", False):
        return True
    if torchvision_available():
        return False
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    package = types.ModuleType("torchvision")
    package._annotator = True  # type: ignore[attr-defined]
    package.__path__ = []  # type: ignore[attr-defined]
    transforms = types.ModuleType("torchvision.transforms")
    transforms.Normalize = Normalize  # type: ignore[attr-defined]
    transforms.Resize = Resize  # type: ignore[attr-defined]
    transforms.ToTensor = ToTensor  # type: ignore[attr-defined]
    ops = types.ModuleType("torchvision.ops")
    boxes = types.ModuleType("torchvision.ops.boxes")
    for module in (ops, boxes):
        module.batched_nms = batched_nms  # type: ignore[attr-defined]
        module.box_area = box_area  # type: ignore[attr-defined]
        module.nms = nms  # type: ignore[attr-defined]
    ops.boxes = boxes  # type: ignore[attr-defined]
    package.transforms = transforms  # type: ignore[attr-defined]
    package.ops = ops  # type: ignore[attr-defined]
    sys.modules.update(
        {
            "torchvision": package,
            "torchvision.transforms": transforms,
            "torchvision.ops": ops,
            "torchvision.ops.boxes": boxes,
        }
    )
    return True
