"""Each user's view settings in a project, apart from the project's settings.

Until now the tool, opacity, brush size, panels and pool filters were keys of
Project.ui_settings, shared by every member. This migration makes UserProjectSettings and
moves those keys out of each project's ui_settings into the settings of every member of the
project (and of its creator), since each of them saw these values until now. Every other key
(the automask parameters, a project setting) stays in ui_settings.

Reversible, with a loss: going back puts one user's view settings into the project again:
those of its first owner (then its creator, then any member), since the older schema holds
only one set per project. What other members chose apart is dropped with the table.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The view keys as they were when this migration was written (projects.services
# VIEW_SETTINGS); a migration keeps its own copy so later changes do not alter it.
VIEW_KEYS = (
    "tool",
    "opacity",
    "brush_size",
    "panels",
    "pool_filters",
    "browser_decoder",
    "hover_preview",
)


def _recipients(apps, project) -> list[int]:
    Membership = apps.get_model("projects", "Membership")
    members = Membership.objects.filter(project=project).order_by("created_at", "pk")
    users = list(members.values_list("user_id", flat=True))
    if project.created_by_id is not None and project.created_by_id not in users:
        users.append(project.created_by_id)
    return users


def view_settings_to_users(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    UserProjectSettings = apps.get_model("projects", "UserProjectSettings")
    for project in Project.objects.all().iterator():
        stored = project.ui_settings if isinstance(project.ui_settings, dict) else {}
        view = {key: stored[key] for key in VIEW_KEYS if key in stored}
        if not view:
            continue
        for user_id in _recipients(apps, project):
            UserProjectSettings.objects.get_or_create(
                user_id=user_id, project=project, defaults={"values": view}
            )
        project.ui_settings = {k: v for k, v in stored.items() if k not in VIEW_KEYS}
        project.save(update_fields=["ui_settings"])


def view_settings_to_projects(apps, schema_editor):
    Project = apps.get_model("projects", "Project")
    Membership = apps.get_model("projects", "Membership")
    UserProjectSettings = apps.get_model("projects", "UserProjectSettings")
    for project in Project.objects.all().iterator():
        rows = {
            row.user_id: row.values
            for row in UserProjectSettings.objects.filter(project=project)
            if isinstance(row.values, dict) and row.values
        }
        if not rows:
            continue
        owners = Membership.objects.filter(project=project, role="owner").order_by(
            "created_at", "pk"
        )
        order = [*owners.values_list("user_id", flat=True), *_recipients(apps, project)]
        chosen = next((rows[user] for user in order if user in rows), None)
        if chosen is None:
            continue
        view = {key: chosen[key] for key in VIEW_KEYS if key in chosen}
        stored = project.ui_settings if isinstance(project.ui_settings, dict) else {}
        project.ui_settings = {**stored, **view}
        project.save(update_fields=["ui_settings"])


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0003_merge_sources_workflow"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UserProjectSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("values", models.JSONField(blank=True, default=dict)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="user_settings",
                        to="projects.project",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="project_settings",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("user", "project"), name="user_settings_unique")
                ],
            },
        ),
        migrations.RunPython(view_settings_to_users, view_settings_to_projects),
    ]
