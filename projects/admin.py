from django.contrib import admin

from projects.models import (
    AutomaskRun,
    Credential,
    Image,
    Job,
    Label,
    MaskObject,
    Membership,
    Prediction,
    Project,
    Source,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class LabelInline(admin.TabularInline):
    model = Label
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "created_at", "updated_at"]
    search_fields = ["name", "description"]
    inlines = [MembershipInline, LabelInline]
    readonly_fields = ["created_at", "updated_at"]


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
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "project", "available", "unavailable_reason", "checked_at"]
    list_filter = ["kind", "available", "project"]
    search_fields = ["name", "project__name", "location"]
    readonly_fields = ["created_at", "updated_at", "checked_at"]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = [
        "path",
        "project",
        "source",
        "status",
        "has_automask",
        "has_manual_prediction",
        "has_manual_edit",
        "available",
        "width",
        "height",
    ]
    list_filter = [
        "status",
        "available",
        "has_automask",
        "has_manual_prediction",
        "has_manual_edit",
        "project",
    ]
    search_fields = ["path", "key"]
    list_select_related = ["project", "source"]
    readonly_fields = ["key", "added_at", "opened_at", "edited_at", "version"]
    show_full_result_count = False


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
