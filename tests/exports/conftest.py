"""An annotated project: labelled objects (one with a hole, one in two parts), prompt
predictions with logits, and an automask run, on images of different sizes."""

from dataclasses import dataclass, field

import numpy as np
import pytest

from projects.encoding import array_save, mask_to_rle, rle_to_mask
from projects.models import (
    AutomaskMask,
    AutomaskRun,
    Image,
    Label,
    MaskObject,
    Prediction,
    Source,
)


def ring_mask(height: int, width: int) -> np.ndarray:
    """A square with a square hole: what COCO polygons cannot express."""
    mask = np.zeros((height, width), dtype=bool)
    mask[4:20, 4:20] = True
    mask[8:14, 8:14] = False
    return mask


def two_parts_mask(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[2:6, 30:40] = True
    yy, xx = np.mgrid[:height, :width]
    mask |= (yy - 30) ** 2 + (xx - 40) ** 2 <= 36
    return mask


def box_mask(height: int, width: int, x: int, y: int, w: int, h: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[y : y + h, x : x + w] = True
    return mask


@dataclass
class Annotated:
    project: object
    source: Source
    images: list[Image]
    labels: dict[str, Label]
    objects: list[MaskObject] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    automask: list[AutomaskMask] = field(default_factory=list)

    def expected(self, record: str, record_id: int) -> np.ndarray:
        """The stored mask an exported record must reproduce."""
        if record == "object":
            return rle_to_mask(next(o.mask for o in self.objects if o.pk == record_id))
        if record == "automask":
            return rle_to_mask(next(m.segmentation for m in self.automask if m.pk == record_id))
        prediction = next(p for p in self.predictions if p.pk == record_id)
        return rle_to_mask(prediction.final_mask or prediction.masks[0])


@pytest.fixture
def annotated(team) -> Annotated:
    project = team.project
    labels = {
        "object": project.labels.get(name="object"),
        "cell": Label.objects.create(project=project, name="cell", color="#00ff00"),
        "nucleus": Label.objects.create(project=project, name="nucleus", color="#0000ff"),
    }
    source = Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name="uploads")
    sizes = [(48, 64), (40, 50), (36, 70)]
    images = [
        Image.objects.create(
            project=project,
            source=source,
            path=f"plate-{i}.png",
            key=f"{i:064x}",
            width=w,
            height=h,
        )
        for i, (h, w) in enumerate(sizes)
    ]
    scene = Annotated(project, source, images, labels)
    h, w = sizes[0]
    for mask, label, name in [
        (ring_mask(h, w), labels["cell"], "ring"),
        (two_parts_mask(h, w), labels["nucleus"], "pair"),
        (box_mask(h, w, 0, 40, 64, 8), None, "edge"),
    ]:
        scene.objects.append(
            MaskObject.objects.create(
                image=images[0], label=label, name=name, mask=mask_to_rle(mask)
            )
        )
    h, w = sizes[1]
    scene.objects.append(
        MaskObject.objects.create(
            image=images[1], label=labels["cell"], mask=mask_to_rle(box_mask(h, w, 5, 5, 10, 20))
        )
    )
    logits = np.random.default_rng(1).normal(size=(3, 16, 16)).astype(np.float32)
    chosen = Prediction.objects.create(
        image=images[1],
        point_coords=[[10.0, 12.0], [30.0, 20.0]],
        point_labels=[1, 0],
        box=[2, 3, 40, 30],
        model={"name": "sam2.1_hiera_tiny", "postprocess": True},
        masks=[mask_to_rle(box_mask(h, w, 20, 20, 5 + i, 5)) for i in range(3)],
        scores=[0.8, 0.7, 0.6],
        chosen_index=0,
        final_mask=mask_to_rle(box_mask(h, w, 20, 20, 6, 6)),
        logits_file=array_save(logits, project_id=project.pk),
        mask_input_file=array_save(logits[:1], project_id=project.pk),
    )
    scene.predictions = [chosen]
    h, w = sizes[2]
    run = AutomaskRun.objects.create(image=images[2], model={"name": "tiny"}, params={"pps": 8})
    for i in range(4):
        mask = box_mask(h, w, 5 * i, 2 * i, 6, 7)
        scene.automask.append(
            AutomaskMask.objects.create(
                run=run,
                segmentation=mask_to_rle(mask),
                area=int(mask.sum()),
                bbox=[5 * i, 2 * i, 6, 7],
                predicted_iou=0.9 - i / 10,
                stability_score=0.95,
                point_coords=[[5 * i + 2, 2 * i + 2]],
                crop_box=[0, 0, w, h],
            )
        )
    for image in images:
        image.refresh_status()
        image.save()
    return scene
