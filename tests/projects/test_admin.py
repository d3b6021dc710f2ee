"""The admin hides sources and images as the app does, and deletes a project only once its
name has been typed."""

import pytest
from django.urls import reverse

from projects.models import Image, MaskObject, Project, Source


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def changelist_action(client, model: str, action: str, ids: list[int]):
    return client.post(
        reverse(f"admin:projects_{model}_changelist"),
        {"action": action, "_selected_action": ids},
        follow=True,
    )


@pytest.mark.parametrize("model", ["source", "image"])
def test_bulk_delete_is_not_offered_and_posting_it_deletes_nothing(admin_client, pool, model):
    source, images = pool
    ids = [source.pk] if model == "source" else [i.pk for i in images]

    page = admin_client.get(reverse(f"admin:projects_{model}_changelist"))
    assert "delete_selected" not in page.content.decode()
    changelist_action(admin_client, model, "delete_selected", ids)

    assert Source.objects.filter(pk=source.pk).exists()
    assert Image.objects.filter(pk__in=[i.pk for i in images]).count() == 3


@pytest.mark.parametrize("model", ["source", "image"])
def test_the_change_page_has_no_delete(admin_client, pool, model):
    source, images = pool
    obj = source if model == "source" else images[0]

    page = admin_client.get(reverse(f"admin:projects_{model}_change", args=[obj.pk]))
    assert 'class="deletelink"' not in page.content.decode()
    url = reverse(f"admin:projects_{model}_delete", args=[obj.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_removing_sources_hides_them_and_restoring_brings_them_back(admin_client, pool):
    source, images = pool

    page = changelist_action(admin_client, "source", "sources_remove", [source.pk])
    source.refresh_from_db()
    assert source.removed_at is not None
    assert "nothing deleted" in page.content.decode()
    assert Image.objects.filter(source=source).count() == 3

    changelist_action(admin_client, "source", "sources_restore", [source.pk])
    source.refresh_from_db()
    assert source.removed_at is None


def test_removing_images_hides_them_and_restoring_brings_them_back(admin_client, pool):
    _, images = pool
    ids = [images[0].pk, images[1].pk]

    changelist_action(admin_client, "image", "images_remove", ids)
    assert Image.objects.filter(pk__in=ids, removed_at__isnull=False).count() == 2
    assert Image.objects.get(pk=images[2].pk).removed_at is None

    changelist_action(admin_client, "image", "images_restore", ids)
    assert not Image.objects.filter(removed_at__isnull=False).exists()


def test_project_delete_without_the_typed_name_keeps_it_and_says_what_would_be_lost(
    admin_client, team, pool
):
    _, images = pool
    MaskObject.objects.create(image=images[0], mask={"size": [48, 64], "counts": "PPYo0"})
    url = reverse("admin:projects_project_delete", args=[team.project.pk])

    page = admin_client.get(url).content.decode()
    assert "<li>3 images</li>" in page and "<li>1 source</li>" in page
    assert "<li>1 annotated object</li>" in page

    for typed in [{}, {"name": "cells"}, {"name": "Elsewhere"}]:
        answer = admin_client.post(url, {"post": "yes", **typed})
        assert answer.status_code == 200
        assert "<li>3 images</li>" in answer.content.decode()
        assert Project.objects.filter(pk=team.project.pk).exists()


def test_project_delete_with_the_right_name_deletes_it(admin_client, team, pool):
    url = reverse("admin:projects_project_delete", args=[team.project.pk])

    answer = admin_client.post(url, {"post": "yes", "name": "Cells"})

    assert answer.status_code == 302
    assert not Project.objects.filter(pk=team.project.pk).exists()
    assert not Image.objects.filter(project_id=team.project.pk).exists()
    assert Project.objects.filter(pk=team.other_project.pk).exists()


def test_projects_cannot_be_deleted_in_bulk(admin_client, team):
    page = admin_client.get(reverse("admin:projects_project_changelist"))
    assert "delete_selected" not in page.content.decode()

    changelist_action(admin_client, "project", "delete_selected", [team.project.pk])
    assert Project.objects.filter(pk=team.project.pk).exists()
