"""Reads: the model list, a project's model state and the model its predictions use."""

import functools
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from inference import registry
from inference.refs import LoadParams, ModelRef
from projects.models import Image, Job, Project


def model_list() -> list[dict[str, Any]]:
    return registry.get_available_model_keys()


def default_model_ref() -> ModelRef:
    key = registry.default_key()
    if key == registry.CLASSIC:
        return ModelRef(key=key)
    spec = registry.spec_for(key)
    return ModelRef(key=key, checkpoint=str(spec.path), config=spec.config)


def project_model_ref(project: Project) -> ModelRef:
    """The model the project's predictions run on: the last one loaded, else the default.
    The stored choice passes the model door again: a row from an older version that does
    not is refused, never built."""
    active = (project.model_selection or {}).get("active")
    if not active:
        return default_model_ref()
    door = (str(settings.ANNOTATOR_MODEL_DIR), tuple(map(str, settings.ANNOTATOR_MODEL_ROOTS)))
    try:
        return _stored_ref(json.dumps(active, sort_keys=True), door)
    except ValidationError as error:
        reasons = " ".join(error.messages)
        raise ValidationError(
            {"model": f"The project's stored model choice is refused ({reasons}): load a model."}
        ) from None


@functools.lru_cache(maxsize=64)
def _stored_ref(choice: str, door: tuple[str, tuple[str, ...]]) -> ModelRef:
    """A stored choice through the model door, once per choice and model folders: every
    click reads it, and the engine checks the reference again before it builds a model."""
    return ModelRef.from_dict(json.loads(choice))


def project_model_state(project: Project) -> dict[str, Any]:
    state = dict(project.model_selection or {})
    if not state.get("active"):
        ref = default_model_ref()
        state.setdefault("status", "default")
        state["active"] = ref.as_dict()
    state.setdefault("params", LoadParams().__dict__)
    return state


def active_job(project: Project, kind: str) -> Job | None:
    return project.jobs.filter(kind=kind, status__in=Job.ACTIVE).order_by("-created_at").first()


def automask_job_images(job: Job) -> QuerySet[Image]:
    """The images a pool automask job covers, in a stable order so a resume is exact."""
    images = Image.objects.filter(project_id=job.project_pk, removed_at__isnull=True)
    image_ids = job.params.get("image_ids")
    if image_ids:
        images = images.filter(pk__in=image_ids)
    return images.order_by("id")
