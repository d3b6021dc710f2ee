"""Many annotators at once on "next unprocessed" against a running server: the test of claims
on SQLite and PostgreSQL and the bench (benches/claims.py) share this.

`seed_script` makes a project with a pool and one annotator (with a REST token) per simulated
person, run with `manage.py shell -c` in the server's environment. `storm` starts every
annotator at the same moment (a barrier), each its own HTTP client and so its own server-side
request and database connection; each asks for its next unprocessed image, then completes it
and takes the next (complete & next) until the pool is done or it reached `rounds`. A
completed image never comes back, so an image in two people's lists was handed out twice.
"""

import json
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

SEED = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from projects import services
from projects.models import Image, Role, Source

users = get_user_model()
owner = users.objects.filter(is_superuser=True).order_by("id").first()
project = services.project_create(name=NAME, owner=owner)
source = Source.objects.create(
    project=project, kind="folder", name="storm", location={"path": "/nonexistent"}
)
Image.objects.bulk_create(
    Image(project=project, source=source, path=f"i{k:06d}.png", width=64, height=48)
    for k in range(IMAGES)
)
tokens = []
for k in range(ANNOTATORS):
    user = users.objects.create_user(f"{NAME}-{k}")
    services.member_set(project=project, user=user, role=Role.ANNOTATOR)
    tokens.append(Token.objects.create(user=user).key)
print("SEEDED " + json.dumps({"project": project.pk, "tokens": tokens}))
"""


def seed(env: dict, *, name: str, images: int, annotators: int) -> tuple[int, list[str]]:
    """The project id and one token per annotator."""
    script = (
        SEED.replace("NAME", repr(name))
        .replace("IMAGES", str(images))
        .replace("ANNOTATORS", str(annotators))
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("SEEDED "))
    seeded = json.loads(line.removeprefix("SEEDED "))
    return seeded["project"], seeded["tokens"]


@dataclass
class Storm:
    handed: list[list[int]] = field(default_factory=list)  # per annotator, in order
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def doubles(self) -> list[int]:
        """Images handed to more than one annotator (or twice to one)."""
        counts = Counter(pk for person in self.handed for pk in person)
        return sorted(pk for pk, n in counts.items() if n > 1)

    @property
    def total(self) -> int:
        return sum(len(person) for person in self.handed)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> str:
        median = statistics.median(self.latencies_ms) if self.latencies_ms else 0.0
        return (
            f"{len(self.handed)} annotators, {self.total} hand-outs, "
            f"{len(self.doubles)} double, {len(self.errors)} errors, "
            f"p50 {median:.1f} ms, p95 {self.percentile(0.95):.1f} ms, "
            f"{self.total / self.wall_s if self.wall_s else 0:.0f} hand-outs/s"
        )


def storm(base: str, project_id: int, tokens: list[str], *, rounds: int = 1000) -> Storm:
    result = Storm(handed=[[] for _ in tokens])
    barrier = threading.Barrier(len(tokens))
    lock = threading.Lock()

    def timed(client: httpx.Client, method: str, url: str) -> dict | None:
        started = time.perf_counter()
        response = client.request(method, url)
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            result.latencies_ms.append(elapsed)
            if response.status_code != 200:
                result.errors.append(f"{method} {url}: {response.status_code} {response.text}")
                return None
        return response.json()

    def annotator(index: int, token: str) -> None:
        headers = {"Authorization": f"Token {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            client.get("/healthz")  # connect before the start line
            barrier.wait()
            step = timed(
                client, "GET", f"/api/projects/{project_id}/navigate/?direction=next_unprocessed"
            )
            image = step and step["image"]
            while image and len(result.handed[index]) < rounds:
                result.handed[index].append(image["id"])
                done = timed(client, "POST", f"/api/images/{image['id']}/complete-and-next/")
                image = done and done["next"]

    threads = [
        threading.Thread(target=annotator, args=(i, token), daemon=True)
        for i, token in enumerate(tokens)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    result.wall_s = time.perf_counter() - started
    return result
