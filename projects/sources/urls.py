"""URL routes of the pool API, included under /api/ in the api namespace."""

from django.urls import path

from projects.sources import api, views

urlpatterns = [
    path("projects/<id:project_id>/sources/", api.SourceListApi.as_view(), name="api-sources"),
    path(
        "projects/<id:project_id>/sources/upload/",
        api.UploadSourceCreateApi.as_view(),
        name="api-source-create-upload",
    ),
    path(
        "projects/<id:project_id>/sources/folder/",
        api.FolderSourceCreateApi.as_view(),
        name="api-source-create-folder",
    ),
    path(
        "projects/<id:project_id>/sources/urls/",
        api.UrlSourceCreateApi.as_view(),
        name="api-source-create-urls",
    ),
    path(
        "projects/<id:project_id>/sources/azure/",
        api.AzureSourceCreateApi.as_view(),
        name="api-source-create-azure",
    ),
    path("projects/<id:project_id>/uploads/", api.UploadApi.as_view(), name="api-uploads"),
    path("sources/<id:source_id>/", api.SourceDetailApi.as_view(), name="api-source"),
    path(
        "sources/<id:source_id>/removal/",
        api.SourceRemovalPreviewApi.as_view(),
        name="api-source-removal",
    ),
    path(
        "sources/<id:source_id>/restore/",
        api.SourceRestoreApi.as_view(),
        name="api-source-restore",
    ),
    path("sources/<id:source_id>/scan/", api.SourceScanApi.as_view(), name="api-source-scan"),
    path("sources/<id:source_id>/secret/", api.SourceSecretApi.as_view(), name="api-source-secret"),
    # The Sources panel's form for it (an HTMX partial, answered in HTML).
    path(
        "sources/<id:source_id>/secret/form/",
        views.source_secret_form,
        name="source-secret-form",
    ),
    path("images/<id:image_id>/remove/", api.ImageRemoveApi.as_view(), name="api-image-remove"),
    path("images/<id:image_id>/restore/", api.ImageRestoreApi.as_view(), name="api-image-restore"),
    path(
        "images/<id:image_id>/thumbnail/",
        api.ImageThumbnailApi.as_view(),
        name="api-image-thumbnail",
    ),
    path("images/<id:image_id>/file/", api.ImageFileApi.as_view(), name="api-image-file"),
]
