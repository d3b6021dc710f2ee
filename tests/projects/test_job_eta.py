"""How long a pool job has left: from the latest images of this run, so a resume starts
afresh, and within 30 % of the truth once five images are done."""

import numpy as np
import pytest

from inference.services.automask import AutomaskProgress
from projects import jobs
from projects.models import AutomaskRun, Image, Job, Source


def simulate(durations: list[float], *, workers: int = 1, warm_up: float = 0.0) -> list:
    """(done, estimate, truth) after each image of a run on `workers` workers, each taking
    its next image when it ends the last; the first image of each worker also warms up."""
    free = [warm_up] * workers
    ends = []
    for duration in durations:
        worker = int(np.argmin(free))
        free[worker] += duration
        ends.append(free[worker])
    ends.sort()
    pace = jobs.pace_start(0.0)
    seen = []
    for done, end in enumerate(ends, start=1):
        pace = jobs.pace_step(pace, end)
        remaining = len(ends) - done
        seen.append((done, jobs.eta_from_pace(pace, remaining), ends[-1] - end))
    return seen


def realistic(seed: int, count: int = 62) -> list[float]:
    """Seconds per image of a pool of camera pictures: about 2 s each, spread by about 20 %
    (log-normal) with the pictures' sizes and contents, as SAM2's automask takes on a GPU."""
    return list(np.random.default_rng(seed).lognormal(np.log(2.0), 0.2, count))


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("workers", [1, 2])
def test_the_estimate_is_within_30_percent_after_five_images(seed, workers):
    # The first image of each worker also loads the model (6 s).
    seen = simulate(realistic(seed), workers=workers, warm_up=6.0)
    for done, estimate, truth in seen[4:-1]:
        assert estimate is not None
        # In the last few images what is left is one or two pictures' own time: there
        # the estimate is within two images' time rather than 30 %.
        assert abs(estimate - truth) <= max(0.3 * truth, 2 * 2.0), (done, estimate, truth)


def test_the_estimate_follows_a_change_of_pace():
    # Small pictures first, then 12 MP ones four times slower: the window catches up.
    seen = simulate([1.0] * 20 + [4.0] * 30)
    done, estimate, truth = seen[20 + jobs.PACE_WINDOW]
    assert abs(estimate - truth) <= 0.3 * truth


def test_no_estimate_before_an_image_of_this_run_ended_nor_when_none_is_left():
    pace = jobs.pace_start(100.0)
    assert jobs.eta_from_pace(pace, 10) is None
    assert jobs.eta_from_pace(jobs.pace_step(pace, 102.0), 0) is None
    assert jobs.eta_from_pace(jobs.pace_step(pace, 102.0), 10) == pytest.approx(20.0)
    assert jobs.eta_from_pace({"ends": "not a list"}, 3) is None
    assert jobs.eta_from_pace(None, 3) is None


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_resumed_job_estimates_from_its_new_run_only(team, monkeypatch):
    """A job cancelled after three slow images and resumed an hour later: the estimate
    after the resume reads the new images' pace, not the time since the job was created."""
    clock = Clock()
    monkeypatch.setattr(jobs.time, "time", clock)
    published: list[dict] = []
    monkeypatch.setattr(jobs, "publish", lambda group, kind, data: published.append(data))
    source = Source.objects.create(project=team.project, kind=Source.Kind.UPLOAD, name="up")
    images = [
        Image.objects.create(project=team.project, source=source, path=f"p{i}.png")
        for i in range(20)
    ]
    job = Job.objects.create(
        project=team.project, kind=Job.Kind.AUTOMASK_POOL, created_by=team.owner, result={}
    )
    progress = AutomaskProgress(job.pk, worker="w1")

    def automask(index: int, seconds: float) -> None:
        assert progress.claim(str(images[index].pk))
        clock.now += seconds
        AutomaskRun.objects.create(image=images[index], job=job, model={}, params={})
        progress.release(str(images[index].pk), label=images[index].path)

    assert progress.start(total=20, message="Automask running")
    for index in range(3):
        automask(index, 10.0)
    job.refresh_from_db()
    assert jobs.job_event(job)["eta_seconds"] == pytest.approx(17 * 10.0)

    jobs.job_cancel(job=job)
    assert published[-1]["status"] == "cancelled"
    assert published[-1]["eta_seconds"] is None

    clock.now += 3600.0
    Job.objects.filter(pk=job.pk).update(status=Job.Status.QUEUED)
    assert progress.start(total=20, message="Automask running")
    job.refresh_from_db()
    assert job.done == 3
    assert jobs.job_event(job)["eta_seconds"] is None  # nothing of this run ended yet
    for index in range(3, 8):
        automask(index, 2.0)
    job.refresh_from_db()
    assert job.done == 8
    assert jobs.job_event(job)["eta_seconds"] == pytest.approx(12 * 2.0)
    assert published[-1]["eta_seconds"] in (None, pytest.approx(12 * 2.0))


def test_a_job_being_cancelled_has_no_estimate(team):
    job = Job.objects.create(
        project=team.project,
        kind=Job.Kind.AUTOMASK_POOL,
        status=Job.Status.CANCELLING,
        done=3,
        total=10,
        result={jobs.PACE: {"started": 0.0, "ends": [1.0, 2.0, 3.0]}},
    )
    assert jobs.job_eta(job) is None
