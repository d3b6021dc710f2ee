"""A pool whose masks are hard for readers that were never written with us in mind: parts one
pixel wide, single pixels, diagonals, a hole, masks on the right and bottom edges, two parts,
and three labels made through the app (so each has its own palette colour)."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from projects import services
from projects.encoding import mask_to_rle
from projects.models import Image, MaskObject, Source

UNLABELED = "unlabeled"


def _disc(height: int, width: int, cy: int, cx: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _blank(height: int, width: int) -> np.ndarray:
    return np.zeros((height, width), dtype=bool)


def shapes(height: int, width: int) -> dict[str, np.ndarray]:
    """Masks without holes, named after what makes them hard; none overlaps another."""
    found = {}
    found["disc"] = _disc(height, width, 12, 14, 9)
    triangle = _blank(height, width)
    for row in range(8):
        triangle[25 + row, 30 : 31 + 2 * row] = True
    found["triangle"] = triangle
    edge = _blank(height, width)
    edge[height - 5 :, width - 8 :] = True  # on the right and the bottom edges
    found["edge"] = edge
    bar = _blank(height, width)
    bar[3:30, width - 25] = True  # one pixel wide
    found["bar"] = bar
    line = _blank(height, width)
    line[height - 1, 2:25] = True  # one pixel high, on the bottom edge
    found["line"] = line
    dot = _blank(height, width)
    dot[height - 2, width - 30] = True
    found["dot"] = dot
    diagonal = _blank(height, width)
    for k in range(12):
        diagonal[2 + k, 40 + k] = True
    found["diagonal"] = diagonal
    pair = _disc(height, width, 30, 8, 4)
    pair[30:34, 18:22] = True
    found["pair"] = pair
    return found


def ring(height: int, width: int) -> np.ndarray:
    mask = _blank(height, width)
    mask[4:20, 4:24] = True
    mask[9:14, 9:16] = False
    return mask


@dataclass
class Scene:
    project: object
    source: Source
    images: list[Image]
    # per image file name: (object name, label name, mask) in the order they were made
    expected: dict[str, list[tuple[str, str, np.ndarray]]] = field(default_factory=dict)

    def without_holes(self) -> dict[str, list[tuple[str, str, np.ndarray]]]:
        return {
            name: [row for row in rows if row[0] != "ring"] for name, rows in self.expected.items()
        }


@pytest.fixture
def scene(team) -> Scene:
    project = team.project
    labels = {name: services.label_create(project=project, name=name) for name in ("car", "tree")}
    labels["object"] = project.labels.get(name="object")
    source = Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name="uploads")
    sizes = {"street.png": (48, 64), "park.png": (37, 53), "empty.png": (20, 30)}
    images = [
        Image.objects.create(
            project=project,
            source=source,
            path=name,
            key=f"{k:064x}",
            width=w,
            height=h,
        )
        for k, (name, (h, w)) in enumerate(sizes.items())
    ]
    found = Scene(project, source, images)
    cycle = ["car", "tree", "object", None]
    for image in images[:2]:
        made = shapes(image.height, image.width)
        if image.path == "park.png":  # a hole, where the street has its disc
            del made["disc"]
            made["ring"] = ring(image.height, image.width)
        # No two masks share a pixel, so that the label-map formats (VOC) can hold them all.
        assert np.sum(list(made.values()), axis=0).max() == 1
        rows = []
        for k, (name, mask) in enumerate(made.items()):
            label = cycle[k % len(cycle)]
            MaskObject.objects.create(
                image=image,
                label=labels[label] if label else None,
                name=name,
                mask=mask_to_rle(mask),
            )
            rows.append((name, label or UNLABELED, mask))
        found.expected[image.path] = rows
    found.expected["empty.png"] = []
    for image in images:
        image.refresh_status()
        image.save()
    return found


def write_pictures(scene: Scene, folder: Path) -> None:
    """The pool's pictures, as a user keeps them beside an export (readers open them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for image in scene.images:
        PILImage.new("RGB", (image.width, image.height), (40, 60, 80)).save(folder / image.path)


def same(
    expected: dict[str, list[tuple[str, str, np.ndarray]]],
    read: dict[str, list[tuple[str, np.ndarray]]],
) -> None:
    """Every image read back with the same masks and classes, pixel for pixel (as multisets:
    readers need not keep the order)."""
    assert sorted(read) == sorted(expected)
    for name, rows in expected.items():
        want = sorted((label, mask.tobytes()) for _, label, mask in rows)
        got = sorted((label, mask.astype(bool).tobytes()) for label, mask in read[name])
        if want != got:
            missing = [obj for obj, label, mask in rows if (label, mask.tobytes()) not in got]
            raise AssertionError(f"{name}: {len(got)} read, {len(want)} made; differ: {missing}")
