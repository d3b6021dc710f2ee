"""Model list, load (success, failure, cancel, switch) and the model state a page refresh
reads."""

import pytest
from django.core.exceptions import ValidationError

from inference import registry, selectors
from inference.services import loading
from projects.models import Job


def test_model_list_has_each_sam2_model_once_plus_classic(api_client, team):
    response = api_client(team.viewer).get("/api/models/")
    assert response.status_code == 200
    models = {entry["key"]: entry for entry in response.json()}
    sizes = ["tiny", "small", "base_plus", "large"]
    expected = {f"{family}_hiera_{size}" for family in ("sam2.1", "sam2") for size in sizes}
    assert set(models) == expected | {"classic"}
    assert not any(key.endswith("_base") for key in models)
    tiny = models["sam2.1_hiera_tiny"]
    assert tiny["url"] == (
        "https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_tiny.pt"
    )
    assert tiny["config"] == "configs/sam2.1/sam2.1_hiera_t.yaml"
    assert tiny["parameters_m"] == 38.9 and tiny["download_mb"] > 100
    assert tiny["present"] is False
    assert models["sam2_hiera_large"]["url"].endswith("/072824/sam2_hiera_large.pt")
    assert "no SAM weights" in models["classic"]["label"]


def test_base_is_an_alias_of_base_plus():
    assert registry.spec_for("sam2.1_hiera_base").key == "sam2.1_hiera_base_plus"
    assert registry.spec_for("sam2_hiera_base").filename == "sam2_hiera_base_plus.pt"


def test_model_urls_follow_the_configured_mirror(settings):
    settings.ANNOTATOR_MODEL_BASE_URL = "http://127.0.0.1:9/models/"
    assert registry.spec_for("sam2.1_hiera_small").url == (
        "http://127.0.0.1:9/models/092824/sam2.1_hiera_small.pt"
    )


def test_present_flag_and_default_follow_the_files_on_disk(settings):
    assert registry.default_key() == "classic"
    spec = registry.spec_for("sam2.1_hiera_small")
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    spec.path.write_bytes(b"PK")
    entries = {e["key"]: e for e in registry.get_available_model_keys()}
    assert entries["sam2.1_hiera_small"]["present"] is True
    assert registry.default_key() == "sam2.1_hiera_small"


def test_manual_checkpoint_outside_the_model_folders_is_refused(tmp_path, settings):
    outside = tmp_path / "elsewhere.pt"
    outside.write_bytes(b"PK")
    with pytest.raises(ValidationError, match="outside the model folders"):
        loading.model_ref_from_choice(
            {"key": "manual", "checkpoint": str(outside), "config": registry.PACKAGED_CONFIGS[0]}
        )
    with pytest.raises(ValidationError, match="outside the model folders"):
        loading.model_ref_from_choice(
            {"key": "manual", "checkpoint": "../../etc/passwd", "config": "x"}
        )


def test_manual_checkpoint_needs_a_packaged_config_and_plain_overrides(micro_choice):
    with pytest.raises(ValidationError, match="Unknown config"):
        loading.model_ref_from_choice({**micro_choice, "config": "/tmp/evil.yaml"})
    with pytest.raises(ValidationError, match="override"):
        loading.model_ref_from_choice(
            {**micro_choice, "overrides": ["hydra.run.dir=/tmp", "++model._target_=os.system"]}
        )


@pytest.mark.parametrize(
    "params, phrase",
    [
        ({"device": "tpu"}, "device"),
        ({"device": "cpu", "dtype": "bfloat16"}, "CUDA"),
        ({"max_hole_area": -1}, "zero or more"),
        ({"colour": "red"}, "Unknown load parameters"),
    ],
)
def test_bad_load_params_are_refused(params, phrase, api_client, team):
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/model/load/",
        {"key": "classic", "params": params},
        format="json",
    )
    assert response.status_code == 400
    assert phrase in response.json()["error"]["message"]


def test_loading_a_model_not_downloaded_says_so(api_client, team):
    response = api_client(team.owner).post(
        f"/api/projects/{team.project.pk}/model/load/", {"key": "sam2.1_hiera_large"}
    )
    assert response.status_code == 400
    assert "download it first" in response.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_load_then_refresh_shows_the_model_to_every_member(
    micro_choice, api_client, team, eager_tasks
):
    choice = {**micro_choice, "params": {"apply_postprocessing": False, "mask_threshold": 0.5}}
    response = api_client(team.annotator).post(
        f"/api/projects/{team.project.pk}/model/load/", choice, format="json"
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "done" and "Loaded manual on cpu" in job.message
    state = api_client(team.viewer).get(f"/api/projects/{team.project.pk}/model/").json()
    assert state["status"] == "loaded" and state["loaded_at"]
    assert state["active"]["checkpoint"] == micro_choice["checkpoint"]
    assert state["active"]["params"]["apply_postprocessing"] is False
    assert state["active"]["params"]["mask_threshold"] == 0.5
    ref = selectors.project_model_ref(team.project.__class__.objects.get(pk=team.project.pk))
    assert ref.params.mask_threshold == 0.5


@pytest.mark.django_db(transaction=True)
def test_failed_load_reports_why_and_keeps_the_previous_model(
    micro_choice, api_client, team, eager_tasks, settings
):
    client = api_client(team.owner)
    url = f"/api/projects/{team.project.pk}/model/load/"
    assert client.post(url, micro_choice, format="json").status_code == 202
    broken = micro_choice["checkpoint"].replace("micro.pt", "broken.pt")
    with open(broken, "wb") as file:
        file.write(b"PK not really a checkpoint")
    response = client.post(url, {**micro_choice, "checkpoint": broken}, format="json")
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "failed" and "Could not load manual" in job.message
    state = client.get(f"/api/projects/{team.project.pk}/model/").json()
    assert state["status"] == "failed" and "Could not load" in state["message"]
    assert state["active"]["checkpoint"] == micro_choice["checkpoint"]


@pytest.mark.django_db(transaction=True)
def test_switching_models_any_time(micro_choice, api_client, team, eager_tasks):
    client = api_client(team.owner)
    url = f"/api/projects/{team.project.pk}/model/load/"
    client.post(url, micro_choice, format="json")
    client.post(url, {"key": "classic"}, format="json")
    state = client.get(f"/api/projects/{team.project.pk}/model/").json()
    assert state["status"] == "loaded" and state["active"]["key"] == "classic"


def test_cancelling_a_queued_load_stops_it_before_it_runs(micro_choice, api_client, team):
    client = api_client(team.owner)
    response = client.post(
        f"/api/projects/{team.project.pk}/model/load/", micro_choice, format="json"
    )
    job_id = response.json()["id"]
    cancelled = client.post(f"/api/projects/{team.project.pk}/model/load/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    loading.model_load_run(job_id=job_id)  # the worker picks the task up afterwards
    assert Job.objects.get(pk=job_id).status == "cancelled"
    state = client.get(f"/api/projects/{team.project.pk}/model/").json()
    assert state["status"] == "cancelled" and state["active"]["key"] == "classic"


def test_cancel_during_a_load_discards_the_model(micro_choice, team, monkeypatch):
    job = loading.model_load_start(project=team.project, user=team.owner, choice=micro_choice)
    from inference import engine

    real_init = engine.Sam2Engine.__init__

    def cancel_midway(self, ref, should_stop):
        job.request_cancel()  # someone clicks cancel while the weights are being read
        real_init(self, ref, should_stop)

    monkeypatch.setattr(engine.Sam2Engine, "__init__", cancel_midway)
    engine.unload_all()
    loading.model_load_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not engine.is_loaded(loading.model_ref_from_choice(micro_choice))


def test_every_inference_endpoint_is_documented(api_client, team):
    schema = api_client(team.viewer).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in [
        "/api/models/",
        "/api/projects/{project_id}/model/",
        "/api/projects/{project_id}/model/load/",
        "/api/projects/{project_id}/model/load/cancel/",
        "/api/projects/{project_id}/model/download/",
        "/api/projects/{project_id}/model/download/cancel/",
        "/api/images/{image_id}/predict/",
        "/api/images/{image_id}/automask/",
        "/api/projects/{project_id}/automask/",
        "/api/automask/{job_id}/cancel/",
        "/api/automask/{job_id}/resume/",
    ]:
        assert path in schema["paths"], path
    predict = schema["paths"]["/api/images/{image_id}/predict/"]["post"]
    assert "requestBody" in predict


@pytest.mark.django_db(transaction=True)
def test_cuda_load_on_a_worker_without_a_gpu_fails_with_a_reason(
    micro_choice, api_client, team, eager_tasks
):
    import torch

    client = api_client(team.owner)
    response = client.post(
        f"/api/projects/{team.project.pk}/model/load/",
        {**micro_choice, "params": {"device": "cuda"}},
        format="json",
    )
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    if torch.cuda.is_available():
        assert job.status == "done"
    else:
        assert job.status == "failed" and "no CUDA device" in job.message
        state = client.get(f"/api/projects/{team.project.pk}/model/").json()
        assert state["status"] == "failed" and state["active"]["key"] == "classic"
