"""The editor's hot path over the project WebSocket: `predict` messages.

{"type": "predict", "request_id", "image_id", <prompt fields>} is answered on the same socket
with {"type": "prediction", "request_id", "masks", "scores", "prediction_id", ...} or
{"type": "error", "request_id", "message"}. A newer predict of the same user on the same
image supersedes one still queued.
"""

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404

from annotator.ids import ID_ERROR, parse_id
from inference import dispatch, supersede
from inference.services.predictions import PromptInput
from projects import access

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from channels.generic.websocket import AsyncJsonWebsocketConsumer as _Consumer
else:
    _Consumer = object


def _predict_message(text: str | None) -> dict | None:
    if not text or '"predict"' not in text:
        return None
    try:
        content = json.loads(text)
    except ValueError:
        return None
    return content if isinstance(content, dict) and content.get("type") == "predict" else None


class PredictMixin(_Consumer):
    """Mixed into projects.consumers.ProjectConsumer (which handles the other messages)."""

    async def dispatch(self, message):
        """Clicks and their answers skip Channels' per-message clean-up of the sync thread's
        database connections, a round trip to that thread (~0.3 ms): a click's database work
        runs on the interactive thread, or in database_sync_to_async, which cleans up after
        itself, and an answer has none."""
        kind = message.get("type")
        if kind == "websocket.receive":
            content = _predict_message(message.get("text"))
            if content is not None:
                await self.predict(content)
                return
        elif kind == "inference.reply":
            await self.inference_reply(message)
            return
        await super().dispatch(message)

    async def disconnect(self, code):
        for timer in getattr(self, "_unanswered", {}).values():
            timer.cancel()
        await super().disconnect(code)

    async def predict(self, content: dict) -> None:
        request_id = str(content.get("request_id", ""))[:100]
        image_id = parse_id(content.get("image_id"))
        if image_id is None:
            error = ValueError("image_id must be the id of an image of this project.")
            await self.send_json(dispatch.error_reply(request_id, content.get("image_id"), error))
            return
        if content.get("mask_input_prediction") is not None:
            earlier = parse_id(content["mask_input_prediction"])
            if earlier is None:
                error = ValueError(f"mask_input_prediction: {ID_ERROR}")
                await self.send_json(dispatch.error_reply(request_id, image_id, error))
                return
            content = {**content, "mask_input_prediction": earlier}
        if dispatch.in_process():
            # Numbered here, in arrival order; checked and run on the interactive thread.
            request = self._request(content, request_id, image_id)
            task = asyncio.ensure_future(self._predict_here(request))
            self._predictions: set[asyncio.Future] = getattr(self, "_predictions", set())
            self._predictions.add(task)
            task.add_done_callback(self._predictions.discard)
            return
        try:
            await database_sync_to_async(self._enqueue)(content, request_id, image_id)
        except (Http404, PermissionDenied) as error:
            await self.send_json(dispatch.error_reply(request_id, image_id, error))
            return
        self._answer_in_time(request_id, image_id)

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
            reply = {
                "type": "error",
                "code": "timeout",
                "request_id": request_id,
                "image_id": image_id,
                "message": f"No model worker answered within {seconds} s. Click again; if "
                "this repeats, ask an administrator to check the workers.",
            }
            asyncio.ensure_future(self.send_json(reply))

        loop = asyncio.get_running_loop()
        pending[request_id] = loop.call_later(settings.ANNOTATOR_CLICK_TIMEOUT_S, expire)

    def _check(self, image_id: int):
        """The image, if this socket's user may predict on it in this socket's project."""
        user = self.scope["user"]
        image = access.image_for_user(user, image_id, need="edit")
        if str(image.project_id) != str(self.scope["url_route"]["kwargs"]["project_id"]):
            raise Http404("No such image in this project.")
        image.checked_user = user
        return image

    def _enqueue(self, content: dict, request_id: str, image_id: int) -> None:
        """Check, number and queue a click for a worker: one hand-off to the database thread."""
        self._check(image_id)
        dispatch.predict_enqueue(self._request(content, request_id, image_id))

    def _request(self, content: dict, request_id: str, image_id: int) -> Any:
        user = self.scope["user"]
        return {
            "request_id": request_id,
            "user_id": user.pk,
            "image_id": image_id,
            "sequence": supersede.next_number(user.pk, image_id),
            "prompt": {k: content[k] for k in PromptInput.FIELDS if k in content},
            "reply_channel": self.channel_name,
        }

    async def _predict_here(self, request: Any) -> None:
        reply = await dispatch.predict_in_process(request, lambda: self._check(request["image_id"]))
        try:
            await self.send_json(reply)
        except Exception:  # the socket closed while the click ran; the record is saved
            logger.info("prediction %s answered after its socket closed", request["request_id"])

    async def inference_reply(self, message: dict) -> None:
        """A worker's answer to a predict of this socket, sent through the channel layer."""
        timer = getattr(self, "_unanswered", {}).pop(message["reply"].get("request_id"), None)
        if timer is not None:
            timer.cancel()
        await self.send_json(message["reply"])
