import json

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.access import Route

P = lambda s: {"project_id": s.team.project.pk}  # noqa: E731


def coco_upload(scene) -> dict:
    image = scene.image
    document = {
        "images": [{"id": 1, "file_name": image.display_name, "width": 64, "height": 48}],
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]}
        ],
    }
    return {
        "file": SimpleUploadedFile("cells.json", json.dumps(document).encode()),
        "format": "coco",
    }


ROUTES = [
    Route(
        "api:import-start",
        "post",
        "edit",
        kwargs=P,
        data=coco_upload,
        data_format="multipart",
    ),
]
