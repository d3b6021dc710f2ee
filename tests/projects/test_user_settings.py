"""Each member's view settings are their own; the project's settings stay shared."""

import json
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from projects import api, services
from projects.exports.archive import archive_write
from projects.exports.restore import archive_import
from projects.models import Project, Role, UserProjectSettings

pytestmark = pytest.mark.django_db


def mine(team) -> str:
    return f"/api/projects/{team.project.pk}/my-settings/"


def state(team) -> str:
    return f"/api/projects/{team.project.pk}/state/"


def page_config(response, name: str) -> dict:
    found = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', response)
    assert found, f"no {name} on the page"
    return json.loads(found.group(1))


def test_two_annotators_keep_their_own_tool_opacity_and_filters(team, make_user, api_client):
    bea = make_user("bea")
    services.member_set(project=team.project, user=bea, role=Role.ANNOTATOR)
    anna, other = api_client(team.annotator), api_client(bea)
    anna.patch(mine(team), {"tool": "brush", "opacity": 0.8}, format="json")
    filters = {"status": "completed", "has_manual_edit": "false", "search": "plate"}
    anna.patch(mine(team), {"pool_filters": filters}, format="json")
    other.patch(mine(team), {"tool": "polygon", "brush_size": 30}, format="json")

    assert anna.get(mine(team)).json() == {
        "tool": "brush",
        "opacity": 0.8,
        "pool_filters": filters,
    }
    assert other.get(mine(team)).json() == {"tool": "polygon", "brush_size": 30}
    assert api_client(team.owner).get(mine(team)).json() == {}
    assert Project.objects.get(pk=team.project.pk).ui_settings == {}


def test_each_member_sees_their_own_settings_on_the_pages(team, pool, make_user, client):
    _, images = pool
    bea = make_user("bea")
    services.member_set(project=team.project, user=bea, role=Role.ANNOTATOR)
    services.user_settings_update(
        user=team.annotator,
        project=team.project,
        changes={"tool": "eraser", "pool_filters": {"status": "completed", "search": "img1"}},
    )
    services.project_state_update(
        project=team.project, changes={"automask_params": {"points_per_side": 24}}
    )
    editor = f"/projects/{team.project.pk}/images/{images[0].pk}/"
    detail = f"/projects/{team.project.pk}/"

    client.force_login(team.annotator)
    config = page_config(client.get(editor).content.decode(), "editor-config")
    assert config["ui"] == {
        "tool": "eraser",
        "pool_filters": {"status": "completed", "search": "img1"},
    }
    assert config["automaskParams"] == {"points_per_side": 24}
    html = client.get(detail).content.decode()
    assert '<option value="completed" selected>' in html
    assert 'value="img1"' in html
    assert 'name="points_per_side" type="number" min="1" max="128" value="24"' in html

    client.force_login(bea)
    config = page_config(client.get(editor).content.decode(), "editor-config")
    assert config["ui"] == {}
    assert config["automaskParams"] == {"points_per_side": 24}
    html = client.get(detail).content.decode()
    assert "selected>" not in html.split('id="filter-status"')[1].split("</select>")[0]
    assert 'id="filter-search" name="search" placeholder="Search path…" type="search" value=""' in (
        html
    )


def test_a_viewer_saves_their_own_settings_but_not_the_projects(team, api_client):
    viewer = api_client(team.viewer)
    response = viewer.patch(mine(team), {"opacity": 0.3, "panels": "hidden"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"opacity": 0.3, "panels": "hidden"}
    assert viewer.get(mine(team)).json() == {"opacity": 0.3, "panels": "hidden"}
    refused = viewer.patch(state(team), {"automask_params": {"points_per_side": 4}}, format="json")
    assert refused.status_code == 403
    assert services.project_automask_params(Project.objects.get(pk=team.project.pk)) == {}


@pytest.mark.parametrize("method", ["get", "patch"])
def test_an_outsider_gets_404(team, api_client, method):
    response = getattr(api_client(team.outsider), method)(
        mine(team), {"tool": "box"}, format="json"
    )
    assert response.status_code == 404
    assert not UserProjectSettings.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"tool": "laser"}, "tool"),
        ({"tool": 3}, "tool"),
        ({"opacity": 2}, "opacity"),
        ({"opacity": "0.5"}, "opacity"),
        ({"opacity": True}, "opacity"),
        ({"brush_size": 3.5}, "brush_size"),
        ({"brush_size": 0}, "brush_size"),
        ({"brush_size": 10**30}, "brush_size"),
        ({"panels": "sideways"}, "panels"),
        ({"hover_preview": "yes"}, "hover_preview"),
        ({"pool_filters": "completed"}, "pool_filters"),
        ({"pool_filters": {"colour": "red"}}, "pool_filters"),
        ({"pool_filters": {"status": "done"}}, "pool_filters"),
        ({"pool_filters": {"source": "1 OR 1=1"}}, "pool_filters"),
        ({"pool_filters": {"search": "x" * 201}}, "pool_filters"),
        ({"pool_filters": {"available": True}}, "pool_filters"),
        ({"pool_filters": {"has_automask": "maybe"}}, "pool_filters"),
        (["tool", "box"], "settings"),
        ({"k" * 5000: 1}, "k" * 100),
    ],
)
def test_bad_keys_and_values_are_refused_naming_the_field(team, api_client, body, field):
    client = api_client(team.annotator)
    client.patch(mine(team), {"tool": "box"}, format="json")
    response = client.patch(mine(team), body, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert field in error["fields"], error
    assert client.get(mine(team)).json() == {"tool": "box"}


def test_one_bad_key_refuses_the_whole_change(team, api_client):
    client = api_client(team.annotator)
    response = client.patch(mine(team), {"tool": "box", "opacity": -1}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["opacity"]
    assert client.get(mine(team)).json() == {}


def test_a_null_value_puts_a_setting_back_to_its_default(team, api_client):
    client = api_client(team.annotator)
    client.patch(mine(team), {"tool": "box", "opacity": 0.2}, format="json")
    response = client.patch(mine(team), {"tool": None}, format="json")
    assert response.json() == {"opacity": 0.2}


def test_older_clients_ui_settings_go_to_my_settings_and_automask_to_the_project(team, api_client):
    anna, owner = api_client(team.annotator), api_client(team.owner)
    response = anna.patch(
        state(team),
        {"ui_settings": {"tool": "brush", "automask_params": {"points_per_side": 12}}},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["automask_params"] == {"points_per_side": 12}
    assert anna.get(mine(team)).json() == {"tool": "brush"}
    assert owner.get(mine(team)).json() == {}
    shared = owner.get(state(team)).json()
    assert shared["automask_params"] == {"points_per_side": 12}
    assert shared["ui_settings"] == {"automask_params": {"points_per_side": 12}}

    bad = anna.patch(state(team), {"ui_settings": {"tool": "laser"}}, format="json")
    assert bad.status_code == 400
    assert "ui_settings.tool" in bad.json()["error"]["fields"]
    bad = anna.patch(state(team), {"ui_settings": {"automask_params": "dense"}}, format="json")
    assert bad.status_code == 400
    assert "automask_params" in bad.json()["error"]["fields"]


def test_automask_params_are_one_shared_project_setting(team, api_client):
    anna, owner = api_client(team.annotator), api_client(team.owner)
    response = anna.patch(
        state(team),
        {"automask_params": {"points_per_side": 16, "pred_iou_thresh": 0.7}},
        format="json",
    )
    assert response.status_code == 200, response.content
    owner.patch(state(team), {"automask_params": {"points_per_side": 32}}, format="json")
    for client in (anna, owner, api_client(team.viewer)):
        assert client.get(state(team)).json()["automask_params"] == {"points_per_side": 32}
    project = Project.objects.get(pk=team.project.pk)
    assert project.ui_settings == {"automask_params": {"points_per_side": 32}}


@pytest.mark.parametrize(
    "params",
    [{"points_per_side": 0}, {"pred_iou_thresh": 3}, {"colour": "red"}, "dense", None],
)
def test_bad_automask_params_are_refused(team, api_client, params):
    response = api_client(team.owner).patch(state(team), {"automask_params": params}, format="json")
    assert response.status_code == 400, response.content
    assert "automask_params" in response.json()["error"]["fields"]


def test_the_schema_describes_every_view_setting():
    described = api.MySettingsApi.__doc__ or ""
    for key in services.VIEW_SETTINGS:
        assert f"`{key}`" in described


def test_an_archive_from_before_keeps_automask_and_gives_the_view_keys_to_the_importer(
    team, make_user, tmp_path
):
    # What the older code archived: the view settings inside the project's ui_settings.
    Project.objects.filter(pk=team.project.pk).update(
        ui_settings={
            "tool": "brush",
            "opacity": 0.4,
            "panels": "sideways",  # was never checked: dropped
            "pool_filters": {"status": "completed"},
            "automask_params": {"points_per_side": 8},
        }
    )
    path = tmp_path / "cells.zip"
    archive_write(project=Project.objects.get(pk=team.project.pk), target=path)
    mover = make_user("mover")
    copy = archive_import(path=path, user=mover, name="Cells again")
    assert copy.ui_settings == {"automask_params": {"points_per_side": 8}}
    assert services.user_settings_for(user=mover, project=copy) == {
        "tool": "brush",
        "opacity": 0.4,
        "pool_filters": {"status": "completed"},
    }

    # Restored over a project whose owner saved settings of their own: those stay.
    services.user_settings_update(user=team.owner, project=team.project, changes={"tool": "box"})
    restored = archive_import(path=path, user=team.owner, project=team.project)
    assert restored.ui_settings == {"automask_params": {"points_per_side": 8}}
    assert services.user_settings_for(user=team.owner, project=restored) == {"tool": "box"}


OLD, NEW = ("projects", "0003_merge_sources_workflow"), ("projects", "0004_user_project_settings")


def migrate_to(target):
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_view_settings_to_the_members_and_back():
    apps = migrate_to(OLD)
    try:
        User = apps.get_model("auth", "User")
        Project = apps.get_model("projects", "Project")
        Membership = apps.get_model("projects", "Membership")
        olive, anna = User.objects.create(username="olive"), User.objects.create(username="anna")
        old_ui = {
            "tool": "brush",
            "opacity": 0.7,
            "pool_filters": {"status": "in_progress"},
            "automask_params": {"points_per_side": 20},
        }
        cells = Project.objects.create(name="Cells", created_by=olive, ui_settings=old_ui)
        Membership.objects.create(project=cells, user=olive, role="owner")
        Membership.objects.create(project=cells, user=anna, role="annotator")
        plain = Project.objects.create(name="Plain", created_by=olive, ui_settings={})

        apps = migrate_to(NEW)
        Project = apps.get_model("projects", "Project")
        Settings = apps.get_model("projects", "UserProjectSettings")
        assert Project.objects.get(pk=cells.pk).ui_settings == {
            "automask_params": {"points_per_side": 20}
        }
        view = {key: value for key, value in old_ui.items() if key != "automask_params"}
        rows = Settings.objects.filter(project_id=cells.pk)
        assert {row.user.username: row.values for row in rows} == {"olive": view, "anna": view}
        assert not Settings.objects.filter(project_id=plain.pk).exists()

        # Apart from now on: back, the owner's choice is the project's again.
        Settings.objects.filter(project_id=cells.pk, user__username="anna").update(
            values={"tool": "box"}
        )
        Settings.objects.filter(project_id=cells.pk, user__username="olive").update(
            values={"tool": "polygon"}
        )
        apps = migrate_to(OLD)
        Project = apps.get_model("projects", "Project")
        assert Project.objects.get(pk=cells.pk).ui_settings == {
            "tool": "polygon",
            "automask_params": {"points_per_side": 20},
        }
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
