from pathlib import Path

import numpy as np
from django.conf import settings
from PIL import Image as PILImage

from projects.models import Job
from tests.access import Route

P = lambda s: {"project_id": s.team.project.pk}  # noqa: E731
IMAGE = lambda s: {"image_id": s.image.pk}  # noqa: E731
JOB = lambda s: {"job_id": s.job.pk}  # noqa: E731


def _click(scene) -> dict:
    """A click on the scene's image, whose file is written first so a prediction can run."""
    path = Path(settings.ANNOTATOR_UPLOAD_DIR) / scene.image.path
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.full((48, 64, 3), 200, np.uint8)).save(path)
    return {"point_coords": [[10, 10]], "point_labels": [1]}


def _sam2_project(scene) -> dict:
    """The project on a SAM2 model (the classic backend has no embeddings to prepare)."""
    project = scene.team.project
    project.model_selection = {"active": {"key": "sam2.1_hiera_tiny"}, "status": "loaded"}
    project.save(update_fields=["model_selection"])
    return {}


def _stopped_preparation(scene) -> dict:
    job = Job.objects.create(
        project=scene.team.project,
        kind=Job.Kind.PREPARE_EMBEDDINGS,
        status=Job.Status.CANCELLED,
        total=1,
    )
    return {"job_id": job.pk}


ROUTES = [
    Route("inference:models", "get", "login"),
    Route("inference:model-state", "get", "view", kwargs=P),
    Route("inference:model-load", "post", "edit", kwargs=P, data=lambda s: {"key": "classic"}),
    Route("inference:model-load-cancel", "post", "edit", kwargs=P),
    Route(
        "inference:model-download",
        "post",
        "own",
        kwargs=P,
        data=lambda s: {"key": "sam2.1_hiera_tiny"},
    ),
    Route("inference:model-download-cancel", "post", "own", kwargs=P, data=lambda s: {}),
    Route("inference:predict", "post", "edit", kwargs=IMAGE, data=_click),
    # The scene's project runs the classic model: a member is told (409) there is no decoder.
    Route("inference:decoder-model", "get", "view", kwargs=P, ok=(200, 409)),
    Route("inference:image-features", "get", "edit", kwargs=IMAGE, ok=(200, 202, 409)),
    Route("inference:automask-image", "post", "edit", kwargs=IMAGE, data=lambda s: {}),
    Route("inference:automask", "post", "edit", kwargs=P, data=lambda s: {}),
    Route("inference:automask-cancel", "post", "edit", kwargs=JOB),
    Route("inference:automask-resume", "post", "edit", kwargs=JOB),
    Route("inference:embeddings", "post", "edit", kwargs=P, data=_sam2_project),
    Route("inference:embeddings-resume", "post", "edit", kwargs=_stopped_preparation),
]
