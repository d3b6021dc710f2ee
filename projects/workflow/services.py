"""Annotating an image: objects and their edits, undo/redo, completion, opening.

Every write that changes an image's annotations carries the image version the client saw.
The image row is locked, the version checked, the change made, the version bumped and the
status flags refreshed in one transaction; a stale version raises StaleVersion and writes
nothing.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from inference.services.predictions import embedding_prepare_enqueue
from projects import access
from projects.activity import activity_record
from projects.encoding import mask_to_rle, rle_to_mask
from projects.errors import Conflict, ImageNotReadable
from projects.events import project_group, publish
from projects.models import (
    ActivityEvent,
    AutomaskMask,
    EditHistory,
    EditStep,
    Image,
    Label,
    MaskObject,
    Prediction,
    Project,
    ReviewState,
    Role,
)
from projects.quality.services import score_submission
from projects.sources import reader
from projects.workflow import claims, submission
from projects.workflow.selectors import image_step, navigable, next_unprocessed

UNDO_DEPTH = 100


class StaleVersion(Conflict):
    """The client's image version is behind: someone else changed the image meanwhile.
    `image` is the image as it is now; the API answers with its state as `current`."""

    code = "stale_version"

    def __init__(self, image: Image, expected: int):
        self.image = image
        self.expected = expected
        super().__init__(
            f"This image was changed by someone else (now version {image.version}, you had "
            f"version {expected}). Reload it to see their changes, then re-apply yours."
        )


class UndoConflict(Conflict):
    """Undo or redo would overwrite a change made since by someone else."""

    code = "undo_conflict"


def _lock(image: Image, version: int) -> Image:
    locked = Image.objects.select_for_update().get(pk=image.pk)
    if locked.version != version:
        raise StaleVersion(locked, version)
    return locked


def _changed(image: Image, user) -> None:
    """Bump the version, stamp the edit, refresh flags and status, tell the project."""
    image.version += 1
    image.edited_at = timezone.now()
    image.refresh_status()
    image.save(
        update_fields=[
            "version",
            "edited_at",
            "has_automask",
            "has_manual_prediction",
            "has_manual_edit",
            "status",
        ]
    )
    EditHistory.touch(user=user, image=image)
    claims.claim_renew(image_id=image.pk, user_id=user.pk)
    _announce(image, user)


def _announce(image: Image, user) -> None:
    data = {
        "image_id": image.pk,
        "version": image.version,
        "status": image.status,
        "review_state": image.review_state,
        "by": user.username,
    }
    transaction.on_commit(lambda: publish(project_group(image.project_id), "image.changed", data))


def _label(image: Image, label_id: int | None) -> Label | None:
    if label_id is None:
        return None
    label = Label.objects.filter(pk=label_id, project_id=image.project_id).first()
    if label is None:
        raise ValidationError({"label_id": f"There is no label {label_id} in this project."})
    return label


def snapshot(obj: MaskObject | None) -> dict | None:
    if obj is None:
        return None
    return {
        "label_id": obj.label_id,
        "name": obj.name,
        "mask": obj.mask,
        "origin": obj.origin,
        "prediction_id": obj.prediction_id,
        "automask_id": obj.automask_id,
    }


STEP_ACTIONS: dict[str, str] = {
    EditStep.Kind.CREATE: "object.created",
    EditStep.Kind.BRUSH: "object.painted",
    EditStep.Kind.ERASER: "object.painted",
    EditStep.Kind.POLYGON: "object.painted",
    EditStep.Kind.REPLACE: "object.replaced",
    EditStep.Kind.LABEL: "object.labelled",
    EditStep.Kind.DELETE: "object.deleted",
}


def _step_activity(image: Image, user, kind: str, object_id: int, after: dict | None):
    data: dict = {"tool": kind} if STEP_ACTIONS[kind] == "object.painted" else {}
    if after is not None and kind in (EditStep.Kind.CREATE, EditStep.Kind.LABEL):
        data.update(label_id=after["label_id"], name=after["name"])
    if kind == EditStep.Kind.CREATE and after is not None:
        data["origin"] = after["origin"]
    return ActivityEvent(
        project_id=image.project_id,
        image_id=image.pk,
        object_id=object_id,
        user=user,
        action=STEP_ACTIONS[kind],
        data=data,
    )


def _record_steps(image: Image, user, steps: list[tuple[str, int, dict | None, dict | None]]):
    """Add one batch of undo steps and drop what can no longer be redone; log each step."""
    ActivityEvent.objects.bulk_create(
        _step_activity(image, user, kind, oid, after) for kind, oid, _, after in steps
    )
    EditStep.objects.filter(image=image, user=user, undone=True).delete()
    batch = uuid.uuid4()
    EditStep.objects.bulk_create(
        EditStep(
            image=image,
            user=user,
            kind=kind,
            object_id=oid,
            before=before,
            after=after,
            batch=batch,
        )
        for kind, oid, before, after in steps
    )
    stale = EditStep.objects.filter(image=image, user=user).order_by("-id")[UNDO_DEPTH:]
    EditStep.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()


@transaction.atomic
def object_create(
    *,
    image: Image,
    user,
    version: int,
    mask: np.ndarray,
    label_id: int | None = None,
    name: str = "",
    origin: str = MaskObject.Origin.MANUAL,
) -> MaskObject:
    image = _lock(image, version)
    obj = MaskObject.objects.create(
        image=image,
        label=_label(image, label_id),
        name=name,
        mask=mask_to_rle(mask),
        origin=origin,
        created_by=user,
        updated_by=user,
    )
    _record_steps(image, user, [(EditStep.Kind.CREATE, obj.pk, None, snapshot(obj))])
    _changed(image, user)
    return obj


_UNSET = object()


@transaction.atomic
def object_update(
    *,
    obj: MaskObject,
    user,
    version: int,
    kind: str,
    mask: np.ndarray | None = None,
    label_id=_UNSET,
    name: str | None = None,
) -> MaskObject:
    image = _lock(obj.image, version)
    obj = MaskObject.objects.select_for_update().get(pk=obj.pk)
    before = snapshot(obj)
    if mask is not None:
        obj.mask = mask_to_rle(mask)
    if label_id is not _UNSET:
        obj.label = _label(image, label_id)
    if name is not None:
        obj.name = name
    obj.updated_by = user
    obj.save()
    _record_steps(image, user, [(kind, obj.pk, before, snapshot(obj))])
    _changed(image, user)
    return obj


def object_paint(
    *, obj: MaskObject, user, version: int, kind: str, region: np.ndarray
) -> MaskObject:
    """Brush, polygon fill (add the region) or eraser (remove it) on the object's mask."""
    current = rle_to_mask(obj.mask)
    if region.shape != current.shape:
        raise ValidationError({"region": "The painted region does not match the image size."})
    updated = current & ~region if kind == EditStep.Kind.ERASER else current | region
    return object_update(obj=obj, user=user, version=version, kind=kind, mask=updated)


@transaction.atomic
def object_delete(*, obj: MaskObject, user, version: int) -> Image:
    image = _lock(obj.image, version)
    before = snapshot(obj)
    object_id = obj.pk
    obj.delete()
    _record_steps(image, user, [(EditStep.Kind.DELETE, object_id, before, None)])
    _changed(image, user)
    return image


@transaction.atomic
def prediction_choose(
    *,
    prediction: Prediction,
    user,
    version: int,
    index: int,
    label_id: int | None = None,
    target: MaskObject | None = None,
) -> MaskObject:
    """Keep candidate `index` of a prediction: as a new object, or as `target`'s new mask."""
    if not 0 <= index < len(prediction.masks):
        raise ValidationError(
            {"index": f"This prediction has {len(prediction.masks)} candidate masks."}
        )
    if target is not None and target.image_id != prediction.image_id:
        raise ValidationError({"object_id": "That object belongs to another image."})
    image = _lock(prediction.image, version)
    chosen = prediction.masks[index]
    Prediction.objects.filter(pk=prediction.pk).update(chosen_index=index, final_mask=chosen)
    if target is None:
        obj = MaskObject.objects.create(
            image=image,
            label=_label(image, label_id),
            mask=chosen,
            origin=MaskObject.Origin.PREDICTION,
            prediction=prediction,
            created_by=user,
            updated_by=user,
        )
        step: tuple[str, int, dict | None, dict | None] = (
            EditStep.Kind.CREATE,
            obj.pk,
            None,
            snapshot(obj),
        )
    else:
        obj = MaskObject.objects.select_for_update().get(pk=target.pk)
        before = snapshot(obj)
        obj.mask, obj.prediction, obj.updated_by = chosen, prediction, user
        if label_id is not None:
            obj.label = _label(image, label_id)
        obj.save()
        step = (EditStep.Kind.REPLACE, obj.pk, before, snapshot(obj))
    _record_steps(image, user, [step])
    _changed(image, user)
    return obj


@transaction.atomic
def prediction_keep_each(
    *, prediction: Prediction, user, version: int, label_id: int | None = None
) -> list[MaskObject]:
    """Keep every mask of a several-box prediction as its own object, undone together."""
    boxes = prediction.box
    if not (isinstance(boxes, list) and boxes and isinstance(boxes[0], list) and len(boxes) > 1):
        raise ValidationError(
            {"prediction": "This prediction's masks are alternatives of one object: keep one."}
        )
    image = _lock(prediction.image, version)
    label = _label(image, label_id)
    objects = [
        MaskObject.objects.create(
            image=image,
            label=label,
            mask=mask,
            origin=MaskObject.Origin.PREDICTION,
            prediction=prediction,
            created_by=user,
            updated_by=user,
        )
        for mask in prediction.masks
    ]
    _record_steps(image, user, [(EditStep.Kind.CREATE, o.pk, None, snapshot(o)) for o in objects])
    _changed(image, user)
    return objects


@transaction.atomic
def automask_promote(
    *, image: Image, user, version: int, masks: Iterable[AutomaskMask], label_id: int | None
) -> list[MaskObject]:
    """Turn automask results into objects, one per mask, undone together."""
    masks = list(masks)
    if not masks:
        raise ValidationError({"mask_ids": "Choose at least one automask result to promote."})
    if any(m.run.image_id != image.pk for m in masks):
        raise ValidationError({"mask_ids": "Some of those automask results are of another image."})
    image = _lock(image, version)
    label = _label(image, label_id)
    objects = [
        MaskObject.objects.create(
            image=image,
            label=label,
            mask=m.segmentation,
            origin=MaskObject.Origin.AUTOMASK,
            automask=m,
            created_by=user,
            updated_by=user,
        )
        for m in masks
    ]
    _record_steps(image, user, [(EditStep.Kind.CREATE, o.pk, None, snapshot(o)) for o in objects])
    _changed(image, user)
    return objects


def _restore(image: Image, object_id: int, state: dict | None, user) -> None:
    if state is None:
        MaskObject.objects.filter(pk=object_id, image=image).delete()
        return
    fields = {
        "label_id": state["label_id"]
        if Label.objects.filter(pk=state["label_id"]).exists()
        else None,
        "name": state["name"],
        "mask": state["mask"],
        "origin": state["origin"],
        "prediction_id": state["prediction_id"]
        if Prediction.objects.filter(pk=state["prediction_id"]).exists()
        else None,
        "automask_id": state["automask_id"]
        if AutomaskMask.objects.filter(pk=state["automask_id"]).exists()
        else None,
        "updated_by": user,
    }
    updated = MaskObject.objects.filter(pk=object_id, image=image).update(**fields)
    if not updated:
        MaskObject.objects.create(pk=object_id, image=image, created_by=user, **fields)


def _current(image: Image, object_id: int) -> dict | None:
    return snapshot(MaskObject.objects.filter(pk=object_id, image=image).first())


@transaction.atomic
def edit_undo(*, image: Image, user, version: int) -> Image:
    return _travel(image=image, user=user, version=version, undo=True)


@transaction.atomic
def edit_redo(*, image: Image, user, version: int) -> Image:
    return _travel(image=image, user=user, version=version, undo=False)


def _travel(*, image: Image, user, version: int, undo: bool) -> Image:
    image = _lock(image, version)
    mine = EditStep.objects.filter(image=image, user=user, undone=not undo)
    last = mine.order_by("-id" if undo else "id").first()
    if last is None:
        raise ValidationError({"detail": "Nothing to undo." if undo else "Nothing to redo."})
    steps = list(EditStep.objects.filter(batch=last.batch).order_by("-id" if undo else "id"))
    for step in steps:
        expected, target = (step.after, step.before) if undo else (step.before, step.after)
        if _current(image, step.object_id) != expected:
            raise UndoConflict(
                "This object was changed by someone else since; "
                f"{'undo' if undo else 'redo'} would overwrite their change."
            )
        _restore(image, step.object_id, target, user)
    EditStep.objects.filter(batch=last.batch).update(undone=undo)
    activity_record(
        project_id=image.project_id,
        user=user,
        action="edit.undone" if undo else "edit.redone",
        image_id=image.pk,
        object_id=steps[0].object_id if len(steps) == 1 else None,
        objects=[step.object_id for step in steps],
    )
    _changed(image, user)
    return image


def image_set_completed(*, image: Image, user, completed: bool) -> Image:
    """Mark the image completed (green) or not; this does not touch its annotations. With a
    review stage, completing submits the image for review and un-completing withdraws it."""
    if image.project.review_required:
        with transaction.atomic():
            if completed:
                image = submission.image_submit(image=image, user=user)
            else:
                image = submission.image_withdraw(image=image, user=user)
            _announce(image, user)
        return image
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image.pk)
        changed = image.completed != completed
        image.completed = completed
        image.refresh_status()
        image.save(update_fields=["completed", "status"])
        EditHistory.touch(user=user, image=image)
        if completed:
            claims.claim_release(image_id=image.pk, user_id=user.pk)
        else:
            claims.claim_renew(image_id=image.pk, user_id=user.pk)
        if changed:
            activity_record(
                project_id=image.project_id,
                user=user,
                action="image.completed" if completed else "image.reopened",
                image_id=image.pk,
                objects=MaskObject.objects.filter(image=image).count(),
            )
            if completed:
                score_submission(image=image, user=user)
        _announce(image, user)
    return image


def next_unprocessed_for(*, project: Project, user, current_id: int | None) -> Image | None:
    """ "Next unprocessed" for a person: for someone who edits, the next image of their
    queue that nobody else holds, claimed for them; for a viewer, the next one in the pool."""
    role = access.role_in_project(user, project.pk)
    if role not in claims.CLAIMING_ROLES:
        return next_unprocessed(project=project, current_id=current_id)
    images = navigable(project.pk).exclude(review_state=ReviewState.SUBMITTED)
    returned = submission.rejected_for(
        images, project_id=project.pk, user=user, current_id=current_id
    )
    if returned is not None:
        return returned
    return claims.next_for(
        project=project,
        user=user,
        images=images,
        current_id=current_id,
        is_owner=role == Role.OWNER,
    )


def image_complete_and_next(*, image: Image, user) -> tuple[Image, Image | None]:
    """Mark the image completed, release it and claim the next one of the user's queue."""
    project = image.project
    image = image_set_completed(image=image, user=user, completed=True)
    following = next_unprocessed_for(project=project, user=user, current_id=image.pk)
    return image, following


@dataclass(frozen=True)
class OpenedImage:
    image: Image
    held_by: str | None  # the username of someone else holding the image, if anyone does


def image_open(*, image: Image, user) -> OpenedImage:
    """Make `image` the user's active image: check its bytes (recording its size and key,
    without decoding a large photo in full) and have the model prepare its embedding and the
    one of the image likely to come next. Someone who edits claims the image if it is free
    (or renews their lease on it), releasing the image they had open before."""
    try:
        reader.check_and_remember(image, reader.read_or_flag(image))
    except (reader.ImageUnavailable, reader.ImageInvalid) as error:
        raise ImageNotReadable(f"The image cannot be read: {error}") from None
    with transaction.atomic():
        Image.objects.filter(pk=image.pk).update(opened_at=timezone.now())
        activity_record(
            project_id=image.project_id, user=user, action="image.opened", image_id=image.pk
        )
    image.refresh_from_db()
    if claims.can_claim(user, image.project_id):
        claims.claim_take(image=image, user=user)
    following = next_unprocessed(project=image.project, current_id=image.pk) or image_step(
        project=image.project, current_id=image.pk, direction="next"
    )
    ids = [image.pk] + ([following.pk] if following else [])
    transaction.on_commit(lambda: embedding_prepare_enqueue(ids))
    return OpenedImage(image=image, held_by=claims.held_by(image, user))
