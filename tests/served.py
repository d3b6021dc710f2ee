"""`manage.py serve` in a subprocess, as a newcomer runs it: its own database and folders,
migrated first, waited for until /healthz answers, and stopped (with every thread's stack
in the failure when it does not stop on SIGTERM)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def served_env(var: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(var), "PYTHONUNBUFFERED": "1", **extra}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@contextmanager
def served(env: dict[str, str], var: Path) -> Iterator[str]:
    """The base URL of a server with `env`, logging to var/serve.log."""
    manage = [sys.executable, "-X", "faulthandler", "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    log = var / "serve.log"
    process = subprocess.Popen(
        [*manage, "serve", "--port", str(port)],
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
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGUSR1)  # faulthandler: dump every thread's stack
            time.sleep(1)
            process.kill()
            process.wait()
            log_tail = log.read_text()[-6000:]
            raise AssertionError("the server did not stop on SIGTERM:\n" + log_tail) from None
