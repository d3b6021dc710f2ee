"""The pool's embeddings prepared ahead of the first click: the `prepare_embeddings` job
(progress, estimate, cancel, resume, skipping what is stored), its route and its bad input,
the project's `embeddings_auto` setting, and the prefetch of the next image on open."""

import pytest

from inference import engine, refs
from inference.embeddings import EmbeddingStore, embedding_store
from inference.services import embeddings, predictions
from inference.services.predictions import PromptInput
from projects.jobs import PACE
from projects.models import Image, ImageStatus, Job, Source
from tests.inference.conftest import draw_object, micro_ref, use_model, write_png

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture(autouse=True)
def _fresh_memory():
    engine.embedding_cache().clear()
    yield
    engine.embedding_cache().clear()


@pytest.fixture
def pool(team, micro_checkpoint):
    """Five readable images on the micro model, loaded as a finished load leaves it."""
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="pool")
    images = []
    for index in range(5):
        write_png(draw_object(seed=index).rgb, f"pool{index}.png")
        images.append(
            Image.objects.create(project=team.project, source=source, path=f"pool{index}.png")
        )
    ref = micro_ref(micro_checkpoint)
    use_model(team.project, ref)
    return images, ref


def _stored(ref, images) -> list[bool]:
    store = embedding_store()
    for image in images:
        image.refresh_from_db()
    return [bool(image.key) and store.contains(ref.cache_key, image.key) for image in images]


def _start(client, project, body=None):
    return client.post(f"/api/projects/{project.pk}/embeddings/", body or {}, format="json")


def test_the_job_prepares_the_pool_unprocessed_first_and_clicks_find_it(
    pool, team, api_client, monkeypatch
):
    images, ref = pool
    Image.objects.filter(pk=images[0].pk).update(status=ImageStatus.IN_PROGRESS)
    order = []
    original = EmbeddingStore.put

    def recording(self, model_key, image_key, state):
        order.append(Image.objects.get(key=image_key).pk)
        return original(self, model_key, image_key, state)

    monkeypatch.setattr(EmbeddingStore, "put", recording)
    response = _start(api_client(team.annotator), team.project)
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.kind == Job.Kind.PREPARE_EMBEDDINGS and job.total == 5
    embeddings.embeddings_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == job.total == 5
    assert job.result["computed"] == 5 and job.result["skipped"] == 0
    assert len(job.result[PACE]["ends"]) == 5
    assert order == [image.pk for image in images[1:]] + [images[0].pk]
    assert _stored(ref, images) == [True] * 5

    engine.unload_all()  # even a restarted click worker answers from the store
    result = predictions.prediction_run(
        image=images[3],
        user=team.annotator,
        prompt=PromptInput.from_dict({"point_coords": [[87, 55]], "point_labels": [1]}),
    )
    assert result.embedding_cached


def test_cancel_keeps_what_was_done_and_resume_skips_it(pool, team, api_client, monkeypatch):
    images, ref = pool
    client = api_client(team.owner)
    job_id = _start(client, team.project).json()["id"]
    original = EmbeddingStore.put
    writes = []

    def cancel_after_two(self, model_key, image_key, state):
        written = original(self, model_key, image_key, state)
        writes.append(image_key)
        if len(writes) == 2:
            running = client.get(f"/api/jobs/{job_id}/").json()
            assert running["status"] == "running" and running["done"] == 1
            assert running["eta_seconds"] > 0  # from this run's pace
            assert client.post(f"/api/jobs/{job_id}/cancel/").status_code == 200
        return written

    monkeypatch.setattr(EmbeddingStore, "put", cancel_after_two)
    embeddings.embeddings_run(job_id=job_id)
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.CANCELLED and job.done == 2
    assert "2 of 5" in job.message
    assert _stored(ref, images).count(True) == 2

    response = client.post(f"/api/embeddings/{job_id}/resume/")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    embeddings.embeddings_run(job_id=job_id)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == 5
    assert job.result["skipped"] == 2 and job.result["computed"] == 3
    assert len(writes) == 5  # no image was computed twice
    assert client.post(f"/api/embeddings/{job_id}/resume/").status_code == 400


def test_clicked_and_prefetched_images_are_skipped(pool, team, api_client, monkeypatch):
    images, ref = pool
    prompt = PromptInput.from_dict({"point_coords": [[87, 55]], "point_labels": [1]})
    predictions.prediction_run(image=images[2], user=team.annotator, prompt=prompt)
    job_id = _start(api_client(team.annotator), team.project).json()["id"]
    reads = []
    original = predictions.Pixels.__call__

    def counting(self):
        reads.append(self.image.pk)
        return original(self)

    monkeypatch.setattr(predictions.Pixels, "__call__", counting)
    embeddings.embeddings_run(job_id=job_id)
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.DONE
    assert job.result["skipped"] == 1 and job.result["computed"] == 4
    assert images[2].pk not in reads


def test_a_filter_chooses_the_images(pool, team, api_client):
    images, ref = pool
    client = api_client(team.annotator)
    chosen = [images[1].pk, images[3].pk]
    job_id = _start(client, team.project, {"filter": {"image_ids": chosen}}).json()["id"]
    embeddings.embeddings_run(job_id=job_id)
    assert _stored(ref, images) == [False, True, False, True, False]
    Image.objects.filter(pk=images[4].pk).update(status=ImageStatus.COMPLETED)
    job_id = _start(client, team.project, {"filter": {"status": ["completed"]}}).json()["id"]
    assert Job.objects.get(pk=job_id).total == 1
    embeddings.embeddings_run(job_id=job_id)
    assert _stored(ref, images) == [False, True, False, True, True]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"filter": {"status": ["bogus"]}}, "status"),
        ({"filter": {"colour": "red"}}, "colour"),
        ({"filter": {"image_ids": ["x"]}}, "image_ids"),
        ({"filter": {"image_ids": [10**9]}}, "image_ids"),
        ({"filter": {"source": 10**9}}, "source"),
        ({"filter": "everything"}, "filter"),
        ({"everything": True}, "everything"),
    ],
)
def test_bad_filters_are_refused(pool, team, api_client, body, field):
    response = _start(api_client(team.annotator), team.project, body)
    assert response.status_code == 400, response.content
    assert field in str(response.json()["error"])
    assert not Job.objects.filter(kind=Job.Kind.PREPARE_EMBEDDINGS).exists()


def test_who_may_start_it(pool, team, api_client):
    assert _start(api_client(team.outsider), team.project).status_code == 404
    assert _start(api_client(team.viewer), team.project).status_code == 403
    assert _start(api_client(), team.project).status_code == 401
    assert _start(api_client(team.owner), team.project).status_code == 202


def test_the_classic_backend_has_nothing_to_prepare(team, api_client):
    use_model(team.project, refs.ModelRef(key="classic"))
    response = _start(api_client(team.annotator), team.project)
    assert response.status_code == 400 and "classic" in response.json()["error"]["message"]


def test_a_second_start_answers_the_running_job(pool, team, api_client):
    client = api_client(team.annotator)
    first = _start(client, team.project).json()["id"]
    assert _start(client, team.project).json()["id"] == first
    assert Job.objects.filter(kind=Job.Kind.PREPARE_EMBEDDINGS).count() == 1


def test_a_model_change_stops_the_job(pool, team, api_client, micro_checkpoint):
    job_id = _start(api_client(team.annotator), team.project).json()["id"]
    use_model(team.project, micro_ref(micro_checkpoint, mask_threshold=0.5))
    embeddings.embeddings_run(job_id=job_id)
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.FAILED and "model changed" in job.message


def test_the_auto_setting_starts_it_on_load_and_on_new_images(
    pool, team, api_client, django_capture_on_commit_callbacks, monkeypatch
):
    images, ref = pool
    started = []
    monkeypatch.setattr(embeddings, "job_enqueue", lambda job: started.append(job.pk))
    client = api_client(team.annotator)
    response = client.patch(
        f"/api/projects/{team.project.pk}/state/", {"embeddings_auto": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["embeddings_auto"] is True
    assert len(started) == 1  # a model is loaded: it starts now
    job = Job.objects.get(pk=started[0])
    assert job.params["auto"] and job.total == 5
    embeddings.embeddings_run(job_id=job.pk)

    with django_capture_on_commit_callbacks(execute=True):
        write_png(draw_object(seed=9).rgb, "added.png")
        Image.objects.create(project=team.project, source=images[0].source, path="added.png")
    assert len(started) == 2
    embeddings.embeddings_run(job_id=started[1])
    job = Job.objects.get(pk=started[1])
    assert job.result["skipped"] == 5 and job.result["computed"] == 1

    assert (
        client.patch(
            f"/api/projects/{team.project.pk}/state/", {"embeddings_auto": "maybe"}, format="json"
        ).status_code
        == 400
    )
    client.patch(
        f"/api/projects/{team.project.pk}/state/", {"embeddings_auto": False}, format="json"
    )
    with django_capture_on_commit_callbacks(execute=True):
        Image.objects.create(project=team.project, source=images[0].source, path="more.png")
    assert len(started) == 2


def test_a_finished_model_load_starts_it_when_asked(
    pool, team, api_client, micro_choice, monkeypatch, django_capture_on_commit_callbacks
):
    started = []
    monkeypatch.setattr(embeddings, "job_enqueue", lambda job: started.append(job.pk))
    team.project.ui_settings = {"embeddings_auto": True}
    team.project.save(update_fields=["ui_settings"])
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(team.owner).post(
            f"/api/projects/{team.project.pk}/model/load/", micro_choice, format="json"
        )
    assert response.status_code == 202
    assert Job.objects.get(pk=response.json()["id"]).status == Job.Status.DONE
    assert len(started) == 1
    job = Job.objects.get(pk=started[0])
    assert job.params["model"]["checkpoint"] == micro_choice["checkpoint"]


def test_opening_an_image_puts_the_next_ones_features_in_the_store(
    pool, team, api_client, django_capture_on_commit_callbacks
):
    images, ref = pool
    engine.get_engine(ref)  # the project's model is loaded on this click worker
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(team.annotator).post(f"/api/images/{images[1].pk}/open/")
    assert response.status_code == 200
    assert _stored(ref, images) == [False, True, True, False, False]


def test_a_preparation_waits_for_a_click_in_flight(pool, team):
    """Between two prepared images a click goes first: the preparation does not start an
    image while a click runs on the same model."""
    import threading
    import time

    images, ref = pool
    model = engine.get_engine(ref)
    events = []
    clicking = threading.Event()

    def click():
        with model._click():
            clicking.set()
            time.sleep(0.5)
            events.append("click done")

    thread = threading.Thread(target=click)
    thread.start()
    clicking.wait(5)
    predictions.embedding_prepare(image_ids=[images[0].pk])
    events.append("prepared")
    thread.join(5)
    assert events == ["click done", "prepared"]


def test_a_restarted_embedded_worker_resumes_the_preparation(pool, team, api_client):
    """The embedded worker's queue lives in memory: on start it queues the preparations a
    stop left running (they skip what they stored) and ends those being cancelled."""
    images, ref = pool
    client = api_client(team.annotator)
    job_id = _start(client, team.project).json()["id"]
    model = engine.get_engine(ref)
    predictions.embedding_prepare(image_ids=[images[0].pk])  # done before the stop
    images[0].refresh_from_db()
    assert model.features_ready(images[0].key)
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING, done=1)
    stopping = Job.objects.create(
        project=team.project, kind=Job.Kind.PREPARE_EMBEDDINGS, status=Job.Status.CANCELLING
    )
    assert embeddings.embeddings_jobs_resume_interrupted() == [job_id]  # eager: runs now
    job = Job.objects.get(pk=job_id)
    assert job.status == Job.Status.DONE and job.result["skipped"] == 1
    assert job.result["computed"] == 4
    stopping.refresh_from_db()
    assert stopping.status == Job.Status.CANCELLED


def test_a_start_for_a_new_model_cancels_the_old_models_preparation(
    pool, team, api_client, micro_checkpoint
):
    client = api_client(team.annotator)
    old = _start(client, team.project).json()["id"]
    filtered = _start(client, team.project, {"filter": {"status": ["completed"]}}).json()["id"]
    assert filtered != old  # another filter of the same model: a job of its own
    new_ref = micro_ref(micro_checkpoint, mask_threshold=0.5)
    use_model(team.project, new_ref)
    new = _start(client, team.project).json()["id"]
    assert Job.objects.get(pk=old).status == Job.Status.CANCELLED
    assert Job.objects.get(pk=filtered).status == Job.Status.CANCELLED
    assert Job.objects.get(pk=new).params["model_key"] == new_ref.cache_key


@pytest.mark.django_db(transaction=True)
def test_a_click_workers_prefetch_leaves_its_task_slot_at_once(pool, team, settings):
    """On a click worker (one task at a time) the prefetch task hands the encoding to a
    thread of its own: it returns before the features exist, and they reach the store."""
    import time

    from inference import tasks

    images, ref = pool
    model = engine.get_engine(ref)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # a separate worker process, as in production
    tasks.embedding_prepare_task([images[3].pk])
    images[3].refresh_from_db()
    assert not (images[3].key and model.features_ready(images[3].key))  # still to come
    deadline = time.monotonic() + 60
    while not _stored(ref, [images[3]])[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _stored(ref, images) == [False, False, False, True, False]
