from django.urls import path

from projects import api, views
from projects.quality import views as quality_views
from projects.review import views as review_views

app_name = "projects"

urlpatterns = [
    path("", views.project_list, name="list"),
    path("projects/<id:project_id>/", views.project_detail, name="detail"),
    path("projects/<id:project_id>/annotate/", views.annotate, name="annotate"),
    path("projects/<id:project_id>/pool/", views.pool_panel, name="pool"),
    path("projects/<id:project_id>/sources/", views.sources_panel, name="sources"),
    path("projects/<id:project_id>/members/", views.members_panel, name="members"),
    path("projects/<id:project_id>/images/<id:image_id>/", views.editor, name="editor"),
    path("projects/<id:project_id>/review/", review_views.review_start, name="review"),
    path("projects/<id:project_id>/dashboard/", quality_views.dashboard, name="dashboard"),
]

api_urlpatterns = [
    path("projects/", api.ProjectListApi.as_view(), name="api-projects"),
    path("projects/<id:project_id>/", api.ProjectDetailApi.as_view(), name="api-project"),
    path("projects/<id:project_id>/state/", api.ProjectStateApi.as_view(), name="api-state"),
    path(
        "projects/<id:project_id>/my-settings/",
        api.MySettingsApi.as_view(),
        name="api-my-settings",
    ),
    path("projects/<id:project_id>/members/", api.MemberListApi.as_view(), name="api-members"),
    path(
        "projects/<id:project_id>/members/<id:user_id>/",
        api.MemberDetailApi.as_view(),
        name="api-member",
    ),
    path("projects/<id:project_id>/labels/", api.LabelListApi.as_view(), name="api-labels"),
    path("labels/<id:label_id>/", api.LabelDetailApi.as_view(), name="api-label"),
    path("projects/<id:project_id>/images/", api.ImageListApi.as_view(), name="api-images"),
    path("images/<id:image_id>/", api.ImageDetailApi.as_view(), name="api-image"),
    path("jobs/<id:job_id>/", api.JobDetailApi.as_view(), name="api-job"),
    path("jobs/<id:job_id>/cancel/", api.JobCancelApi.as_view(), name="api-job-cancel"),
]
