"""The editor's clicks on the project WebSocket.

ProjectConsumer (projects.consumers) routes a `predict` message to handle_predict like every
other type; its answer, `prediction` or `error` (annotator.messages), comes back on the same
socket: from the interactive thread in this process, or from a worker as the channel-layer
message `inference.reply`. A newer predict of the same user on the same image supersedes one
still queued.
"""

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError

from annotator import messages
from annotator.ids import parse_id
from inference import dispatch
from inference.prompts import prompt_values
from projects.errors import ErrorBody

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from channels.generic.websocket import AsyncJsonWebsocketConsumer as _Consumer
else:
    _Consumer = object


class PredictMixin(_Consumer):
    """Mixed into projects.consumers.ProjectConsumer, which sets `user` and `project_id`."""

    user: Any
    project_id: int

    async def disconnect(self, code):
        for timer in getattr(self, "_unanswered", {}).values():
            timer.cancel()
        await super().disconnect(code)

    async def handle_predict(self, data: messages.PredictData) -> None:
        request_id = str(data.get("request_id", ""))[:100]
        image_id = parse_id(data.get("image_id"))
        if image_id is None:
            error = ValidationError({"image_id": "Must be the id of an image of this project."})
            await self.send_json(messages.error_of(error, request_id=request_id))
            return
        click = dispatch.Click(
            user=self.user,
            project_id=self.project_id,
            image_id=image_id,
            request_id=request_id,
            prompt=prompt_values(data),
            reply_channel=self.channel_name,
        )
        # The click runs while this socket reads on: a newer one may supersede it.
        task = asyncio.ensure_future(self._predict(click))
        self._predictions: set[asyncio.Future] = getattr(self, "_predictions", set())
        self._predictions.add(task)
        task.add_done_callback(self._predictions.discard)

    async def _predict(self, click: dispatch.Click) -> None:
        reply = await dispatch.predict(click)
        if reply is None:
            self._answer_in_time(click.request_id, click.image_id)
            return
        try:
            await self.send_json(reply)
        except Exception:  # the socket closed while the click ran; the record is saved
            logger.info("prediction %s answered after its socket closed", click.request_id)

    def _answer_in_time(self, request_id: str, image_id: int) -> None:
        """Answer the click with an error if no worker has within ANNOTATOR_CLICK_TIMEOUT_S:
        a worker that died holding it, or none consuming the queue, must not leave the
        editor waiting forever."""
        pending: dict[str, asyncio.TimerHandle] = getattr(self, "_unanswered", {})
        self._unanswered = pending
        if request_id in pending:
            pending.pop(request_id).cancel()

        def expire() -> None:
            pending.pop(request_id, None)
            seconds = settings.ANNOTATOR_CLICK_TIMEOUT_S
            timeout = ErrorBody(
                code="timeout",
                message=f"No model worker answered within {seconds} s. Click again; if "
                "this repeats, ask an administrator to check the workers.",
                fields=None,
            )
            reply = messages.error(timeout, request_id=request_id, image_id=image_id)
            asyncio.ensure_future(self.send_json(reply))

        loop = asyncio.get_running_loop()
        pending[request_id] = loop.call_later(settings.ANNOTATOR_CLICK_TIMEOUT_S, expire)

    async def inference_reply(self, message: dict) -> None:
        """A worker's answer to a predict of this socket, sent through the channel layer."""
        request_id = message["reply"]["data"].get("request_id")
        timer = getattr(self, "_unanswered", {}).pop(request_id, None)
        if timer is not None:
            timer.cancel()
        await self.send_json(message["reply"])
