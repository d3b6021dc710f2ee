"""The project WebSocket: relays events of `project.<id>` and `user.<id>` to the browser."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied
from django.http import Http404

from inference.consumers import PredictMixin
from projects import access
from projects.events import project_group, user_group

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4404


class ProjectConsumer(PredictMixin, AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        project_id = self.scope["url_route"]["kwargs"]["project_id"]
        try:
            self.role = await database_sync_to_async(access.check_project_access)(
                user, project_id, "view"
            )
        except (Http404, PermissionDenied):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.groups_joined = [project_group(project_id), user_group(user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "data": {"project": project_id, "role": self.role}})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            await self.send_json({"type": "pong", "data": {}})
            return
        await self.send_json(
            {"type": "error", "data": {"message": f"Unknown message type {content.get('type')!r}."}}
        )

    async def relay(self, message):
        await self.send_json(message["event"])
