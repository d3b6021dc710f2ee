from django.urls import path

from projects.workflow import api

urlpatterns = [
    path("images/<id:image_id>/open/", api.ImageOpenApi.as_view(), name="image-open"),
    path("images/<id:image_id>/records/", api.ImageRecordsApi.as_view(), name="image-records"),
    path("images/<id:image_id>/objects/", api.ObjectCreateApi.as_view(), name="object-create"),
    path("objects/<id:object_id>/", api.ObjectDetailApi.as_view(), name="object"),
    path(
        "predictions/<id:prediction_id>/choose/",
        api.PredictionChooseApi.as_view(),
        name="prediction-choose",
    ),
    path(
        "predictions/<id:prediction_id>/keep-each/",
        api.PredictionKeepEachApi.as_view(),
        name="prediction-keep-each",
    ),
    path("images/<id:image_id>/promote/", api.AutomaskPromoteApi.as_view(), name="promote"),
    path("images/<id:image_id>/undo/", api.UndoApi.as_view(), name="undo"),
    path("images/<id:image_id>/redo/", api.RedoApi.as_view(), name="redo"),
    path("images/<id:image_id>/complete/", api.ImageCompleteApi.as_view(), name="complete"),
    path(
        "images/<id:image_id>/complete-and-next/",
        api.CompleteAndNextApi.as_view(),
        name="complete-and-next",
    ),
    path("projects/<id:project_id>/navigate/", api.NavigateApi.as_view(), name="navigate"),
    path("projects/<id:project_id>/history/", api.HistoryApi.as_view(), name="history"),
    path("projects/<id:project_id>/overview/", api.OverviewApi.as_view(), name="overview"),
    path(
        "projects/<id:project_id>/assignments/",
        api.AssignmentsApi.as_view(),
        name="assignments",
    ),
]
