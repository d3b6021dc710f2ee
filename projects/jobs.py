"""Progress, cancel and outcome of every long job: downloads, loads, pool automask,
exports, source scans.

A task hands its work to `run_job`, which gives it a `JobProgress`: the work marks the job
running, reports done/total with a message (stored, and published as `job.progress` to the
project's group at most a few times a second), and is stopped by JobCancelled at the next
check after someone asked to cancel. `run_job` records how the job ended: done, cancelled,
or failed with a reason a person can read.

A job whose items tasks on several workers do at once (a pool automask) uses `SharedJob`
instead: the same statuses, messages and events, kept right across processes under the job's
row lock. `job_cancel` asks any job to stop.

A job starts one way: a service creates its row and calls `job_enqueue`, which sends the
kind's task (by name, from `JOB_TASKS`, so no service imports a tasks module) once the
transaction commits; the task is a one-line wrapper that hands the job id back to a service.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from projects.events import project_group, publish, user_group
from projects.models import Job

# The task that runs each kind of job; its queue comes from CELERY_TASK_ROUTES.
JOB_TASKS: dict[str, str] = {
    Job.Kind.MODEL_LOAD: "inference.tasks.model_load_task",
    Job.Kind.MODEL_DOWNLOAD: "inference.tasks.model_download_task",
    Job.Kind.AUTOMASK_POOL: "inference.tasks.automask_pool_task",
    Job.Kind.EXPORT: "projects.exports.tasks.export_run_task",
    Job.Kind.SOURCE_SCAN: "projects.sources.scan",
    Job.Kind.IMPORT: "projects.imports.tasks.import_run_task",
    Job.Kind.PREPARE_EMBEDDINGS: "inference.tasks.embeddings_prepare_job_task",
}


def task_send(name: str, *args: Any, queue: str | None = None) -> None:
    """Send a registered task by name: the caller needs no import of the module that
    defines it (a service never imports tasks)."""
    if name not in current_app.tasks:
        # Task modules are discovered when a worker starts; a web process finds them here.
        current_app.loader.import_default_modules()
    task = current_app.tasks[name]
    if queue is None:
        task.delay(*args)
    else:
        task.apply_async(args=list(args), queue=queue)


def job_enqueue(job: Job) -> None:
    """Send the job's task once the transaction that made the job commits, so the worker
    always finds the row."""
    name = JOB_TASKS[job.kind]
    transaction.on_commit(lambda: task_send(name, job.pk))


PUBLISH_EVERY_S = 0.25


class JobCancelled(Exception):
    """Someone asked the job to stop; the message, if any, says what was kept."""


class JobFailed(Exception):
    """An expected failure (a source gone, a file refused): the job fails with this message,
    and the task ends normally."""


def job_event(job: Job) -> dict[str, Any]:
    return {
        "id": job.pk,
        "project": job.project_id,
        "kind": job.kind,
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "eta_seconds": job_eta(job),
        "message": job.message,
        "result": job.result,
    }


# ---------------------------------------------------------------------------------------
# How long a job has left

PACE = "pace"  # result key of a shared job: when this run started and its latest item ends
PACE_WINDOW = 20  # the item ends an estimate looks back on


def pace_start(now: float) -> dict[str, Any]:
    """The pace of a run that starts now: a resume starts afresh, whatever came before."""
    return {"started": now, "ends": []}


def pace_step(pace: object, now: float) -> dict[str, Any]:
    """The pace with one more item ended at `now`, keeping the latest PACE_WINDOW ends."""
    if not isinstance(pace, dict) or not isinstance(pace.get("ends"), list):
        pace = pace_start(now)
    return {**pace, "ends": [*pace["ends"], now][-PACE_WINDOW:]}


def eta_from_pace(pace: object, remaining: int) -> float | None:
    """Seconds left for `remaining` items at the pace of this run's latest items, or None
    before the first item of the run ended.

    The time per item is the span of the latest ends over the items in it: what one worker
    or several together do. Until three items ended, the span starts at the run's start
    (it holds the first item's warm-up); after that, only ends count."""
    if remaining <= 0 or not isinstance(pace, dict):
        return None
    ends = [float(t) for t in pace.get("ends") or [] if isinstance(t, int | float)]
    if not ends:
        return None
    if len(ends) >= 3:
        span, items = ends[-1] - ends[0], len(ends) - 1
    else:
        span, items = ends[-1] - float(pace.get("started") or ends[0]), len(ends)
    if span <= 0:
        return None
    return span / items * remaining


def job_eta(job: Job) -> float | None:
    """Seconds a running job has left: a shared job from its latest items, another from its
    pace since it started; None while it does not run."""
    if job.status != Job.Status.RUNNING:
        return None
    if PACE in job.result:
        return eta_from_pace(job.result[PACE], job.total - job.done)
    return job.eta_seconds()


def publish_job(job: Job) -> None:
    group = project_group(job.project_id) if job.project_id else user_group(job.created_by_id or 0)
    publish(group, "job.progress", job_event(job))


class JobProgress:
    def __init__(self, job_id: int) -> None:
        self.job = Job.objects.get(pk=job_id)
        self._published_at = 0.0
        self._stepped_at = 0.0

    def cancelled(self) -> bool:
        status = Job.objects.filter(pk=self.job.pk).values_list("status", flat=True).first()
        return status in (Job.Status.CANCELLING, Job.Status.CANCELLED, None)

    def check(self) -> None:
        if self.cancelled():
            raise JobCancelled()

    def start(self, *, total: int = 0, message: str = "") -> None:
        self.check()
        job = self.job
        job.status, job.total, job.message = Job.Status.RUNNING, total, message
        job.started_at = job.started_at or timezone.now()
        # A resumed job keeps its start time and count of what was already done.
        Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
            status=job.status, total=total, message=message, started_at=job.started_at
        )
        self._publish(force=True)

    def step(
        self,
        *,
        done: int,
        message: str | None = None,
        result: dict | None = None,
        force: bool = False,
        every: float = 0.0,
    ) -> None:
        """Record progress, publish it (throttled), then stop if a cancel was asked.

        With `every`, calls closer together than that many seconds are dropped (a download
        reports each chunk; the database hears of it a few times a second)."""
        now = time.monotonic()
        if every and not force and now - self._stepped_at < every:
            return
        self._stepped_at = now
        job = self.job
        job.done = done
        fields: dict[str, Any] = {"done": done, "updated_at": timezone.now()}
        if message is not None:
            job.message = fields["message"] = message
        if result is not None:
            job.result = fields["result"] = {**job.result, **result}
        Job.objects.filter(pk=job.pk).update(**fields)
        self._publish(force=force)
        self.check()

    def finish(self, status: str, message: str, result: dict | None = None) -> None:
        job = self.job
        job.status, job.message, job.finished_at = status, message, timezone.now()
        if result is not None:
            job.result = {**job.result, **result}
        job.save(
            update_fields=[
                "status",
                "message",
                "finished_at",
                "result",
                "done",
                "total",
                "updated_at",
            ]
        )
        self._publish(force=True)

    def _publish(self, *, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._published_at >= PUBLISH_EVERY_S:
            self._published_at = now
            publish_job(self.job)


def run_job(job_id: int, work) -> None:
    """Run `work(progress)` and record its end: done, cancelled or failed with the reason."""
    progress = JobProgress(job_id)
    if progress.job.status in (Job.Status.DONE, Job.Status.CANCELLED, Job.Status.FAILED):
        return  # a redelivered task of a finished job
    try:
        message = work(progress) or "Done."
    except JobCancelled as cancelled:
        progress.finish(Job.Status.CANCELLED, str(cancelled) or "Cancelled.")
    except JobFailed as failure:
        progress.finish(Job.Status.FAILED, str(failure))
    except Exception as error:  # the reason goes to the person who started the job
        progress.finish(Job.Status.FAILED, f"{error}")
        raise
    else:
        progress.finish(Job.Status.DONE, message)


# ---------------------------------------------------------------------------------------
# A job shared among tasks

WORKING = "working"  # result key of a shared job: item -> the worker on it now
FAILED = "failed"  # result key: "label: reason" for each item that could not be done


@contextmanager
def _locked(job_id: int) -> Iterator[Job | None]:
    """The job, locked against its other tasks until the block ends: select_for_update on
    PostgreSQL; SQLite runs one writing transaction at a time anyway."""
    with transaction.atomic():
        yield Job.objects.select_for_update().filter(pk=job_id).first()


_published_at: dict[int, float] = {}


def _publish_throttled(job: Job, *, force: bool) -> None:
    now = time.monotonic()
    if force or now - _published_at.get(job.pk, 0.0) >= PUBLISH_EVERY_S:
        _published_at[job.pk] = now
        publish_job(job)
    if not job.is_active:
        _published_at.pop(job.pk, None)


def _end(job: Job, status: str, message: str) -> None:
    job.status, job.message, job.finished_at = status, message, timezone.now()
    if WORKING in job.result:
        job.result[WORKING] = {}


def cancelled_message(job: Job) -> str:
    return f"Cancelled; {job.done} of {job.total} were done and are kept."


def _cancel_if_idle(job: Job) -> bool:
    """End a shared job asked to stop once no task works on it: the tasks still queued find
    it cancelled and do nothing."""
    if job.status == Job.Status.CANCELLING and job.result.get(WORKING) == {}:
        _end(job, Job.Status.CANCELLED, cancelled_message(job))
        return True
    return False


def job_cancel(*, job: Job) -> Job:
    """Ask a job of any kind to stop: the one cancel path. Its task sees it at its next
    check; a job still queued, or a shared job no task works on (its tasks are queued behind
    others, or no worker is up), ends here."""
    queued = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).exists()
    if job.request_cancel():
        with _locked(job.pk) as locked:
            if locked is not None and (
                _cancel_if_idle(locked) or (queued and _cancel_if_unstarted(locked))
            ):
                locked.save()
        job.refresh_from_db()
        publish_job(job)
    return job


def _cancel_if_unstarted(job: Job) -> bool:
    if job.status == Job.Status.CANCELLING and job.started_at is None and WORKING not in job.result:
        _end(job, Job.Status.CANCELLED, "Cancelled before it started.")
        return True
    return False


class SharedJob:
    """Progress, cancel and outcome of a job whose items tasks on several workers do at once.

    A coordinator `start`s it and queues the items; a task `claim`s each item before working
    on it and `release`s it after. Every change happens under the job's row lock, so whatever
    the order of the tasks: `done` is recounted from the records (`count_done`) plus the
    items that failed; the release that brings done to total ends the job, exactly once; a
    cancel ends it when no item is being worked on; a failure of the whole job (`fail`) stops
    the others at their next claim. A redelivered task claims its items again and finds
    them done."""

    def __init__(self, job_id: int, *, worker: str = "") -> None:
        self.job_id = job_id
        self.worker = worker

    # What a kind of job counts and says -----------------------------------------------

    def count_done(self, job: Job) -> int:
        """How many items have their record (not counting failures)."""
        raise NotImplementedError

    def running_message(self, job: Job) -> str:
        return f"{job.done}/{job.total}"

    def done_message(self, job: Job) -> str:
        return "Done."

    # The coordinator ------------------------------------------------------------------

    def start(self, *, total: int, message: str) -> bool:
        """Mark the job running over `total` items; False when it must not run (it ended,
        or a cancel was asked: then it ends cancelled here, nothing being queued yet) or
        has nothing left to do (then it ends done here)."""
        with _locked(self.job_id) as job:
            if job is None or job.status not in Job.ACTIVE:
                return False
            if job.status == Job.Status.CANCELLING:
                job.result.setdefault(WORKING, {})  # asked to stop before it started
                _cancel_if_idle(job)
                go = False
            else:
                # A resume (or a restarted embedded worker) starts over what is not done:
                # failures are tried again, and what the stopped tasks held is let go.
                job.result = {
                    **job.result,
                    WORKING: {},
                    FAILED: [],
                    PACE: pace_start(time.time()),
                }
                job.status, job.total, job.message = Job.Status.RUNNING, total, message
                job.started_at = job.started_at or timezone.now()
                job.done = self.count_done(job)
                go = not self._finish_if_complete(job)
            job.save()
        _publish_throttled(job, force=True)
        return go

    def abandon(self) -> None:
        """No task works on the job any more (the embedded worker restarted with an empty
        queue): let go of what they held, and end it if it was being cancelled."""
        with _locked(self.job_id) as job:
            if job is None or WORKING not in job.result:
                return
            job.result[WORKING] = {}
            ended = _cancel_if_idle(job)
            job.save()
        if ended:
            _publish_throttled(job, force=True)

    # The tasks --------------------------------------------------------------------------

    def claim(self, item: str) -> bool:
        """Take an item to work on; False when the job no longer runs, and the task stops."""
        ended = False
        with _locked(self.job_id) as job:
            if job is None:
                return False
            working = dict(job.result.get(WORKING) or {})
            running = job.status == Job.Status.RUNNING
            if running:
                working[item] = self.worker
            elif item in working:
                del working[item]  # what a killed delivery of this task held
            elif job.status != Job.Status.CANCELLING:
                return False  # an ended job: nothing to write
            job.result = {**job.result, WORKING: working}
            ended = _cancel_if_idle(job)
            job.save()
        if ended:
            _publish_throttled(job, force=True)
        return running

    def release(self, item: str, *, label: str, reason: str | None = None) -> None:
        """Record an item's end: done (its record was saved) or failed for `reason`; the
        release that completes the job ends it."""
        with _locked(self.job_id) as job:
            if job is None:
                return
            working = dict(job.result.get(WORKING) or {})
            working.pop(item, None)
            # A failure counts once however often the item is tried, and not after it worked.
            failed = [f for f in job.result.get(FAILED) or [] if not f.startswith(f"{label}: ")]
            if reason is not None:
                failed.append(f"{label}: {reason}")
            job.result = {**job.result, WORKING: working, FAILED: failed}
            if job.status == Job.Status.RUNNING:
                job.result[PACE] = pace_step(job.result.get(PACE), time.time())
            job.done = self.count_done(job) + len(failed)
            ended = self._finish_if_complete(job) or _cancel_if_idle(job)
            if job.status == Job.Status.RUNNING:
                job.message = self.running_message(job)
            job.save()
        _publish_throttled(job, force=ended)

    def fail(self, item: str, error: Exception) -> None:
        """The whole job fails (a model that cannot be loaded): the reason goes to the
        person who started it, and the other tasks stop at their next claim."""
        with _locked(self.job_id) as job:
            if job is None:
                return
            job.result.get(WORKING, {}).pop(item, None)
            if job.status in Job.ACTIVE:
                _end(job, Job.Status.FAILED, f"{error}")
            job.save()
        _publish_throttled(job, force=True)

    def _finish_if_complete(self, job: Job) -> bool:
        if job.status != Job.Status.RUNNING or job.done < job.total:
            return False
        _end(job, Job.Status.DONE, self.done_message(job))
        return True
