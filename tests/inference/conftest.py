"""Fixtures for the inference tests: random-weight SAM2 checkpoints (built once per session,
never committed, never downloaded) and pool images with a known object."""

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import redis
import torch
from django.conf import settings
from PIL import Image as PILImage

from inference import checkpoints, refs
from projects.models import Image, Source
from tests.conftest import free_port

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def checkpoint_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="session")
def micro_checkpoint(checkpoint_dir) -> Path:
    return checkpoints.write_micro_checkpoint(checkpoint_dir / "micro.pt", seed=1)


@pytest.fixture
def micro_choice(micro_checkpoint, settings) -> dict:
    """A `manual` model choice of the micro checkpoint, allowed by the model roots."""
    settings.ANNOTATOR_MODEL_ROOTS = [micro_checkpoint.parent]
    return {
        "key": "manual",
        "checkpoint": str(micro_checkpoint),
        "config": checkpoints.TINY_CONFIG,
        "overrides": list(checkpoints.MICRO_OVERRIDES),
    }


@pytest.fixture(autouse=True)
def _checkpoints_in_the_model_roots(checkpoint_dir, settings):
    """The session's random-weight checkpoints are a model root, as an operator's are."""
    settings.ANNOTATOR_MODEL_ROOTS = [checkpoint_dir]


def micro_ref(path: Path, **params) -> refs.ModelRef:
    return refs.ModelRef(
        key="manual",
        checkpoint=str(path),
        config=checkpoints.TINY_CONFIG,
        overrides=checkpoints.MICRO_OVERRIDES,
        params=refs.LoadParams(**params),
    )


@dataclass
class Drawn:
    """A synthetic photograph: one coloured object on a plain background."""

    rgb: np.ndarray
    truth: np.ndarray  # the object's true mask
    centre: tuple[int, int]  # (x, y) inside the object


def draw_object(width=160, height=120, seed=0) -> Drawn:
    rng = np.random.default_rng(seed)
    rgb = np.full((height, width, 3), (215, 210, 200), np.uint8)
    rgb = np.clip(rgb + rng.normal(0, 3, rgb.shape), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:height, :width]
    cx, cy = width // 2 + 7, height // 2 - 5
    truth = ((xx - cx) / 38.0) ** 2 + ((yy - cy) / 27.0) ** 2 <= 1.0
    truth |= (abs(xx - (cx - 35)) < 12) & (abs(yy - (cy + 18)) < 14)
    rgb[truth] = np.clip(
        np.array((40, 90, 170)) + rng.normal(0, 4, (truth.sum(), 3)), 0, 255
    ).astype(np.uint8)
    return Drawn(rgb=rgb, truth=truth, centre=(cx, cy))


def write_png(rgb: np.ndarray, name: str) -> Path:
    path = Path(settings.ANNOTATOR_UPLOAD_DIR) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(rgb).save(path)
    return path


@pytest.fixture
def drawn_pool(team):
    """Three readable images in an upload source of the team's project."""
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="photos")
    images, drawings = [], []
    for index in range(3):
        drawn = draw_object(seed=index)
        write_png(drawn.rgb, f"photo{index}.png")
        images.append(
            Image.objects.create(project=team.project, source=source, path=f"photo{index}.png")
        )
        drawings.append(drawn)
    return images, drawings


def use_model(project, ref: refs.ModelRef) -> None:
    """Make `ref` the project's active model, as a finished load does."""
    project.model_selection = {"active": ref.as_dict(), "status": "loaded"}
    project.save(update_fields=["model_selection"])


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: bin/test installs it (apt package redis-server)"
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(10)
