from tests.access import Route

P = lambda s: {"project_id": s.team.project.pk}  # noqa: E731

ROUTES = [
    Route("login", "get", "public", page=True),
    Route("logout", "post", "public", page=True),
    Route("health", "get", "public"),
    Route("projects:list", "get", "login", page=True),
    Route(
        "projects:list",
        "post",
        "login",
        data=lambda s: {"name": "New"},
        data_format="multipart",
        page=True,
    ),
    Route("projects:detail", "get", "view", kwargs=P, page=True),
    Route(
        "api:api-token",
        "post",
        "public",
        data=lambda s: {"username": "olive", "password": "pw-olive"},
    ),
    Route("api:api-schema", "get", "login"),
    Route("api:api-docs", "get", "login"),
    Route("api:api-projects", "get", "login"),
    Route("api:api-projects", "post", "login", data=lambda s: {"name": "Fresh"}),
    Route("api:api-project", "get", "view", kwargs=P),
    Route("api:api-project", "patch", "own", kwargs=P, data=lambda s: {"description": "d"}),
    Route("api:api-project", "delete", "own", kwargs=P),
    Route("api:api-state", "get", "view", kwargs=P),
    Route(
        "api:api-state", "patch", "edit", kwargs=P, data=lambda s: {"ui_settings": {"opacity": 0.4}}
    ),
    Route("api:api-members", "get", "view", kwargs=P),
    Route(
        "api:api-members",
        "post",
        "own",
        kwargs=P,
        data=lambda s: {"username": "oscar", "role": "viewer"},
    ),
    Route(
        "api:api-member",
        "patch",
        "own",
        kwargs=lambda s: {"project_id": s.team.project.pk, "user_id": s.team.viewer.pk},
        data=lambda s: {"role": "annotator"},
    ),
    Route(
        "api:api-member",
        "delete",
        "own",
        kwargs=lambda s: {"project_id": s.team.project.pk, "user_id": s.team.viewer.pk},
    ),
    Route("api:api-labels", "get", "view", kwargs=P),
    Route(
        "api:api-labels",
        "post",
        "edit",
        kwargs=P,
        data=lambda s: {"name": "cell", "color": "#00ff00"},
    ),
    Route(
        "api:api-label",
        "patch",
        "edit",
        kwargs=lambda s: {"label_id": s.label.pk},
        data=lambda s: {"color": "#0000ff"},
    ),
    Route("api:api-label", "delete", "edit", kwargs=lambda s: {"label_id": s.label.pk}),
    Route("api:api-images", "get", "view", kwargs=P),
    Route("api:api-image", "get", "view", kwargs=lambda s: {"image_id": s.image.pk}),
    Route("api:api-job", "get", "view", kwargs=lambda s: {"job_id": s.job.pk}),
    Route("api:api-job-cancel", "post", "edit", kwargs=lambda s: {"job_id": s.job.pk}),
]
