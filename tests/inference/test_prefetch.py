import pytest

from inference import engine
from tests.inference.conftest import micro_ref, use_model

pytestmark = pytest.mark.django_db


def test_opening_an_image_prepares_its_embedding_and_the_next_ones(
    drawn_pool, team, api_client, micro_checkpoint, eager_tasks, django_capture_on_commit_callbacks
):
    images, _ = drawn_pool
    ref = micro_ref(micro_checkpoint)
    use_model(team.project, ref)
    engine.get_engine(ref)  # the project's model is loaded on this worker
    engine.embedding_cache().clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(team.annotator).post(f"/api/images/{images[0].pk}/open/")
    assert response.status_code == 200
    for image in images[:2]:
        image.refresh_from_db()
        assert (ref.cache_key, image.key) in engine.embedding_cache()
    images[2].refresh_from_db()
    assert (ref.cache_key, images[2].key) not in engine.embedding_cache()


def test_nothing_is_loaded_just_to_prepare_an_embedding(
    drawn_pool, team, api_client, micro_checkpoint, eager_tasks, django_capture_on_commit_callbacks
):
    images, _ = drawn_pool
    ref = micro_ref(micro_checkpoint)
    use_model(team.project, ref)
    engine.unload_all()
    with django_capture_on_commit_callbacks(execute=True):
        api_client(team.annotator).post(f"/api/images/{images[0].pk}/open/")
    assert not engine.is_loaded(ref)
