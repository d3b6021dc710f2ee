from django.urls import path

from projects.imports import api

api_urlpatterns = [
    path(
        "projects/<id:project_id>/imports/",
        api.ImportStartApi.as_view(),
        name="import-start",
    ),
]
