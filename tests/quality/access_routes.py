from tests.access import Route


def _project(scene) -> dict:
    return {"project_id": scene.team.project.pk}


def _completed(scene) -> dict:
    image = scene.image
    image.completed = True
    image.save(update_fields=["completed"])
    return _project(scene)


# The activity log is read by the people who work on the project ("comment": owner,
# annotator, reviewer); an annotator reads only their own events.
ROUTES = [
    Route("projects:dashboard", "get", "review", kwargs=_project, page=True, ok=(200,)),
    Route("api:project-activity", "get", "comment", kwargs=_project, ok=(200,)),
    Route("api:project-activity-csv", "get", "own", kwargs=_project, ok=(200,)),
    Route("api:image-activity", "get", "comment", kwargs=lambda s: {"image_id": s.image.pk}),
    Route("api:dashboard", "get", "review", kwargs=_project, ok=(200,)),
    Route("api:ground-truth", "get", "own", kwargs=_project, ok=(200,)),
    Route(
        "api:ground-truth",
        "post",
        "own",
        kwargs=_completed,
        data=lambda s: {"images": [s.image.pk], "honeypot": False},
        ok=(200,),
    ),
    Route(
        "api:ground-truth-remove",
        "post",
        "own",
        kwargs=_project,
        data=lambda s: {"images": [s.image.pk]},
        ok=(200,),
    ),
]
