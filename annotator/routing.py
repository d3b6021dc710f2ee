from projects.routing import websocket_urlpatterns as project_patterns

websocket_urlpatterns = [*project_patterns]
