"""Click latency with N simulated annotators against the production mode on loopback.

Run: .venv/bin/python benches/load.py [--levels 1,4,16,64] [--seconds 20] [--think 1.0]
                                      [--click-workers 1]

Starts the same stack as tests/deploy (PostgreSQL, Redis, daphne, Celery workers for the
`gpu` and `default` queues and --click-workers interactive workers sharing the images, the
micro SAM2 model on CPU), makes one user per simulated annotator, each a member of one
project and on an image of their own. Each annotator keeps a WebSocket open and clicks (a
`predict` message), waits for the answer, thinks for a random 0.5-1.5 x --think seconds and
clicks again. Reports per level: clicks answered, latency p50/p95/p99 (send to answer),
errors (error answers and clicks with no answer in 30 s), the deepest the interactive queues
got together (sampled every 0.2 s), and p50 as a ratio of the 1-annotator p50 measured in
the same run.
"""

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# This process only drives the stack; its helpers import Django modules, which need settings
# (embedded mode, a throwaway folder).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
os.environ.setdefault("ANNOTATOR_VAR_DIR", tempfile.mkdtemp(prefix="annotator-load-"))
django.setup()

import redis  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from inference import checkpoints  # noqa: E402
from tests.deploy.helpers import model_load  # noqa: E402
from tests.deploy.stack import stack_start, temp_base, wait_until  # noqa: E402
from tests.inference.conftest import draw_object  # noqa: E402

PASSWORD = "load-bench-password-1"
IMAGES = 64
ANSWER_TIMEOUT_S = 30


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def prepare(args):
    base = temp_base()
    photos = base / "photos"
    photos.mkdir()
    for index in range(IMAGES):
        drawn = draw_object(width=args.size, height=args.size * 3 // 4, seed=index)
        PILImage.fromarray(drawn.rgb).save(photos / f"photo{index:02d}.png")
    models = base / "checkpoints"
    models.mkdir()
    checkpoints.write_micro_checkpoint(models / "micro.pt", seed=1)
    stack = stack_start(
        base,
        {
            "ANNOTATOR_FOLDER_ROOTS": str(photos),
            "ANNOTATOR_MODEL_ROOTS": str(models),
            "LOG_LEVEL": "WARNING",
        },
        click_workers=args.click_workers,
    )
    stack.photos, stack.checkpoint = photos, models / "micro.pt"
    api = stack.api()
    project_id = api.post("/api/projects/", json={"name": "Load"}).json()["id"]
    api.post(f"/api/projects/{project_id}/sources/folder/", json={"path": str(photos)})

    def listed():
        rows = api.get(f"/api/projects/{project_id}/images/?limit=500").json()["results"]
        return sorted(row["id"] for row in rows) if len(rows) == IMAGES else []

    image_ids = wait_until(listed, 120, "the folder scan did not finish")
    model_load(stack, api, project_id)
    users = max(args.levels)
    stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model\n"
        "from projects.models import Project\n"
        "from projects.services import member_set\n"
        f"project = Project.objects.get(pk={project_id})\n"
        f"for i in range({users}):\n"
        f"    user = get_user_model().objects.create_user(f'load{{i}}', password='{PASSWORD}')\n"
        "    member_set(project=project, user=user, role='annotator')\n",
    )
    # Every image opened once, as an editor does on arrival, so clicks hit warm embeddings.
    for image_id in image_ids:
        api.post(f"/api/images/{image_id}/open/")
    queue = redis.Redis.from_url(stack.redis.url)
    wait_until(
        lambda: sum(queue.llen(q) for q in queue.keys("interactive*")) == 0,
        300,
        "the embeddings were not prepared",
    )
    time.sleep(2)  # the last embedding in flight
    return stack, project_id, image_ids


def annotator(stack, project_id, image_id, cookie, stop, think, results, index):
    rng = random.Random(index)
    latencies, errors, superseded = [], 0, 0
    with stack.websocket(project_id, cookie=cookie) as socket:
        number = 0
        while not stop.is_set():
            number += 1
            request_id = f"a{index}-{number}"
            x, y = rng.randint(100, 200), rng.randint(70, 150)
            sent = time.monotonic()
            data = {
                "request_id": request_id,
                "image_id": image_id,
                "point_coords": [[x, y]],
                "point_labels": [1],
            }
            socket.send(json.dumps({"type": "predict", "data": data}))
            try:
                while True:
                    message = json.loads(socket.recv(timeout=ANSWER_TIMEOUT_S))
                    if message["data"].get("request_id") == request_id:
                        break
            except TimeoutError:
                errors += 1
                continue
            if message["type"] == "prediction":
                latencies.append((time.monotonic() - sent) * 1000)
            elif message["data"].get("code") == "superseded":
                superseded += 1
            else:
                errors += 1
            stop.wait(think * rng.uniform(0.5, 1.5))
    results[index] = (latencies, errors, superseded)


def run_level(stack, project_id, image_ids, cookies, n, seconds, think):
    stop = threading.Event()
    results: dict[int, tuple] = {}
    threads = [
        threading.Thread(
            target=annotator,
            args=(stack, project_id, image_ids[i % len(image_ids)], cookies[i], stop, think),
            kwargs={"results": results, "index": i},
        )
        for i in range(n)
    ]
    queue = redis.Redis.from_url(stack.redis.url)
    depth = 0
    for thread in threads:
        thread.start()
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        depth = max(depth, sum(queue.llen(q) for q in queue.keys("interactive*")))
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(ANSWER_TIMEOUT_S + 10)
    latencies = [ms for lat, _, _ in results.values() for ms in lat]
    errors = sum(e for _, e, _ in results.values()) + (n - len(results))
    superseded = sum(s for _, _, s in results.values())
    return latencies, errors, superseded, depth


def main():
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser()
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--click-workers", type=int, default=1)
    args = parser.parse_args()
    args.levels = [int(n) for n in args.levels.split(",")]
    stack, project_id, image_ids = prepare(args)
    try:
        cookies = [stack.session_cookie(f"load{i}", PASSWORD) for i in range(max(args.levels))]
        rows, baseline = [], None
        for n in args.levels:
            latencies, errors, superseded, depth = run_level(
                stack, project_id, image_ids, cookies, n, args.seconds, args.think
            )
            p50 = statistics.median(latencies) if latencies else float("nan")
            baseline = baseline or p50
            rows.append(
                f"| {n} | {len(latencies)} | {len(latencies) / args.seconds:.1f} | {p50:.0f} "
                f"| {percentile(latencies, 95):.0f} | {percentile(latencies, 99):.0f} "
                f"| {p50 / baseline:.2f}x | {errors} | {superseded} | {depth} |"
            )
            print(rows[-1], flush=True)
        print()
        print(
            "| annotators | clicks answered | clicks/s | p50 ms | p95 ms | p99 ms | p50 vs 1 "
            "| errors | superseded | max queue |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
