import numpy as np
import pytest

from projects.models import Image
from projects.review import services as review
from projects.workflow import services as workflow


def rect(x0, y0, x1, y1, *, width=64, height=48) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


class Work:
    """Annotation work done through the services, as the API does it."""

    def draw(self, image: Image, user, *masks: np.ndarray) -> list[int]:
        made = []
        for mask in masks:
            version = Image.objects.get(pk=image.pk).version
            obj = workflow.object_create(image=image, user=user, version=version, mask=mask)
            made.append(obj.pk)
        return made

    def complete(self, image: Image, user, completed: bool = True) -> Image:
        image = Image.objects.select_related("project").get(pk=image.pk)
        return workflow.image_set_completed(image=image, user=user, completed=completed)

    def accept(self, image: Image, user):
        return review.image_accept(image=Image.objects.get(pk=image.pk), user=user)

    def reject(self, image: Image, user, comment: str = "The edge is off."):
        return review.image_reject(image=Image.objects.get(pk=image.pk), user=user, comment=comment)


@pytest.fixture
def work() -> Work:
    return Work()


@pytest.fixture
def second_annotator(team, make_user):
    from projects import services
    from projects.models import Role

    bob = make_user("bob")
    services.member_set(project=team.project, user=bob, role=Role.ANNOTATOR)
    return bob
