"""Every URL pattern against every role: owner, annotator, viewer, outsider, anonymous."""

import importlib
import pkgutil

import numpy as np
import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

import tests
from projects.encoding import mask_to_rle
from projects.models import AutomaskMask, AutomaskRun, Job, MaskObject, Prediction
from tests.access import ALLOWED, ROLES, Route, Scene

EXCLUDED_NAMESPACES = {"admin"}


def _all_routes() -> list[Route]:
    routes = []
    for module in pkgutil.iter_modules(tests.__path__):
        try:
            found = importlib.import_module(f"tests.{module.name}.access_routes")
        except ModuleNotFoundError:
            continue
        routes.extend(found.ROUTES)
    return routes


def _url_names(patterns, prefix="") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in EXCLUDED_NAMESPACES:
                continue
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= _url_names(pattern.url_patterns, namespace)
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"URL pattern {pattern.pattern} has no name"
            names.add(prefix + pattern.name)
    return names


ROUTES = _all_routes()


def test_every_url_pattern_is_in_the_access_matrix():
    missing = _url_names(get_resolver().url_patterns) - {route.name for route in ROUTES}
    assert not missing, f"add these URL names to a tests/<app>/access_routes.py: {missing}"


@pytest.fixture
def scene(team, pool) -> Scene:
    source, images = pool
    image = images[0]
    mask = np.zeros((48, 64), dtype=bool)
    mask[10:20, 10:30] = True
    job = Job.objects.create(project=team.project, kind=Job.Kind.AUTOMASK_POOL, total=3)
    prediction = Prediction.objects.create(
        image=image, point_coords=[[15, 15]], point_labels=[1], masks=[mask_to_rle(mask)]
    )
    run = AutomaskRun.objects.create(image=image, job=job)
    AutomaskMask.objects.create(
        run=run,
        segmentation=mask_to_rle(mask),
        area=200,
        bbox=[10, 10, 20, 10],
        predicted_iou=0.9,
        stability_score=0.95,
    )
    obj = MaskObject.objects.create(
        image=image, mask=mask_to_rle(mask), label=team.project.labels.first()
    )
    return Scene(
        team=team,
        source=source,
        image=image,
        label=team.project.labels.first(),
        job=job,
        prediction=prediction,
        automask_run=run,
        mask_object=obj,
    )


def _expected(route: Route, role: str) -> str:
    if route.need == "public":
        return "ok"
    if role == "anonymous":
        return "login"
    if route.need == "login":
        return "ok"
    if role == "outsider":
        return "not_found"
    return "ok" if role in ALLOWED[route.need] else "forbidden"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_access_matrix(route: Route, role: str, scene, client):
    user = scene.team.user(role)
    if user is not None:
        client.force_login(user)
    url = reverse(route.name, kwargs=route.kwargs(scene))
    data = route.data(scene) if route.data else None
    if route.data_format == "json" and data is not None:
        response = getattr(client, route.method)(url, data, content_type="application/json")
    elif data is not None:
        response = getattr(client, route.method)(url, data)
    else:
        response = getattr(client, route.method)(url)

    expected = _expected(route, role)
    status = response.status_code
    if expected == "ok":
        assert status in route.ok, f"{route} as {role}: {status} {response.content[:300]!r}"
    elif expected == "login":
        if route.page:
            assert status == 302 and reverse("login") in response["Location"], status
        else:
            assert status == 401, f"{route} as anonymous: {status}"
    elif expected == "not_found":
        assert status == 404, f"{route} as outsider: {status}"
    else:
        assert status == 403, f"{route} as {role}: {status}"
    if status >= 400 and not route.page and "json" in response.get("Content-Type", ""):
        assert response.json()["error"]["message"]


def test_admin_site_needs_staff(team, client):
    client.force_login(team.owner)
    response = client.get("/admin/projects/project/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
