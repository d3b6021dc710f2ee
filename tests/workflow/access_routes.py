import numpy as np

from projects.encoding import mask_to_rle
from tests.access import Route


def square() -> dict:
    mask = np.zeros((48, 64), dtype=bool)
    mask[1:5, 1:5] = True
    return mask_to_rle(mask)


IMG = lambda s: {"image_id": s.image.pk}  # noqa: E731
P = lambda s: {"project_id": s.team.project.pk}  # noqa: E731
OBJ = lambda s: {"object_id": s.mask_object.pk}  # noqa: E731
V = lambda s: {"version": s.image.version}  # noqa: E731

ROUTES = [
    Route("api:image-open", "post", "view", kwargs=IMG),
    Route("api:image-records", "get", "view", kwargs=IMG),
    Route(
        "api:object-create", "post", "edit", kwargs=IMG, data=lambda s: {**V(s), "mask": square()}
    ),
    Route(
        "api:object",
        "patch",
        "edit",
        kwargs=OBJ,
        data=lambda s: {**V(s), "op": "label", "name": "n"},
    ),
    Route("api:object", "delete", "edit", kwargs=OBJ, data=V),
    Route(
        "api:prediction-choose",
        "post",
        "edit",
        kwargs=lambda s: {"prediction_id": s.prediction.pk},
        data=lambda s: {**V(s), "index": 0},
    ),
    Route(
        "api:prediction-keep-each",
        "post",
        "edit",
        kwargs=lambda s: {"prediction_id": s.prediction.pk},
        data=V,
        ok=(400,),  # past the access check: the fixture's prediction is one point, not boxes
    ),
    Route(
        "api:promote",
        "post",
        "edit",
        kwargs=IMG,
        data=lambda s: {**V(s), "run_id": s.automask_run.pk},
    ),
    Route("api:undo", "post", "edit", kwargs=IMG, data=V, ok=(400,)),
    Route("api:redo", "post", "edit", kwargs=IMG, data=V, ok=(400,)),
    Route("api:complete", "post", "edit", kwargs=IMG, data=lambda s: {"completed": True}),
    Route("api:complete-and-next", "post", "edit", kwargs=IMG),
    Route("api:navigate", "get", "view", kwargs=P),
    Route("api:history", "get", "view", kwargs=P),
    Route("api:overview", "get", "view", kwargs=P),
    Route(
        "api:assignments",
        "post",
        "own",
        kwargs=P,
        data=lambda s: {"image_ids": [s.image.pk], "user": s.team.annotator.username},
    ),
    Route(
        "api:assignments",
        "delete",
        "own",
        kwargs=P,
        data=lambda s: {"user": s.team.annotator.username},
    ),
]
