"""One production stack for the whole session (starting it costs ~20 s): the tests in this
folder share it, each in a project of its own."""

import shutil

import pytest
from PIL import Image as PILImage

from inference import checkpoints
from tests.deploy.stack import Stack, stack_start, temp_base
from tests.inference.conftest import draw_object
from tests.inference.http_server import FileServer

PHOTOS = 6


@pytest.fixture(scope="session")
def stack():
    base = temp_base()
    photos = base / "photos"
    photos.mkdir()
    for index in range(PHOTOS):
        drawn = draw_object(width=320, height=240, seed=index)
        PILImage.fromarray(drawn.rgb).save(photos / f"photo{index}.png")
    models = base / "checkpoints"
    models.mkdir()
    checkpoints.write_micro_checkpoint(models / "micro.pt", seed=1)
    # A mirror of the official checkpoints: the micro one where the tiny one would be.
    (base / "mirror" / "092824").mkdir(parents=True)
    shutil.copy(models / "micro.pt", base / "mirror" / "092824" / "sam2.1_hiera_tiny.pt")
    mirror = FileServer((base / "mirror").resolve())
    running: Stack = stack_start(
        base,
        {
            "ANNOTATOR_FOLDER_ROOTS": str(photos),
            "ANNOTATOR_MODEL_ROOTS": str(models),
            # A task of a killed worker goes back to the queue after this long (default an
            # hour, longer than any job); short here so the fault tests finish quickly.
            "ANNOTATOR_BROKER_VISIBILITY_TIMEOUT_S": "6",
            "ANNOTATOR_CLICK_TIMEOUT_S": "8",
            "ANNOTATOR_MODEL_BASE_URL": mirror.url,
        },
    )
    running.photos = photos
    running.checkpoint = models / "micro.pt"
    running.mirror = mirror
    yield running
    running.stop()
    mirror.stop()
    shutil.rmtree(base, ignore_errors=True)
