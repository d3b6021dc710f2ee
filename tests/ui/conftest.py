"""Browser tests: Debian's Chromium driven by Playwright against the real server.

The server is `manage.py serve` in a subprocess (daphne with the embedded worker), with its
own database and folders, exactly as a newcomer runs it.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image as PILImage

from tests.conftest import free_port

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
    env = {
        **os.environ,
        "ANNOTATOR_VAR_DIR": str(var),
        "ANNOTATOR_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ANNOTATOR_FOLDER_ROOTS": str(datasets),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    log_path = var / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "server did not start:\n" + log_path.read_text()
            time.sleep(0.2)
    yield {"base": base, "datasets": datasets, "var": var}
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # faulthandler: dump every thread's stack
        time.sleep(1)
        process.kill()
        log = log_path.read_text()[-6000:]
        raise AssertionError("the server did not stop on SIGTERM:\n" + log) from None


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
