from django.apps import AppConfig
from django.urls import register_converter


class ProjectsConfig(AppConfig):
    name = "projects"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from annotator.ids import IdConverter

        # Once, before any URLconf is read: every route names its objects as <id:...>.
        register_converter(IdConverter, "id")
