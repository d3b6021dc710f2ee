import io

import pytest
from django.contrib.auth import get_user_model

from projects import services
from projects.models import Membership, Project, Role
from projects.sources import reader

pytestmark = pytest.mark.django_db


def test_the_first_admin_is_created_once_with_a_printed_password(settings):
    settings.ANNOTATOR_ADMIN_PASSWORD = ""
    out = io.StringIO()
    services.admin_ensure(stdout=out)
    printed = out.getvalue()
    password = printed.split("password ")[1].split(".")[0]
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password)

    again = io.StringIO()
    services.admin_ensure(stdout=again)
    assert again.getvalue() == ""
    assert get_user_model().objects.count() == 1


def test_the_admin_password_can_come_from_the_environment(settings):
    settings.ANNOTATOR_ADMIN_PASSWORD = "from-env-secret"
    out = io.StringIO()
    services.admin_ensure(stdout=out)
    assert "from-env-secret" not in out.getvalue()
    assert get_user_model().objects.get(username="admin").check_password("from-env-secret")


def test_the_demo_project_holds_real_readable_photographs(make_user):
    owner = make_user("root", is_superuser=True)
    project = services.demo_project_create(owner=owner)
    assert Membership.objects.get(project=project, user=owner).role == Role.OWNER
    images = list(project.images.all())
    assert len(images) >= 3
    for image in images:
        decoded = reader.load(image)
        assert decoded.rgb.shape == (image.height, image.width, 3)
        assert decoded.key == image.key
        assert decoded.rgb.std() > 10  # a photograph, not a blank
    assert services.demo_project_create(owner=owner) is None
    assert Project.objects.filter(name="Demo").count() == 1
