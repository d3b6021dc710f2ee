"""Schemathesis against the app's own OpenAPI document: every operation, as the owner of a
project with images, fails on any 5xx and on an answer the document does not describe (status
code, content type, body).

Each operation is its own test, so the document is read when the tests are collected, from
the generator /api/schema/ runs (test_the_fuzzed_document_is_the_served_one holds them equal).
Requests go through Django's WSGI handler inside the test's transaction, each in a savepoint
rolled back after it: a case that deletes the project does not take it from the next one.
Jobs are enqueued on commit, which never comes, so nothing downloads or loads a model.
"""

import json
import socket
from pathlib import Path

import hypothesis
import numpy as np
import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from projects.encoding import mask_to_rle
from projects.models import AutomaskMask, AutomaskRun, Job, MaskObject, Prediction

SEED = 20251201
# Fuzzed cases per operation, besides the coverage phase's boundary and negative cases.
EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def served_document() -> dict:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


schema = schemathesis.openapi.from_dict(
    served_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        }
    ),
)


@pytest.fixture
def wsgi_app():
    # As Django's test client does: the test's transaction stays open between requests.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def no_lookups(monkeypatch):
    """Host names the cases send (URL sources) resolve to nothing, as on a machine without
    DNS: no lookup leaves the machine. A stand-in, since no real resolver may be asked."""
    resolve = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if host in ("localhost", "127.0.0.1", "::1"):
            return resolve(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@pytest.fixture
def scene(team, pool, settings, no_lookups):
    """The owner's token and one object of each kind the routes name, by path parameter."""
    settings.ANNOTATOR_MODEL_BASE_URL = "http://127.0.0.1:9/"
    source, images = pool
    image = images[0]
    mask = np.zeros((48, 64), dtype=bool)
    mask[10:20, 10:30] = True
    rle = mask_to_rle(mask)
    job = Job.objects.create(project=team.project, kind=Job.Kind.AUTOMASK_POOL, total=3)
    prediction = Prediction.objects.create(
        image=image, point_coords=[[15, 15]], point_labels=[1], masks=[rle]
    )
    run = AutomaskRun.objects.create(image=image, job=job)
    AutomaskMask.objects.create(
        run=run,
        segmentation=rle,
        area=200,
        bbox=[10, 10, 20, 10],
        predicted_iou=0.9,
        stability_score=0.95,
    )
    label = team.project.labels.first()
    obj = MaskObject.objects.create(image=image, mask=rle, label=label)
    ids = {
        "project_id": team.project.pk,
        "user_id": team.annotator.pk,
        "label_id": label.pk,
        "source_id": source.pk,
        "image_id": image.pk,
        "job_id": job.pk,
        "object_id": obj.pk,
        "prediction_id": prediction.pk,
    }
    token = Token.objects.create(user=team.owner)
    yield {"Authorization": f"Token {token.key}"}, ids, export_job(team.project, settings)
    # Failed sign-ins of the token route's cases are counted in the cache.
    cache.clear()


def export_job(project, settings) -> Job:
    job = Job.objects.create(project=project, kind=Job.Kind.EXPORT, status=Job.Status.DONE)
    relative = f"exports/{project.pk}/{job.pk}.json"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("{}")
    job.result = {"file": relative, "filename": "cells.json", "content_type": "application/json"}
    job.save()
    return job


def aim_at_the_scene(case, ids: dict, export: Job) -> None:
    """A generated id names no object, so the case would end at the 404: it names the
    scene's object instead, unless the case was made to try that path parameter (a boundary
    or a wrong type), which then keeps what was generated."""
    path = case.meta.components.get(ParameterLocation.PATH)
    if path is not None and path.mode == GenerationMode.NEGATIVE:
        return
    tried = None
    if case.meta.phase.name == TestPhase.COVERAGE:
        data = case.meta.phase.data
        if data.parameter_location == ParameterLocation.PATH:
            tried = data.parameter
    scene = {**ids, "job_id": export.pk} if case.path.startswith("/api/exports/") else ids
    for name in case.path_parameters or {}:
        if name in scene and name != tried:
            case.path_parameters[name] = scene[name]


@schema.parametrize()
# Each case runs in a savepoint rolled back after it: every case meets the scene as made.
@hypothesis.settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_its_schema_says(case, scene, wsgi_app):
    headers, ids, export = scene
    aim_at_the_scene(case, ids, export)
    with transaction.atomic():
        response = case.call(app=wsgi_app, headers=headers)
        transaction.set_rollback(True)
    case.validate_response(response, checks=CHECKS)


def test_the_fuzzed_document_is_the_served_one(team, api_client):
    served = api_client(team.owner).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert served.status_code == 200
    assert json.loads(served.content) == served_document()
