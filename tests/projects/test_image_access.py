"""image_for_user: the access check every click runs, read by its own SQL."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from projects import access
from projects.models import Image, Project, Source


def _fields(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


@pytest.fixture
def image(pool):
    image = pool[1][0]
    now = timezone.now()
    Image.objects.filter(pk=image.pk).update(
        key="a" * 64, completed=True, checked_at=now, size=123456789012, etag='"x"'
    )
    Project.objects.filter(pk=image.project_id).update(
        model_selection={"active": {"key": "tiny", "params": {"device": "cpu"}}, "n": [1, 2.5]}
    )
    Source.objects.filter(pk=image.source_id).update(location={"path": "/data", "deep": True})
    return image


def test_the_image_its_project_and_source_equal_what_the_orm_reads(team, image):
    expected = Image.objects.select_related("project", "source").get(pk=image.pk)

    found = access.image_for_user(team.annotator, image.pk, need="edit")

    assert _fields(found) == _fields(expected)
    assert _fields(found.project) == _fields(expected.project)
    assert _fields(found.source) == _fields(expected.source)
    assert found.checked_at.tzinfo is not None
    assert isinstance(found.completed, bool) and found.completed is True
    assert found.project.model_selection["active"]["params"] == {"device": "cpu"}
    # The related objects come with the image: reading them costs no query.
    assert found._state.adding is False and found._state.db == "default"


def test_reading_the_image_and_its_relations_is_one_query(team, image, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = access.image_for_user(team.viewer, image.pk)
        assert found.project.name == team.project.name
        assert found.source.name == "uploads"


def test_a_saved_image_keeps_what_it_read(team, image):
    found = access.image_for_user(team.owner, image.pk, need="edit")
    found.has_manual_prediction = True
    found.save(update_fields=["has_manual_prediction"])

    stored = Image.objects.get(pk=image.pk)
    assert stored.has_manual_prediction is True
    assert stored.key == "a" * 64 and stored.size == 123456789012


@pytest.mark.parametrize(
    ("who", "need", "outcome"),
    [
        ("owner", "own", None),
        ("annotator", "edit", None),
        ("annotator", "own", PermissionDenied),
        ("viewer", "view", None),
        ("viewer", "edit", PermissionDenied),
        ("outsider", "view", Http404),
        ("anonymous", "view", Http404),
        ("superuser", "own", None),
    ],
)
def test_roles(team, image, make_user, who, need, outcome):
    user = {
        "anonymous": AnonymousUser(),
        "superuser": make_user("root", is_superuser=True) if who == "superuser" else None,
    }.get(who) or getattr(team, who)
    if outcome is None:
        assert access.image_for_user(user, image.pk, need=need).pk == image.pk
    else:
        with pytest.raises(outcome):
            access.image_for_user(user, image.pk, need=need)


def test_an_image_of_another_project_is_not_found_for_its_outsiders(team, image):
    with pytest.raises(Http404, match="No such image"):
        access.image_for_user(team.outsider, image.pk)


@pytest.mark.parametrize("bad", [None, "abc", "", 1.5, 10**30, -(10**30), [1], 987654])
def test_malformed_or_unknown_ids_are_not_found(team, image, bad):
    with pytest.raises(Http404, match="No such image"):
        access.image_for_user(team.owner, bad)


def test_a_numeric_string_id_is_read_like_the_orm_reads_it(team, image):
    assert access.image_for_user(team.owner, str(image.pk)).pk == image.pk
