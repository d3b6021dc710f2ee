from django.urls import path

from projects.exports import api

api_urlpatterns = [
    path(
        "projects/<id:project_id>/exports/",
        api.ExportStartApi.as_view(),
        name="export-start",
    ),
    path("exports/<id:job_id>/", api.ExportJobApi.as_view(), name="export-job"),
    path(
        "exports/<id:job_id>/download/",
        api.ExportDownloadApi.as_view(),
        name="export-download",
    ),
    path(
        "projects/<id:project_id>/archive/",
        api.ProjectArchiveApi.as_view(),
        name="project-archive",
    ),
    path("projects/archive/", api.ArchiveUploadApi.as_view(), name="archive-upload"),
]
