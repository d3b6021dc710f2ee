from django.urls import path

from projects.review import api

urlpatterns = [
    path("images/<id:image_id>/accept/", api.AcceptApi.as_view(), name="review-accept"),
    path("images/<id:image_id>/reject/", api.RejectApi.as_view(), name="review-reject"),
    path("images/<id:image_id>/reopen/", api.ReopenApi.as_view(), name="review-reopen"),
    path(
        "projects/<id:project_id>/review-queue/",
        api.ReviewQueueApi.as_view(),
        name="review-queue",
    ),
    path("images/<id:image_id>/comments/", api.CommentsApi.as_view(), name="comments"),
    path("comments/<id:comment_id>/resolve/", api.ResolveApi.as_view(), name="comment-resolve"),
]
