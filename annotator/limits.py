"""ASGI guard: a request body larger than the server accepts is refused before it is read."""

import json

from django.conf import settings

from annotator.api_errors import RequestTooLarge, error_data


class RequestSizeLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            limit = settings.ANNOTATOR_MAX_REQUEST_MB * 1024 * 1024
            length = dict(scope.get("headers", [])).get(b"content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                await self._refuse(send, settings.ANNOTATOR_MAX_REQUEST_MB)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(send, limit_mb: int) -> None:
        message = (
            f"The request is larger than this server accepts ({limit_mb} MB). "
            "Send fewer or smaller files at a time."
        )
        error = RequestTooLarge(message)
        body = json.dumps(error_data(error)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": error.status_code,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
