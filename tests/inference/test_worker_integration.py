"""Production wiring end to end: real Redis (broker and channel layer), two real
`celery worker` processes (interactive and gpu queues) and the app, sharing a SQLite file
(pytest-django's in-memory test database is invisible to other processes, so this test runs
its scenario in processes of its own; see worker_scenario.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_env(tmp_path, redis_url) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "ANNOTATOR_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": redis_url,
        "ANNOTATOR_EMBEDDED_WORKER": "false",
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
    }
    return env


@pytest.fixture
def workers(app_env, tmp_path):
    celery = str(Path(sys.executable).parent / "celery")
    processes = []
    for name, queues in (("interactive", "interactive"), ("gpu", "gpu,default")):
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed below)
        processes.append(
            (
                subprocess.Popen(
                    [
                        celery,
                        "-A",
                        "annotator",
                        "worker",
                        "-Q",
                        queues,
                        "-P",
                        "threads",
                        "-c",
                        "1",
                        "-n",
                        f"{name}@localhost",
                        "--without-heartbeat",
                        "--without-mingle",
                        "--without-gossip",
                        "-l",
                        "INFO",
                    ],
                    cwd=ROOT,
                    env=app_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                ),
                log,
            )
        )
    yield tmp_path
    for process, log in processes:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


@pytest.mark.slow
def test_click_answers_while_a_pool_job_runs_on_real_workers(workers, app_env):
    done = subprocess.run(
        [sys.executable, "-m", "tests.inference.worker_scenario"],
        cwd=ROOT,
        env=app_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    logs = "\n".join(p.read_text()[-3000:] for p in sorted(workers.glob("*.log")))
    assert done.returncode == 0, done.stderr[-3000:] + logs
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["job"]["status"] == "done", (seen, logs)
    assert seen["runs"] == seen["job"]["total"] == 4 and all(seen["flags"])
    statuses = [status for status, _ in seen["job_statuses"]]
    assert statuses[0] == "running" and statuses[-1] == "done"
    assert seen["prediction"]["type"] == "prediction", seen["prediction"]
    assert seen["prediction"]["iou"] >= 0.9 and seen["clicked_flag"]
    # The click did not wait for the pool: it was answered with images still to do.
    assert seen["job_done_when_answered"] < 4, seen
