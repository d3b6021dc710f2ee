from django.urls import path

from projects.quality import api

urlpatterns = [
    path(
        "projects/<id:project_id>/activity/",
        api.ProjectActivityApi.as_view(),
        name="project-activity",
    ),
    path(
        "projects/<id:project_id>/activity.csv",
        api.ActivityCsvApi.as_view(),
        name="project-activity-csv",
    ),
    path("images/<id:image_id>/activity/", api.ImageActivityApi.as_view(), name="image-activity"),
    path("projects/<id:project_id>/dashboard/", api.DashboardApi.as_view(), name="dashboard"),
    path(
        "projects/<id:project_id>/ground-truth/",
        api.GroundTruthApi.as_view(),
        name="ground-truth",
    ),
    path(
        "projects/<id:project_id>/ground-truth/remove/",
        api.GroundTruthRemoveApi.as_view(),
        name="ground-truth-remove",
    ),
]
