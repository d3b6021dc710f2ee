"""The pool panel filters by the A, P and E flags, server-side; a value it does not know
filters nothing and is never a 500."""

import pytest
from django.urls import reverse

from projects.models import Image, Source


@pytest.fixture
def flagged(team):
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="up")
    flags = [
        {"has_automask": True},
        {"has_manual_prediction": True},
        {"has_manual_edit": True},
        {"has_automask": True, "has_manual_edit": True},
        {},
    ]
    return [
        Image.objects.create(project=team.project, source=source, path=f"p{i}.png", **f)
        for i, f in enumerate(flags)
    ]


def shown(client, team, **query) -> list[str]:
    response = client.get(reverse("projects:pool", args=[team.project.pk]), query)
    assert response.status_code == 200
    return [image.path for image in response.context["page"]["images"]]


@pytest.mark.django_db
def test_each_flag_filters_with_and_without(client, team, flagged):
    client.force_login(team.annotator)
    assert shown(client, team, has_automask="true") == ["p0.png", "p3.png"]
    assert shown(client, team, has_automask="false") == ["p1.png", "p2.png", "p4.png"]
    assert shown(client, team, has_manual_prediction="true") == ["p1.png"]
    assert shown(client, team, has_manual_edit="true") == ["p2.png", "p3.png"]
    assert shown(client, team, has_automask="true", has_manual_edit="false") == ["p0.png"]
    assert shown(client, team, has_manual_edit="true", search="p3") == ["p3.png"]


@pytest.mark.django_db
def test_an_unknown_flag_value_filters_nothing(client, team, flagged):
    client.force_login(team.viewer)
    everything = [image.path for image in flagged]
    assert shown(client, team, has_automask="maybe", has_manual_edit="") == everything
    assert shown(client, team, has_manual_prediction="\x00<script>") == everything
