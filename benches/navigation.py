"""Navigation and overview on a pool of 100,000 images, through the whole request path.

Builds a throw-away SQLite database, fills a project with N images of mixed status (the
white images only in the last tenth, so "next unprocessed" has to look far), then times each
request through Django's test client. The baseline is the cheapest request there is: one
image by primary key. Run: .venv/bin/python benches/navigation.py [N]
"""

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["ANNOTATOR_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-nav-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

REPEAT = 30


def build(n: int):
    from django.contrib.auth import get_user_model

    from projects import services
    from projects.models import EditHistory, Image, ImageStatus, Source

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="x")
    project = services.project_create(name="Bench", owner=user)
    source = Source.objects.create(project=project, kind="folder", name="disk")
    rng = random.Random(0)
    rows = []
    for i in range(n):
        if i >= n * 0.9:
            status = ImageStatus.UNPROCESSED
        else:
            status = rng.choice([ImageStatus.COMPLETED, ImageStatus.IN_PROGRESS])
        rows.append(
            Image(
                project=project,
                source=source,
                path=f"dir{i // 1000}/img{i:06d}.jpg",
                status=status,
                completed=status == ImageStatus.COMPLETED,
                has_manual_prediction=status != ImageStatus.UNPROCESSED,
                available=rng.random() > 0.01,
                width=1024,
                height=768,
            )
        )
    Image.objects.bulk_create(rows, batch_size=5000)
    ids = list(Image.objects.filter(project=project).values_list("id", flat=True))
    EditHistory.objects.bulk_create(
        EditHistory(user=user, project=project, image_id=image_id) for image_id in ids[:5000]
    )
    return user, project, ids


def timed(client: Client, method: str, url: str, **kwargs) -> list[float]:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = getattr(client, method)(url, **kwargs)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code < 300, (url, response.status_code, response.content[:200])
    return samples


def main() -> None:
    print("database:", os.environ["ANNOTATOR_VAR_DIR"])
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    start = time.perf_counter()
    user, project, ids = build(n)
    print(f"built {n:,} images in {time.perf_counter() - start:.1f} s")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    middle = ids[n // 2]
    p = project.pk
    cases = [
        ("baseline: one image by id", "get", f"/api/images/{middle}/"),
        ("next", "get", f"/api/projects/{p}/navigate/?from={middle}&direction=next"),
        ("previous", "get", f"/api/projects/{p}/navigate/?from={middle}&direction=previous"),
        (
            "next unprocessed (far ahead)",
            "get",
            f"/api/projects/{p}/navigate/?from={middle}&direction=next_unprocessed",
        ),
        ("complete and next", "post", f"/api/images/{ids[n // 3]}/complete-and-next/"),
        ("history (mine, newest first)", "get", f"/api/projects/{p}/history/"),
        ("overview, first page", "get", f"/api/projects/{p}/overview/?limit=100"),
        ("overview, page 900", "get", f"/api/projects/{p}/overview/?limit=100&offset=90000"),
        (
            "overview, unprocessed only",
            "get",
            f"/api/projects/{p}/overview/?status=unprocessed&limit=100",
        ),
        (
            "overview, has manual prediction",
            "get",
            f"/api/projects/{p}/overview/?has_manual_prediction=true&limit=100",
        ),
    ]
    results = [(name, timed(client, method, url)) for name, method, url in cases]
    base = statistics.median(results[0][1])
    print(f"\n{n:,} images, {REPEAT} requests each, SQLite, Django test client")
    print(f"{'request':36} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}  target")
    for name, samples in results:
        median = statistics.median(samples)
        p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
        verdict = "ok" if p95 < 100 else "SLOW"
        print(f"{name:36} {median:10.1f} {p95:8.1f} {median / base:11.2f}  <100 ms {verdict}")


if __name__ == "__main__":
    main()
