"""Browser tests: Debian's Chromium driven by Playwright against the real server.

The server is `manage.py serve` in a subprocess (daphne with the embedded worker), with its
own database and folders, exactly as a newcomer runs it.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.served import served, served_env

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ADMIN_PASSWORD = "browser-test-password"
CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/ui/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    assert Path(CHROMIUM).exists(), "Debian's chromium is required: apt-get install chromium"
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1366, "height": 768}}


def synthetic_pool(folder: Path, count: int = 4) -> None:
    """Plain grey pictures, each with one bright disc: an object a click should find."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for i in range(count):
        height, width = 240, 320
        yy, xx = np.mgrid[:height, :width]
        cx, cy, r = 100 + 30 * i, 110, 45
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        pixels = np.full((height, width, 3), 90, dtype=np.uint8)
        pixels[disc] = (230, 60, 40)
        pixels = np.clip(pixels + rng.normal(0, 3, pixels.shape), 0, 255).astype(np.uint8)
        PILImage.fromarray(pixels).save(folder / f"disc_{i}.png")


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    var = tmp_path_factory.mktemp("ui-var")
    datasets = tmp_path_factory.mktemp("datasets")
    synthetic_pool(datasets / "discs")
    env = served_env(
        var, ANNOTATOR_ADMIN_PASSWORD=ADMIN_PASSWORD, ANNOTATOR_FOLDER_ROOTS=str(datasets)
    )
    with served(env, var) as base:
        yield {"base": base, "datasets": datasets, "var": var}


@pytest.fixture
def console_errors(page):
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture(autouse=True)
def artifacts_on_failure(request, page, console_errors):
    yield
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.name
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
        (ARTIFACTS / f"FAILED-{name}.console.txt").write_text("\n".join(console_errors))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def login(page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
