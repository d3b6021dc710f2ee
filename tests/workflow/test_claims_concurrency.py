"""Many annotators press "next unprocessed" at the same moment against the embedded server
(`manage.py serve`, SQLite): no image is handed to two of them. The same storm runs against
PostgreSQL in tests/deploy/test_claims_postgres.py."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port
from tests.workflow.storm import ROOT, seed, storm

ANNOTATORS = 16
IMAGES = 120


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    var = tmp_path_factory.mktemp("claims-var")
    env = {
        **os.environ,
        "ANNOTATOR_VAR_DIR": str(var),
        "ANNOTATOR_ADMIN_PASSWORD": "claims-test-password",
        "ANNOTATOR_DEMO_PROJECT": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    log = var / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "server did not start:\n" + log.read_text()
            time.sleep(0.2)
    yield base, env, log
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def test_annotators_asking_at_once_are_never_handed_the_same_image(embedded):
    base, env, log = embedded
    project_id, tokens = seed(env, name="storm-sqlite", images=IMAGES, annotators=ANNOTATORS)
    result = storm(base, project_id, tokens)
    print(result.summary())
    assert result.errors == [], result.errors[:5]
    assert result.doubles == [], result.summary()
    # Every image of the pool was handed out once, and everybody got work.
    assert result.total == IMAGES, result.summary()
    assert all(person for person in result.handed), result.summary()
