"""Reads the app writes its own SQL for, against the production database (PostgreSQL)."""

import subprocess
import sys

from tests.deploy.helpers import project_with_pool
from tests.deploy.stack import ROOT

COMPARE = """
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404
from projects import access
from projects.models import Image, Membership, Role

def fields(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}

images = Image.objects.filter(project_id=PROJECT_ID).select_related("project", "source")
member = Membership.objects.filter(project_id=PROJECT_ID, role=Role.OWNER).first().user
outsider = get_user_model().objects.create_user("pg-outsider-PROJECT_ID")
viewer = get_user_model().objects.create_user("pg-viewer-PROJECT_ID")
Membership.objects.create(project_id=PROJECT_ID, user=viewer, role=Role.VIEWER)
for expected in images:
    found = access.image_for_user(member, expected.pk, need="own")
    assert fields(found) == fields(expected), (fields(found), fields(expected))
    assert fields(found.project) == fields(expected.project)
    assert fields(found.source) == fields(expected.source)
    assert isinstance(found.project.model_selection, dict) and found.project.model_selection
    assert found.added_at.tzinfo is not None
    assert access.image_for_user(viewer, expected.pk).pk == expected.pk
    for user, need, error in [(viewer, "edit", PermissionDenied), (outsider, "view", Http404)]:
        try:
            access.image_for_user(user, expected.pk, need=need)
        except error:
            pass
        else:
            raise AssertionError(f"{user} could {need} image {expected.pk}")
print("compared", images.count())
"""


def test_the_image_access_read_equals_the_orm_read_on_postgresql(stack):
    _, project_id, image_ids = project_with_pool(stack, "PostgreSQL reads")
    script = COMPARE.replace("PROJECT_ID", str(project_id))
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"compared {len(image_ids)}" in result.stdout, result.stdout + result.stderr
