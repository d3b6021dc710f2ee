from django.urls import re_path

from projects.consumers import NoSuchSocket
from projects.routing import websocket_urlpatterns as project_patterns

websocket_urlpatterns = [*project_patterns, re_path(r"", NoSuchSocket.as_asgi())]
