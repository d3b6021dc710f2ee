"""What every export writer shares: the options, the classes, the images whose size is known,
the checks on each mask and the counts a writer returns."""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from projects.encoding import rle_area
from projects.exports.naming import file_stem
from projects.exports.selectors import ExportImage, ExportMask, export_sizes
from projects.models import Label, label_color_free
from projects.selectors import image_source_path

UNLABELED = "unlabeled"
BACKGROUND_COLOR = "#000000"
UNLABELED_COLOR = "#808080"

Progress = Callable[[int], None]
# What XML 1.0 cannot hold at all (control characters, lone surrogates, U+FFFE/U+FFFF).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class ExportOptions:
    format: str = "coco"
    mask_form: str = "coco_rle"
    records: tuple[str, ...] = ("objects",)
    label_map: bool = False  # binary_mask: also one label-index PNG per image
    include_logits: bool = False  # seed_json: the low-resolution logits as nested lists
    polygon_convention: str = "edges"  # COCO polygons and YOLO-seg: edges or centres


@dataclass
class Categories:
    """The project's labels as classes 1..N in name order, then `unlabeled` (N + 1) for
    masks without a label: the COCO category ids (COCO readers take 0 for the background)
    and the PNG formats' class indexes, where 0 is the background."""

    labels: list[Label]
    index_of: dict[int | None, int] = field(init=False)
    palette: list[tuple[int, int, int]] = field(init=False)

    def __post_init__(self) -> None:
        self.index_of = {label.pk: i + 1 for i, label in enumerate(self.labels)}
        self.index_of[None] = len(self.labels) + 1
        self.palette = [rgb(color) for color in self._distinct_colors()]

    def of(self, label_id: int | None) -> int:
        """The class of a mask; a label gone since is no class any more."""
        return self.index_of.get(label_id, self.index_of[None])

    def coco(self, *, unlabeled: bool) -> list[dict]:
        """The categories; `unlabeled` only where some mask has no label."""
        categories = [
            {
                "id": self.index_of[label.pk],
                "name": label.name,
                "supercategory": "",
                "color": label.color,
                "label_id": label.pk,
            }
            for label in self.labels
        ]
        if unlabeled:
            categories.append(
                {
                    "id": self.index_of[None],
                    "name": UNLABELED,
                    "supercategory": "",
                    "color": UNLABELED_COLOR,
                }
            )
        return categories

    def named_colors(self, *, unlabeled: bool) -> list[tuple[str, str]]:
        """(name, #rrggbb) per class in class order, each class in a colour of its own;
        `unlabeled` last, only where asked."""
        colors = self._distinct_colors()[1:]
        classes = [(label.name, color) for label, color in zip(self.labels, colors, strict=False)]
        return classes + ([(UNLABELED, UNLABELED_COLOR)] if unlabeled else [])

    def name_of(self, label_id: int | None) -> str:
        return self.names()[self.of(label_id)]

    def names(self) -> list[str]:
        return ["background", *(label.name for label in self.labels), UNLABELED]

    def colors(self) -> list[tuple[int, int, int]]:
        """One colour per class, in class order: background, the labels, unlabeled."""
        return self.palette

    def _distinct_colors(self) -> list[str]:
        # Readers of VOC maps (datumaro, CVAT) tell classes apart by colour, so no two
        # classes share one: a label painted like another, or black or grey, is drawn in
        # the first palette colour still free.
        taken = {BACKGROUND_COLOR, UNLABELED_COLOR}
        colors = []
        for label in self.labels:
            color = label.color.lower()
            if color in taken:
                color = label_color_free(taken)
            taken.add(color)
            colors.append(color)
        return [BACKGROUND_COLOR, *colors, UNLABELED_COLOR]


def rgb(color: str) -> tuple[int, int, int]:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return red, green, blue


def readable_images(
    images: Iterable[ExportImage], progress: Progress, skipped: list[dict]
) -> Iterator[ExportImage]:
    """The images whose size is known (read now for those never opened), each counted as
    done once written; those that cannot be read go to `skipped`, with the reason."""
    for count, export in enumerate(export_sizes(images), start=1):
        if export.unreadable:
            skipped.append(
                {
                    "image_id": export.image.pk,
                    "file_name": export.file_name,
                    "path": image_source_path(export.image),
                    "reason": export.unreadable,
                }
            )
        else:
            yield export
        progress(count)


def export_counts(images: int, masks: int, skipped: list[dict]) -> dict:
    return {"images": images, "masks": masks, **({"skipped": skipped} if skipped else {})}


class Stems:
    """File stems for per-image files, unique within one export: the image's name in the
    export without its extension, with its id appended when two images share a stem."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, export: ExportImage) -> str:
        stem = file_stem(export.file_name, export.image.pk)
        if stem in self.used:
            stem = f"{stem}_{export.image.pk}"
        self.used.add(stem)
        return stem


def checked_rle(export: ExportImage, mask: ExportMask) -> dict:
    """The mask's RLE, refused when it was made for a different image size."""
    height, width = export.size
    if [int(v) for v in mask.rle["size"]] != [height, width]:
        raise ValueError(
            f"The {mask.record} #{mask.record_id} of image {export.file_name!r} has size "
            f"{mask.rle['size']} but the image is {height}x{width}."
        )
    return mask.rle


def paint_order(masks: list[ExportMask]) -> list[ExportMask]:
    """Larger masks first, so a small object on top of a large one stays visible."""
    return sorted(masks, key=lambda m: -rle_area(m.rle))


def xml_safe(text: str) -> str:
    """`text` with each character XML cannot hold turned into U+FFFD."""
    return NOT_XML.sub("\ufffd", text)
