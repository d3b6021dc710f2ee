from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse

from projects.models import (
    AutomaskRun,
    Credential,
    EditStep,
    Image,
    Job,
    Label,
    MaskObject,
    Membership,
    Prediction,
    Project,
    Source,
)
from projects.sources import services as source_services


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class LabelInline(admin.TabularInline):
    model = Label
    extra = 0


def project_deletion_losses(project: Project) -> list[tuple[str, int]]:
    """What deleting the project deletes with it, in numbers to check before confirming:
    (noun, count) pairs, the noun singular."""
    of_images = {"image__project": project}
    return [
        ("image", Image.objects.filter(project=project).count()),
        ("source", project.sources.count()),
        ("annotated object", MaskObject.objects.filter(**of_images).count()),
        ("prediction", Prediction.objects.filter(**of_images).count()),
        ("automask run", AutomaskRun.objects.filter(**of_images).count()),
        ("edit history step", EditStep.objects.filter(**of_images).count()),
        ("job", project.jobs.count()),
        ("label", project.labels.count()),
        ("membership", project.memberships.count()),
        ("stored credential", project.credentials.count()),
    ]


class ProjectDeleteForm(forms.Form):
    name = forms.CharField(
        label="Type the project's name to confirm",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )

    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project

    def clean_name(self) -> str:
        if self.cleaned_data["name"] != self.project.name:
            raise ValidationError("That is not the project's name; nothing was deleted.")
        return self.cleaned_data["name"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_at", "updated_at"]
    search_fields = ["name", "description"]
    inlines = [MembershipInline, LabelInline]
    readonly_fields = ["created_at", "updated_at"]

    def get_actions(self, request):
        # Deleting projects in bulk would skip the typed confirmation of each.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        """Delete one project, as the app does, once its name has been typed."""
        project = self.get_object(request, unquote(object_id))
        if project is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_delete_permission(request, project):
            raise PermissionDenied
        form = ProjectDeleteForm(
            request.POST if request.method == "POST" else None, project=project
        )
        if form.is_valid():
            shown, pk = str(project), project.pk
            with transaction.atomic():
                self.log_deletions(request, [project])
                self.delete_model(request, project)
            return self.response_delete(request, shown, pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete the project {project.name!r}?",
            "object": project,
            "object_name": str(self.opts.verbose_name),
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "form": form,
            "losses": project_deletion_losses(project),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/projects/project/delete_confirmation.html", context)


class HiddenNotDeleted:
    """Sources and images are only ever hidden, as in the app: their records stay and a
    restore brings them back, so the admin offers no delete."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _count(queryset, noun: str) -> str:
    return f"{len(queryset)} {noun}{pluralize(len(queryset))}"


@admin.action(description="Remove (hide) selected sources", permissions=["change"])
def sources_remove(modeladmin, request, queryset):
    for source in queryset:
        source_services.source_remove(source=source)
    modeladmin.message_user(
        request,
        f"Removed {_count(queryset, 'source')}: hidden from the pool with their images, "
        "nothing deleted.",
    )


@admin.action(description="Restore selected sources", permissions=["change"])
def sources_restore(modeladmin, request, queryset):
    for source in queryset:
        source_services.source_restore(source=source)
    modeladmin.message_user(request, f"Restored {_count(queryset, 'source')}.")


@admin.action(description="Remove (hide) selected images", permissions=["change"])
def images_remove(modeladmin, request, queryset):
    for image in queryset:
        source_services.image_remove(image=image)
    modeladmin.message_user(
        request, f"Removed {_count(queryset, 'image')}: hidden from the pool, nothing deleted."
    )


@admin.action(description="Restore selected images", permissions=["change"])
def images_restore(modeladmin, request, queryset):
    for image in queryset:
        source_services.image_restore(image=image)
    modeladmin.message_user(request, f"Restored {_count(queryset, 'image')}.")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    autocomplete_fields = ["user", "project"]


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project", "env_var", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name", "project__name"]
    # The encrypted secret is not shown, even to administrators.
    exclude = ["secret_encrypted"]


@admin.register(Source)
class SourceAdmin(HiddenNotDeleted, admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "project",
        "available",
        "unavailable_reason",
        "checked_at",
        "removed_at",
    ]
    list_filter = ["kind", "available", ("removed_at", admin.EmptyFieldListFilter), "project"]
    search_fields = ["name", "project__name", "location"]
    readonly_fields = ["created_at", "updated_at", "checked_at", "removed_at"]
    actions = [sources_remove, sources_restore]


@admin.register(Image)
class ImageAdmin(HiddenNotDeleted, admin.ModelAdmin):
    list_display = [
        "path",
        "project",
        "source",
        "status",
        "has_automask",
        "has_manual_prediction",
        "has_manual_edit",
        "available",
        "removed_at",
        "width",
        "height",
    ]
    list_filter = [
        "status",
        "available",
        ("removed_at", admin.EmptyFieldListFilter),
        "has_automask",
        "has_manual_prediction",
        "has_manual_edit",
        "project",
    ]
    search_fields = ["path", "key"]
    list_select_related = ["project", "source"]
    readonly_fields = ["key", "added_at", "opened_at", "edited_at", "version", "removed_at"]
    show_full_result_count = False
    actions = [images_remove, images_restore]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "project", "done", "total", "created_at"]
    list_filter = ["kind", "status"]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "created_by", "created_at", "multimask_output"]
    raw_id_fields = ["image"]


@admin.register(AutomaskRun)
class AutomaskRunAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "job", "created_at"]
    raw_id_fields = ["image", "job"]


@admin.register(MaskObject)
class MaskObjectAdmin(admin.ModelAdmin):
    list_display = ["id", "image", "label", "origin", "updated_at"]
    list_filter = ["origin"]
    raw_id_fields = ["image", "prediction", "automask"]
