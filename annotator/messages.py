"""The project WebSocket's wire contract: every message, both ways, is one envelope
`{"type": <name>, "data": {...}}`, and this module lists them all.

Browser to server: `predict` (PredictData), `open_image` (ImageRef), `close_image` and
`ping` (no data). Server to browser, answering this socket: `hello`, `pong`, `prediction`
and `error` (ErrorData: the one error body of projects.errors with the request it answers).
Server to browser, relayed from the groups `project.<id>` and `user.<id>` (services publish
them through projects.events): each type below names the events it is the data of.
"""

from collections.abc import Mapping
from typing import Any, TypedDict

from django.core.exceptions import ValidationError

from projects.errors import ErrorBody, error_body


class Message(TypedDict):
    type: str
    data: Mapping[str, Any]


def message(kind: str, data: Mapping[str, Any]) -> Message:
    return {"type": kind, "data": data}


def incoming(content: object) -> tuple[str, dict[str, Any]]:
    """The type and data of a message a browser sent, or a ValidationError."""
    if not isinstance(content, dict) or not isinstance(content.get("type"), str):
        raise ValidationError('A message is {"type": <name>, "data": {...}}.')
    data = content.get("data", {})
    if not isinstance(data, dict):
        raise ValidationError({"data": "Must be an object."})
    return content["type"], data


# --------------------------------------------------------------- browser to server


class PredictData(TypedDict, total=False):
    """`predict`: besides these, the prompt's fields (inference.prompts.PromptInput)."""

    request_id: str  # echoed in the answer; the editor keeps only its latest click's
    image_id: int


class ImageRef(TypedDict):
    """`open_image`: this tab shows the image (presence); `close_image` has no data."""

    image_id: int


# --------------------------------------------------------------- answers to this socket


class HelloData(TypedDict):
    project: int
    role: str


def hello(*, project_id: int, role: str) -> Message:
    return message("hello", HelloData(project=project_id, role=role))


def pong() -> Message:
    return message("pong", {})


class PredictionData(TypedDict):
    request_id: str
    image_id: int
    prediction_id: int
    masks: list[dict]  # COCO RLE, image size
    scores: list[float]
    width: int
    height: int
    model: dict[str, Any]
    logits: list | None  # low-res logits, when the prompt asked for them
    embedding_cached: bool


def prediction(*, request_id: str, image_id: int, result: Mapping[str, Any]) -> Message:
    """`result`: the other PredictionData fields, as the prediction service returns them."""
    return message("prediction", {"request_id": request_id, "image_id": image_id, **result})


class ErrorData(ErrorBody):
    request_id: str | None  # the predict it answers, if any
    image_id: int | None


def error(
    body: ErrorBody, *, request_id: str | None = None, image_id: int | None = None
) -> Message:
    return message("error", ErrorData(**body, request_id=request_id, image_id=image_id))


def error_of(
    exc: Exception, *, request_id: str | None = None, image_id: int | None = None
) -> Message:
    """The error answer of a domain error (projects.errors)."""
    return error(error_body(exc), request_id=request_id, image_id=image_id)


# --------------------------------------------------------------- events of the groups


class PresenceUser(TypedDict):
    user_id: int
    username: str


class PresenceData(TypedDict):
    """`presence`: who has the image open now."""

    image_id: int
    users: list[PresenceUser]


class JobProgressData(TypedDict):
    """`job.progress`."""

    id: int
    project: int | None
    kind: str
    status: str
    done: int
    total: int
    eta_seconds: float | None
    message: str
    result: dict[str, Any]


class ModelStateData(TypedDict, total=False):
    """`model.state`: the project's model selection."""

    status: str  # default, loading, loaded, failed or cancelled
    message: str
    active: dict[str, Any]
    requested: dict[str, Any]
    loaded_at: str
    job_id: int


class ImageChangedData(TypedDict):
    """`image.changed`: an edit saved; `image.removed` and `image.restored` carry an ImageRef."""

    image_id: int
    version: int
    status: str
    by: str  # the username of who changed it


class ImageContentChangedData(TypedDict):
    """`image.content_changed`: the file behind the image's path is another picture now."""

    image_id: int
    old_key: str
    new_key: str


class SourceData(TypedDict, total=False):
    """`source.added`, `source.removed`, `source.restored`, `source.images_added`."""

    source_id: int
    kind: str
    name: str
    added: int  # source.added and source.images_added: how many images came


class AutomaskImageData(TypedDict):
    """`automask.image`: a job finished an image."""

    job: int
    image: int
    run: int
    masks: int


class AssignmentChangedData(TypedDict):
    """`assignment.changed`: an owner assigned images to someone or took them back; sent to
    the project and to that person."""

    project: int
    user: str  # the assignee's username
    action: str  # assigned or unassigned
    images: int  # how many
    by: str  # the owner's username


class CommentChangedData(TypedDict):
    """`comment.changed`: a comment or issue on an image was added, resolved or reopened, or a
    rejection added its comment and issues; pages showing the image read its comments again."""

    image_id: int
    comment_id: int | None
    action: str  # added, resolved, reopened or rejected
    by: str  # the username of who did it


class NoticeData(TypedDict, total=False):
    """`notice`: something needs this person (sent to `user.<id>` only, by
    projects.events.notify_user); pages show it as a toast with a link."""

    kind: str  # assigned, unassigned, rejected or accepted
    text: str
    project_id: int
    url: str  # where to look, or ""
    images: int  # assigned and unassigned: how many
    image_id: int  # rejected and accepted: which
