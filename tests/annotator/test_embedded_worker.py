import threading

import pytest

from annotator.celery import app
from annotator.embedded_worker import start_embedded_worker, stop_embedded_worker

release = threading.Event()
ran = {}


@app.task(name="tests.wait_for_release")
def wait_for_release(tag: str) -> None:
    ran[tag] = threading.current_thread().name
    release.wait(timeout=30)


@app.task(name="tests.record")
def record(tag: str) -> None:
    ran[tag] = threading.current_thread().name


@pytest.fixture
def worker(transactional_db):
    # Starting reads the automask jobs an earlier run left unfinished, so it needs the
    # database; the workers' start closes connections, which a transaction would not survive.
    release.clear()
    ran.clear()
    yield start_embedded_worker()
    release.set()
    stop_embedded_worker()


def wait_until(predicate, timeout=15.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return True
        done.wait(0.05)
    return False


def test_tasks_run_in_the_background_without_blocking_the_caller(worker):
    wait_for_release.delay("long")
    # The caller got control back while the long task still runs...
    assert wait_until(lambda: "long" in ran)
    assert ran["long"] != threading.current_thread().name
    # ...and another task is served meanwhile by the second thread.
    record.delay("short")
    assert wait_until(lambda: "short" in ran)
    release.set()


def test_gpu_queue_tasks_are_consumed_too(worker):
    record.apply_async(args=["gpu"], queue="gpu")
    assert wait_until(lambda: "gpu" in ran)


def test_starting_twice_returns_the_running_workers(worker):
    assert start_embedded_worker() == worker
