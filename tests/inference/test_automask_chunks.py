"""One pool automask job shared out among every worker on the `gpu` queue: the coordinator
queues the unfinished images as chunk tasks; chunks run in any order, twice, or after a
cancel, and the job still counts each image once and ends once, as it should.

The tasks go through Celery's real in-memory broker (the embedded default); the tests take
the messages off the `gpu` queue and run them as a worker would, in the order a test needs.
"""

from dataclasses import dataclass

import pytest

from annotator.celery import app as celery_app
from inference import tasks
from inference.services import automask
from projects import jobs
from projects.models import AutomaskRun, Job
from tests.inference.conftest import micro_ref, use_model


@dataclass
class Message:
    task: str
    args: list

    def run(self) -> None:
        """Deliver it to a worker: the task runs here, errors raised as a worker logs them."""
        celery_app.tasks[self.task].apply(args=self.args, throw=True)


class GpuQueue:
    def take(self) -> list[Message]:
        """Every message waiting on the `gpu` queue, in order, removed from it."""
        taken = []
        with celery_app.connection_for_read() as connection:
            channel = connection.default_channel
            while (message := channel.basic_get("gpu", no_ack=True)) is not None:
                args, _kwargs, _embed = message.decode()
                taken.append(Message(message.headers["task"], list(args)))
        return taken

    def purge(self) -> None:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.queue_purge("gpu")


@pytest.fixture
def gpu_queue():
    queue = GpuQueue()
    queue.purge()
    yield queue
    queue.purge()  # nothing left for a later test's worker


@pytest.fixture
def events(monkeypatch):
    seen: list[dict] = []
    monkeypatch.setattr("projects.jobs.publish", lambda group, kind, data: seen.append(data))
    return seen


def coordinate(job: Job, gpu_queue: GpuQueue) -> list[Message]:
    """Run the coordinator as the `gpu` worker would; the chunk tasks it queued."""
    tasks.automask_pool_task.apply(args=[job.pk], throw=True)
    chunks = gpu_queue.take()
    assert {m.task for m in chunks} <= {"inference.tasks.automask_chunk_task"}
    return chunks


def runs_per_image(job: Job) -> dict[int, int]:
    counts: dict[int, int] = {}
    for image_id in AutomaskRun.objects.filter(job=job).values_list("image_id", flat=True):
        counts[image_id] = counts.get(image_id, 0) + 1
    return counts


def test_a_pool_job_is_split_into_chunk_tasks_that_finish_it_in_any_order(
    drawn_pool, team, settings, gpu_queue, events
):
    images, _ = drawn_pool
    settings.ANNOTATOR_AUTOMASK_CHUNK = 2
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    chunks = coordinate(job, gpu_queue)
    ids = [image.pk for image in images]
    assert [m.args for m in chunks] == [[job.pk, ids[:2]], [job.pk, ids[2:]]]
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("running", 0, 3)

    chunks[1].run()  # a second worker may well finish its chunk first
    job.refresh_from_db()
    assert (job.status, job.done, job.message) == ("running", 1, "Automask 1/3")
    chunks[0].run()
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 3, 3)
    assert job.message == "Automask done on 3 image(s)." and job.result["working"] == {}
    assert runs_per_image(job) == {pk: 1 for pk in ids}
    assert [e["status"] for e in events if e["id"] == job.pk][-1] == "done"
    assert [e["status"] for e in events].count("done") == 1


class WorkerKilled(Exception):
    """Stands for a worker process dying at this point (its chunk is delivered again)."""


def test_a_chunk_delivered_twice_adds_no_run_and_the_job_ends_once(
    drawn_pool, team, settings, gpu_queue, events, monkeypatch
):
    images, _ = drawn_pool
    settings.ANNOTATOR_AUTOMASK_CHUNK = 2
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    first, second = coordinate(job, gpu_queue)
    release = automask.AutomaskProgress.release

    def killed_once(self, item, **kwargs):
        monkeypatch.setattr(automask.AutomaskProgress, "release", release)
        raise WorkerKilled()  # the run of the first image is saved, not yet counted

    monkeypatch.setattr(automask.AutomaskProgress, "release", killed_once)
    with pytest.raises(WorkerKilled):
        first.run()
    second.run()
    job.refresh_from_db()
    assert job.status == "running" and job.done == 2  # the saved run counts already
    assert job.result["working"] == {str(images[0].pk): job.result["working"][str(images[0].pk)]}

    first.run()  # delivered again after the broker's visibility timeout
    first.run()  # and once more, after the job ended
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 3, 3)
    assert runs_per_image(job) == {image.pk: 1 for image in images}
    assert job.result["working"] == {}
    assert [e["status"] for e in events].count("done") == 1


def test_an_unreadable_image_counts_once_however_often_its_chunk_is_delivered(
    drawn_pool, team, settings, gpu_queue
):
    images, _ = drawn_pool
    (settings.ANNOTATOR_UPLOAD_DIR / images[0].path).unlink()
    settings.ANNOTATOR_AUTOMASK_CHUNK = 1
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    chunks = coordinate(job, gpu_queue)
    chunks[0].run()
    chunks[0].run()
    job.refresh_from_db()
    assert job.done == 1 and len(job.result["failed"]) == 1
    for chunk in chunks[1:]:
        chunk.run()
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 3)
    assert job.message == "Done; 1 image(s) could not be read."
    assert job.result["failed"][0].startswith("photo0.png: ")


def test_cancel_midway_ends_the_job_cancelled_and_no_chunk_runs_after(
    drawn_pool, team, settings, gpu_queue, api_client, monkeypatch
):
    images, _ = drawn_pool
    settings.ANNOTATOR_AUTOMASK_CHUNK = 1
    client = api_client(team.owner)
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    chunks = coordinate(job, gpu_queue)
    chunks[0].run()
    original = automask.automask_image_run
    answers = []

    def cancelled_meanwhile(**kwargs):
        answers.append(client.post(f"/api/jobs/{job.pk}/cancel/").json())
        return original(**kwargs)

    monkeypatch.setattr(automask, "automask_image_run", cancelled_meanwhile)
    chunks[1].run()
    # Asked while a worker was on the second image: it finished that image, then the job.
    assert answers[0]["status"] == "cancelling"
    job.refresh_from_db()
    assert (job.status, job.done) == ("cancelled", 2)
    assert job.message == "Cancelled; 2 of 3 were done and are kept."

    chunks[2].run()  # a late chunk of another worker
    chunks[1].run()  # and a redelivered one
    job.refresh_from_db()
    assert (job.status, job.done) == ("cancelled", 2)
    assert len(answers) == 1, "a chunk ran an image after the cancel"
    assert set(runs_per_image(job)) == {images[0].pk, images[1].pk}


def test_cancel_with_chunks_queued_and_none_working_ends_at_once(
    drawn_pool, team, gpu_queue, api_client, events
):
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    chunks = coordinate(job, gpu_queue)
    # Every worker is busy with another job's chunks: nobody would notice a "cancelling".
    answer = api_client(team.owner).post(f"/api/automask/{job.pk}/cancel/").json()
    assert answer["status"] == "cancelled" and answer["done"] == 0
    assert events[-1]["status"] == "cancelled"
    for chunk in chunks:
        chunk.run()
    job.refresh_from_db()
    assert job.status == "cancelled" and not AutomaskRun.objects.filter(job=job).exists()


def test_cancel_before_the_coordinator_ran_ends_at_once_and_queues_nothing(
    drawn_pool, team, gpu_queue, api_client
):
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    answer = api_client(team.owner).post(f"/api/jobs/{job.pk}/cancel/").json()
    assert answer["status"] == "cancelled"
    assert coordinate(job, gpu_queue) == []


def test_resume_queues_only_the_unfinished_images(
    drawn_pool, team, settings, gpu_queue, api_client, django_capture_on_commit_callbacks
):
    images, _ = drawn_pool
    settings.ANNOTATOR_AUTOMASK_CHUNK = 1
    client = api_client(team.owner)
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    chunks = coordinate(job, gpu_queue)
    chunks[1].run()
    assert client.post(f"/api/automask/{job.pk}/cancel/").json()["status"] == "cancelled"
    first_run = AutomaskRun.objects.get(job=job)

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/automask/{job.pk}/resume/").status_code == 202
    (coordinator,) = gpu_queue.take()
    assert coordinator.task == "inference.tasks.automask_pool_task"
    coordinator.run()
    again = gpu_queue.take()
    assert [m.args[1] for m in again] == [[images[0].pk], [images[2].pk]]
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("running", 1, 3)
    for chunk in again:
        chunk.run()
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 3)
    assert runs_per_image(job) == {image.pk: 1 for image in images}
    assert AutomaskRun.objects.get(job=job, image=images[1]).pk == first_run.pk


def test_a_model_that_cannot_be_loaded_fails_the_job_with_its_reason(
    drawn_pool, team, settings, gpu_queue, checkpoint_dir
):
    settings.ANNOTATOR_AUTOMASK_CHUNK = 1
    use_model(team.project, micro_ref(checkpoint_dir / "gone.pt"))
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    chunks = coordinate(job, gpu_queue)
    with pytest.raises(Exception, match="gone.pt"):
        chunks[0].run()
    job.refresh_from_db()
    assert job.status == "failed" and "gone.pt" in job.message
    for chunk in chunks[1:]:
        chunk.run()  # the other chunks stop without trying
    job.refresh_from_db()
    assert job.status == "failed" and job.result["working"] == {}


def test_a_restarted_embedded_worker_ends_the_job_it_was_cancelling(drawn_pool, team, gpu_queue):
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    coordinate(job, gpu_queue)
    # The process stopped while one of its threads was on an image and a cancel was asked.
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.CANCELLING, result={"working": {"1": "embedded"}, "failed": []}
    )
    assert automask.automask_jobs_resume_interrupted() == []
    job.refresh_from_db()
    assert job.status == "cancelled" and job.result["working"] == {}
    assert gpu_queue.take() == []


def test_a_cancel_of_a_job_not_shared_among_tasks_waits_for_its_task(team):
    job = Job.objects.create(project=team.project, kind=Job.Kind.EXPORT, status="running")
    assert jobs.job_cancel(job=job).status == "cancelling"


def test_an_image_deleted_while_the_model_runs_is_skipped_with_its_reason(
    drawn_pool, team, settings, gpu_queue, monkeypatch
):
    """The model's run is where a delete lands in practice (seconds per image); the classic
    engine's automask is wrapped to delete the image from another connection's point of view
    exactly then."""
    from inference import engine
    from projects.models import Image

    images, drawings = drawn_pool
    settings.ANNOTATOR_AUTOMASK_CHUNK = 3
    real = engine.ClassicEngine.automask

    def on_second_image(self, rgb, params):
        masks = real(self, rgb, params)
        if Image.objects.filter(pk=images[1].pk, path=images[1].path).exists() and (
            rgb.shape == drawings[1].rgb.shape and (rgb == drawings[1].rgb).all()
        ):
            Image.objects.filter(pk=images[1].pk).delete()
        return masks

    monkeypatch.setattr(engine.ClassicEngine, "automask", on_second_image)
    job = automask.automask_start(project=team.project, user=team.owner, params={})
    for chunk in coordinate(job, gpu_queue):
        chunk.run()
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 3, 3)
    assert set(runs_per_image(job)) == {images[0].pk, images[2].pk}
    assert job.result[jobs.FAILED] == [
        f"{images[1].path}: The image was deleted while automask ran on it."
    ]
