"""Simulated annotators on "next unprocessed" at once: double hand-outs (must be 0) and latency.

Each annotator is a thread with its own HTTP client (so its own request and database
connection on the server); all start at one barrier, ask for their next unprocessed image,
then complete it and take the next (complete & next) until the pool is done. Every request is
timed. Against the production stack (PostgreSQL, Redis, daphne, celery workers; as
tests/deploy starts it) or the embedded server (`manage.py serve`, SQLite).

    .venv/bin/python benches/claims.py [--mode production|embedded] [--annotators 32]
        [--images 640]
"""

import argparse
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# This process only drives the servers; the test helpers it shares import Django modules,
# which need settings (of this process, not of the servers, which get their own).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
os.environ.setdefault("ANNOTATOR_VAR_DIR", tempfile.mkdtemp(prefix="claims-bench-driver-"))
django.setup()

from tests.conftest import free_port  # noqa: E402
from tests.workflow.storm import seed, storm  # noqa: E402


def embedded_start(base: Path) -> tuple[str, dict, subprocess.Popen]:
    env = {
        **os.environ,
        "ANNOTATOR_VAR_DIR": str(base / "var"),
        "ANNOTATOR_ADMIN_PASSWORD": "bench-password",
        "ANNOTATOR_DEMO_PROJECT": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("ANNOTATOR_MODE", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=(base / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return url, env, process
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit((base / "serve.log").read_text()) from None
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["production", "embedded"], default="production")
    parser.add_argument("--annotators", type=int, default=32)
    parser.add_argument("--images", type=int, default=640)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; mode {args.mode}")

    if args.mode == "production":
        from tests.deploy.stack import stack_start, temp_base

        base = temp_base()
        stack = stack_start(base, {})
        url, env, stop = stack.url, stack.env, stack.stop
    else:
        base = Path(tempfile.mkdtemp(prefix="claims-bench-"))
        url, env, process = embedded_start(base)

        def stop() -> None:
            process.send_signal(signal.SIGTERM)
            process.wait(15)

    try:
        project, tokens = seed(
            env, name=f"bench-{args.mode}", images=args.images, annotators=args.annotators
        )
        # One request each first, outside the timing: connections, caches, compiled SQL.
        warm = storm(url, project, tokens[:1], rounds=1)
        result = storm(url, project, tokens)
        result.handed[0][:0] = warm.handed[0]
        print(result.summary())
        if result.errors:
            print("errors:", *result.errors[:5], sep="\n  ")
        if result.doubles:
            raise SystemExit(f"DOUBLE HAND-OUTS: {result.doubles[:20]}")
    finally:
        stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
