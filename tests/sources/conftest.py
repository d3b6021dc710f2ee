"""Real parts for the pool tests: folder trees in temp dirs, an HTTP server on 127.0.0.1,
the Azurite emulator, and Celery running tasks in the calling thread."""

import io
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from annotator.celery import app as celery_app
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
AZURITE_ACCOUNT = "devstoreaccount1"
# The emulator's well-known development key, published in Azurite's documentation.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def image_bytes(fmt: str = "PNG", size=(40, 30), mode: str = "RGB", seed: int = 0, **save) -> bytes:
    rng = np.random.default_rng(seed)
    width, height = size
    if mode == "I;16":
        array = rng.integers(0, 65535, (height, width), dtype=np.uint16)
        picture = PILImage.fromarray(array)  # uint16 grey: mode I;16
    elif mode == "P":
        picture = PILImage.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
        picture = picture.convert("P", palette=PILImage.Palette.ADAPTIVE, colors=16)
    else:
        bands = len(PILImage.new(mode, (1, 1)).getbands())
        array = rng.integers(0, 255, (height, width, bands), dtype=np.uint8).squeeze()
        picture = PILImage.fromarray(array).convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.fixture
def eager_tasks(transactional_db, eager_tasks):
    """Tasks run in the test's thread when their transaction really commits, as the worker
    would run them after it (so these tests use real commits, not a wrapping transaction);
    their errors reach the test."""
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture
def folder_root(tmp_path, settings) -> Path:
    """An allowed root with a small tree, and a secret folder outside it."""
    root = tmp_path / "share"
    (root / "a" / "b").mkdir(parents=True)
    (root / "one.png").write_bytes(image_bytes(seed=1))
    (root / "a" / "two.jpg").write_bytes(image_bytes("JPEG", seed=2))
    (root / "a" / "b" / "three.png").write_bytes(image_bytes(seed=3))
    (root / "a" / "notes.txt").write_text("not an image")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "private.png").write_bytes(image_bytes(seed=9))
    settings.ANNOTATOR_FOLDER_ROOTS = [root]
    return root


@dataclass
class WebServer:
    base: str
    # path -> (status, content type, body); (seconds, "slow", body) answers after a delay
    routes: dict = field(default_factory=dict)
    hits: list = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture
def web(settings):
    """A real HTTP server on 127.0.0.1 serving what the test puts in `routes`."""
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    port = free_port()
    server_state = WebServer(base=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, with_body: bool):
            server_state.hits.append((self.command, self.path))
            status, kind, body = server_state.routes.get(
                self.path, (404, "text/plain", b"not found")
            )
            if kind == "slow":
                time.sleep(status)  # a server that takes `status` seconds to answer
                status, kind = 200, "image/png"
            if status in {301, 302}:
                self.send_response(status)
                self.send_header("Location", body.decode())
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", f'"{hash(body) & 0xFFFFFFFF:x}"')
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_GET(self):
            self._answer(True)

        def do_HEAD(self):
            self._answer(False)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server_state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _azurite_binary() -> Path:
    binary = Path(
        os.environ.get("ANNOTATOR_AZURITE_BLOB")
        or ROOT / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    )
    assert binary.exists(), (
        f"Azurite is missing at {binary}: run bin/test, which installs it from npm."
    )
    return binary


@pytest.fixture(scope="session")
def azurite(tmp_path_factory):
    """The Azure Blob Storage emulator on a free port, in memory, for the whole session."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            str(_azurite_binary()),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    try:
        _wait_for_port(port, process)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise AssertionError(f"Azurite exited at start: {output}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("Azurite did not start listening within 30 s")


def azurite_connection_string(endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    )
