import json

from annotator.asgi import application


async def call(headers: list[tuple[bytes, bytes]]) -> tuple[dict, dict]:
    """One HTTP request through the whole ASGI application; the body is never sent."""
    sent = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/projects/1/uploads/",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "query_string": b"",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
        "scheme": "http",
        "http_version": "1.1",
        "asgi": {"version": "3.0"},
    }

    async def receive():
        raise AssertionError("the body must not be read")

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0], sent[1]


async def test_a_request_larger_than_the_limit_is_refused_unread(settings):
    settings.ANNOTATOR_MAX_REQUEST_MB = 5
    start, body = await call([(b"content-length", str(6 * 1024 * 1024).encode())])
    assert start["status"] == 413
    error = json.loads(body["body"])["error"]
    assert error["code"] == "request_too_large"
    assert "5 MB" in error["message"]
