"""A checkpoint file that cannot be loaded safely is refused with one sentence and a short
reason, never PyTorch's `weights_only` paragraph (nor its advice to load unsafely). Real bad
files, loaded through the load API and the worker's job as a person's click does."""

import os

import pytest
import torch

from inference import checkpoints
from projects.models import Job

START = "Could not load manual: The file '{name}' is not a SAM2 checkpoint this app can load safely"
END = 'Choose an official SAM2 checkpoint, or one saved as {"model": state_dict}.'


class RunsCode:
    """What a malicious pickle holds: loading it unsafely would create the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _write(path, kind: str, good) -> None:
    if kind == "text":
        path.write_bytes(b"PK not really a checkpoint")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "code":
        torch.save({"model": RunsCode(str(path) + ".ran")}, path)
    elif kind == "no_model_entry":
        torch.save({"state": torch.load(good, weights_only=True)["model"]}, path)
    elif kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "other_weights":
        weights = torch.load(good, weights_only=True)["model"]
        torch.save({"model": dict(list(weights.items())[:5])}, path)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "kind, reason",
    [
        ("text", "it is not a PyTorch weights file"),
        ("empty", "the file is empty or cut short"),
        ("code", "it holds Python code or objects (os.makedirs) besides the weights"),
        ("no_model_entry", 'it has no "model" entry holding the weights'),
        ("truncated", "the file is damaged or incomplete"),
        ("other_weights", f"its weights do not fit the model config {checkpoints.TINY_CONFIG}"),
    ],
)
def test_a_bad_checkpoint_is_refused_with_a_short_reason(
    micro_choice, micro_checkpoint, api_client, team, eager_tasks, kind, reason
):
    path = micro_checkpoint.parent / f"bad-{kind}.pt"
    _write(path, kind, micro_checkpoint)
    client = api_client(team.owner)
    response = client.post(
        f"/api/projects/{team.project.pk}/model/load/",
        {**micro_choice, "checkpoint": str(path)},
        format="json",
    )
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.FAILED
    expected = f"{START.format(name=path.name)} ({reason}"
    assert job.message.startswith(expected), job.message
    assert job.message.endswith(END)
    assert "weights_only" not in job.message and "\n" not in job.message
    assert len(job.message) < 400
    state = client.get(f"/api/projects/{team.project.pk}/model/").json()
    assert state["status"] == "failed" and state["message"] == job.message
    assert not os.path.exists(str(path) + ".ran")  # the pickled code never ran


def test_a_good_checkpoint_still_loads(micro_choice, team):
    from inference.services import loading

    job = loading.model_load_start(project=team.project, user=team.owner, choice=micro_choice)
    loading.model_load_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
