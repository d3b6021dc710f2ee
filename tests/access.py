"""The access matrix: every URL pattern, every role.

Each app lists its routes in tests/<app>/access_routes.py as ROUTES, a list of Route. The
matrix test fails when a URL pattern has no Route, so no endpoint can ship unchecked.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import Team

ROLES = ["owner", "annotator", "reviewer", "viewer", "outsider", "anonymous"]
# Which member roles each need lets through; a reviewer sees what a viewer sees, comments,
# accepts and rejects, and draws nothing.
ALLOWED = {
    "view": {"owner", "annotator", "reviewer", "viewer"},
    "comment": {"owner", "annotator", "reviewer"},
    "edit": {"owner", "annotator"},
    "review": {"owner", "reviewer"},
    "own": {"owner"},
}


@dataclass
class Scene:
    """A project with one object of each kind, for building URLs."""

    team: Team
    source: Any
    image: Any
    label: Any
    job: Any
    prediction: Any
    automask_run: Any
    mask_object: Any
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name
    method: str  # get, post, patch, put, delete
    # view / comment / edit / review / own: member roles of the scene's project (ALLOWED);
    # login: any signed-in user; public: anyone.
    need: str
    kwargs: Callable[[Scene], dict] = lambda scene: {}
    data: Callable[[Scene], Any] | None = None
    data_format: str = "json"  # json or multipart
    page: bool = False  # a page answers anonymous users with a redirect to the login page
    ok: tuple[int, ...] = (200, 201, 202, 204, 302)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.name}"
