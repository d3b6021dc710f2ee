"""The project WebSocket: one per open page or editor.

It relays events of `project.<id>` and `user.<id>` to the browser and routes each incoming
message, `{"type", "data"}` (annotator.messages), to the `handle_<type>` method given its
data: `predict` (inference.consumers.PredictMixin), `open_image` and `close_image`
(PresenceMixin), `ping`. A worker's answer to a predict arrives from the channel layer as
`inference.reply`.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from annotator import messages
from annotator.ids import parse_id
from annotator.messages import PresenceData
from inference.consumers import PredictMixin
from projects import access
from projects.events import apublish, project_group, user_group
from projects.presence import apresence_enter, apresence_leave

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4404


class PresenceMixin:
    """`open_image` / `close_image` tell the project who looks at which image."""

    open_image_id: int | None = None

    async def handle_open_image(self, data: messages.ImageRef):
        image_id = parse_id(data.get("image_id"))
        image = None
        if image_id is not None:
            try:
                image = await database_sync_to_async(access.image_for_user)(self.user, image_id)
            except (Http404, PermissionDenied):
                pass
        if image is None or image.project_id != self.project_id:
            error = Http404("No such image in this project.")
            await self.send_json(messages.error_of(error, image_id=image_id))
            return
        if self.open_image_id is not None and self.open_image_id != image_id:
            await self.leave_image()
        self.open_image_id = image_id
        users = await apresence_enter(
            image_id=image_id,
            channel=self.channel_name,
            user_id=self.user.pk,
            username=self.user.username,
        )
        await apublish(self.project_group, "presence", PresenceData(image_id=image_id, users=users))

    async def handle_close_image(self, data):
        await self.leave_image()

    async def leave_image(self):
        if self.open_image_id is None:
            return
        image_id, self.open_image_id = self.open_image_id, None
        users = await apresence_leave(image_id=image_id, channel=self.channel_name)
        await apublish(self.project_group, "presence", PresenceData(image_id=image_id, users=users))


class NoSuchSocket(AsyncJsonWebsocketConsumer):
    """A WebSocket path no route matches (a project id out of range, say) is refused like an
    outsider's socket, not with an exception."""

    async def connect(self):
        await self.close(code=CLOSE_FORBIDDEN)


class ProjectConsumer(PredictMixin, PresenceMixin, AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.project_id = self.scope["url_route"]["kwargs"]["project_id"]
        try:
            self.role = await database_sync_to_async(access.check_project_access)(
                self.user, self.project_id, "view"
            )
        except (Http404, PermissionDenied):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.project_group = project_group(self.project_id)
        self.groups_joined = [self.project_group, user_group(self.user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json(messages.hello(project_id=self.project_id, role=self.role))

    async def disconnect(self, code):
        if getattr(self, "groups_joined", None):
            await self.leave_image()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        try:
            kind, data = messages.incoming(content)
        except ValidationError as error:
            await self.send_json(messages.error_of(error))
            return
        handler = getattr(self, f"handle_{kind}", None)
        if handler is None:
            error = ValidationError(f"Unknown message type {kind!r}.")
            await self.send_json(messages.error_of(error))
            return
        await handler(data)

    async def handle_ping(self, data):
        if self.open_image_id is not None:
            # The heartbeat keeps this tab's presence fresh.
            await apresence_enter(
                image_id=self.open_image_id,
                channel=self.channel_name,
                user_id=self.user.pk,
                username=self.user.username,
            )
        await self.send_json(messages.pong())

    async def relay(self, message):
        await self.send_json(message["event"])
