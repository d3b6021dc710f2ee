"""Read a dataset with datumaro and write every instance mask it finds to an .npz file, named
`<item id>|<n>|<label name>`. Run with the readers' interpreter (.venv-readers), which has
datumaro and not the app: `python datumaro_read.py <format> <dataset folder> <out.npz>`."""

import sys

import numpy as np
from datumaro.components.annotation import AnnotationType, Mask
from datumaro.components.dataset import Dataset


def main(format_name: str, folder: str, out: str) -> None:
    dataset = Dataset.import_from(folder, format_name)
    dataset.transform("polygons_to_masks")
    names = [label.name for label in dataset.categories()[AnnotationType.label]]
    arrays = {}
    for item in dataset:
        # A COCO annotation of several polygons comes as one mask per polygon, all with the
        # annotation's id: they are one instance again.
        instances: dict[tuple, np.ndarray] = {}
        for n, mask in enumerate(a for a in item.annotations if isinstance(a, Mask)):
            key = (mask.id or f"n{n}", mask.label)
            pixels = np.asarray(mask.image, dtype=bool)
            instances[key] = instances[key] | pixels if key in instances else pixels
        for n, ((_, label), pixels) in enumerate(instances.items()):
            name = names[label] if label is not None else ""
            arrays[f"{item.id}|{n}|{name}"] = pixels.astype(np.uint8)
        arrays.setdefault(f"{item.id}|items|", np.zeros(0, np.uint8))
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
