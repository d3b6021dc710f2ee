from django.urls import path

from projects.consumers import ProjectConsumer

websocket_urlpatterns = [
    path("ws/projects/<id:project_id>/", ProjectConsumer.as_asgi()),
]
