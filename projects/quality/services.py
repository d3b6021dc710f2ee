"""Ground truth and the quality of annotators' work against it.

An owner marks a completed (with a review stage: accepted) image as ground truth: its objects
are copied into GroundTruthObject rows, the reference. As a honeypot, the image's live work is
then cleared and it goes back into the pool as ordinary work; nothing that annotators or
reviewers receive says which images these are.

When someone completes (or submits) a ground-truth image, `score_submission` compares their
objects with the reference in that transaction: for each reference object the best IoU of any
of their objects; the mean of those is the score. A reference object whose best IoU is under
MATCH_IOU is missed; one of their objects that reaches MATCH_IOU with no reference object is
extra. Labels are not compared: the score measures the masks.
"""

from collections.abc import Sequence

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from pycocotools import mask as mask_utils

from projects.activity import activity_record
from projects.events import project_group, publish
from projects.models import (
    AutomaskRun,
    EditHistory,
    EditStep,
    GroundTruthObject,
    Image,
    ImageClaim,
    MaskObject,
    Prediction,
    Project,
    QualityScore,
    ReviewState,
)

MATCH_IOU = 0.5


def _coded(rle: dict) -> dict:
    counts = rle["counts"]
    return {
        "size": [int(v) for v in rle["size"]],
        "counts": counts.encode() if isinstance(counts, str) else counts,
    }


def iou_matrix(made: Sequence[dict], reference: Sequence[dict]) -> np.ndarray:
    """IoU of every made mask (rows) with every reference mask (columns)."""
    if not made or not reference:
        return np.zeros((len(made), len(reference)))
    found = mask_utils.iou(
        [_coded(r) for r in made], [_coded(r) for r in reference], [0] * len(reference)
    )
    return np.asarray(found, dtype=float).reshape(len(made), len(reference))


def score_masks(made: Sequence[dict], reference: Sequence[dict]) -> dict:
    """mean_iou, matched, missed and extra of `made` against `reference` (COCO RLEs)."""
    ious = iou_matrix(made, reference)
    if not reference:
        return {"mean_iou": 0.0 if made else 1.0, "matched": 0, "missed": 0, "extra": len(made)}
    best_per_reference = ious.max(axis=0) if made else np.zeros(len(reference))
    matched = int((best_per_reference >= MATCH_IOU).sum())
    extra = int((ious.max(axis=1) < MATCH_IOU).sum()) if made else 0
    return {
        "mean_iou": float(best_per_reference.mean()),
        "matched": matched,
        "missed": len(reference) - matched,
        "extra": extra,
    }


def score_submission(*, image: Image, user) -> QualityScore | None:
    """Score the image's objects, as `user` completes or submits it, against its ground
    truth; one score per (image, user), replaced on a later submission. None where the image
    is not ground truth. Call it inside the transaction of the completion."""
    if not Image.objects.filter(pk=image.pk, ground_truth=True).exists():
        return None
    reference = list(
        GroundTruthObject.objects.filter(image_id=image.pk).values_list("mask", flat=True)
    )
    made = list(MaskObject.objects.filter(image_id=image.pk).values_list("mask", flat=True))
    numbers = score_masks(made, reference)
    score, _ = QualityScore.objects.update_or_create(
        image_id=image.pk,
        user=user,
        defaults={"project_id": image.project_id, **numbers},
    )
    activity_record(
        project_id=image.project_id,
        user=user,
        action="quality.scored",
        image_id=image.pk,
        **numbers,
    )
    return score


def _reference_ready(image: Image, project: Project) -> str | None:
    """Why the image's objects cannot be the reference yet, or None."""
    if project.review_required:
        if image.review_state != ReviewState.ACCEPTED:
            return f"{image.display_name} has not been accepted yet: accept it first."
    elif not image.completed:
        return f"{image.display_name} is not completed yet: complete it first."
    return None


def _clear_live_work(image: Image) -> None:
    """A honeypot starts again from nothing: its objects, records, undo steps, claims and
    submission go; the reference keeps the masks."""
    MaskObject.objects.filter(image=image).delete()
    Prediction.objects.filter(image=image).delete()
    AutomaskRun.objects.filter(image=image).delete()
    EditStep.objects.filter(image=image).delete()
    EditHistory.objects.filter(image=image).delete()
    ImageClaim.objects.filter(image=image).delete()
    image.completed = False
    image.review_state = ReviewState.NONE
    image.submitted_by = None
    image.submitted_at = None
    image.version += 1
    image.refresh_status()


_IMAGE_FIELDS = [
    "ground_truth",
    "honeypot",
    "completed",
    "review_state",
    "submitted_by",
    "submitted_at",
    "version",
    "status",
    "has_automask",
    "has_manual_prediction",
    "has_manual_edit",
]


def _announce(images: list[Image], user) -> None:
    """The pool sees a honeypot's reset as any other change of status."""
    changes = [
        {"image_id": i.pk, "version": i.version, "status": i.status, "by": user.username}
        for i in images
    ]

    def send() -> None:
        for change in changes:
            publish(project_group(images[0].project_id), "image.changed", change)

    transaction.on_commit(send)


@transaction.atomic
def ground_truth_mark(
    *, project: Project, user, image_ids: Sequence[int], honeypot: bool
) -> list[Image]:
    """Make the images' current objects their reference. All or nothing: any image that is
    not completed (accepted) refuses the whole request, naming it."""
    ids = sorted(set(image_ids))
    images = list(Image.objects.select_for_update().filter(project=project, pk__in=ids))
    found = {i.pk for i in images}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"image_ids": f"Not images of this project: {missing[:10]}."})
    refusals = [why for i in images if (why := _reference_ready(i, project))]
    if refusals:
        more = f" (and {len(refusals) - 3} more)" if len(refusals) > 3 else ""
        raise ValidationError({"image_ids": " ".join(refusals[:3]) + more})
    for image in images:
        objects = list(MaskObject.objects.filter(image=image).order_by("id"))
        GroundTruthObject.objects.filter(image=image).delete()
        GroundTruthObject.objects.bulk_create(
            GroundTruthObject(image=image, label_id=o.label_id, mask=o.mask, created_by=user)
            for o in objects
        )
        image.ground_truth, image.honeypot = True, honeypot
        if honeypot:
            _clear_live_work(image)
        image.save(update_fields=_IMAGE_FIELDS)
        activity_record(
            project_id=project.pk,
            user=user,
            action="ground_truth.set",
            image_id=image.pk,
            objects=len(objects),
            honeypot=honeypot,
        )
    if honeypot:
        _announce(images, user)
    return images


@transaction.atomic
def ground_truth_unmark(*, project: Project, user, image_ids: Sequence[int]) -> int:
    """The images are ordinary images again: their reference and their scores go. A
    honeypot keeps whatever work was done on it since."""
    images = list(
        Image.objects.select_for_update().filter(
            project=project, pk__in=list(image_ids), ground_truth=True
        )
    )
    for image in images:
        GroundTruthObject.objects.filter(image=image).delete()
        scores, _ = QualityScore.objects.filter(image=image).delete()
        image.ground_truth = image.honeypot = False
        image.save(update_fields=["ground_truth", "honeypot"])
        activity_record(
            project_id=project.pk,
            user=user,
            action="ground_truth.cleared",
            image_id=image.pk,
            scores_dropped=scores,
        )
    return len(images)
