"""Random-weight SAM2 checkpoints for the live server's browser tests: written into its
model folder (var/models, which the model door allows for a `manual` choice) and loaded
into a project through the API, as a person loads a manual checkpoint."""

from pathlib import Path

from inference import checkpoints
from tests.ui.helpers import call, wait_until


def micro_checkpoint(live_app) -> Path:
    path = Path(live_app["var"]) / "models" / "micro.pt"
    if not path.exists():
        checkpoints.write_micro_checkpoint(path, seed=1)
    return path


def tiny_checkpoint(live_app) -> Path:
    """The hiera-tiny shape (1024 px input) with random weights."""
    path = Path(live_app["var"]) / "models" / "tiny.pt"
    if not path.exists():
        checkpoints.write_tiny_checkpoint(path, seed=1)
    return path


def load_checkpoint(page, project: int, path: Path, overrides=()) -> None:
    choice = {
        "key": "manual",
        "checkpoint": str(path),
        "config": checkpoints.TINY_CONFIG,
        "overrides": list(overrides),
    }
    loaded = call(page, "POST", f"/api/projects/{project}/model/load/", choice)
    assert loaded["status"] in (200, 202), loaded
    wait_until(
        lambda: (
            call(page, "GET", f"/api/projects/{project}/model/")["data"].get("status") == "loaded"
        ),
        timeout=120,
        what="the checkpoint to load",
    )


def load_micro(page, live_app, project: int) -> None:
    load_checkpoint(page, project, micro_checkpoint(live_app), checkpoints.MICRO_OVERRIDES)
