"""Run as a separate process by test_worker_integration: drives the app against real Redis
and real `celery worker` processes sharing one SQLite file, and prints what it observed as
JSON on the last line of its output.

Scenario: a pool automask job starts on the `gpu` worker; once it is running, a click is
sent to the `interactive` worker; the click's answer must arrive while the pool job is still
running, and the job's progress must arrive through the Redis channel layer.
"""

import asyncio
import json
import time

import django

django.setup()

from channels.layers import get_channel_layer  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from inference import dispatch  # noqa: E402
from inference.services import automask  # noqa: E402
from projects import services as project_services  # noqa: E402
from projects.encoding import rle_to_mask  # noqa: E402
from projects.models import AutomaskRun, Image, Job, Source  # noqa: E402
from tests.inference.conftest import draw_object, iou, write_png  # noqa: E402

POOL_SIZE = 4


def setup():
    call_command("migrate", verbosity=0)
    owner = get_user_model().objects.create_user("olive", password="pw")
    project = project_services.project_create(name="Integration", owner=owner)
    source = Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name="photos")
    images = []
    for index in range(POOL_SIZE):
        drawn = draw_object(width=800, height=600, seed=index)
        write_png(drawn.rgb, f"big{index}.png")
        images.append(Image.objects.create(project=project, source=source, path=f"big{index}.png"))
    small = draw_object(seed=7)
    write_png(small.rgb, "small.png")
    clicked = Image.objects.create(project=project, source=source, path="small.png")
    return owner, project, images, clicked, small


async def observe(owner, project, images, clicked, small) -> dict:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(f"project.{project.pk}", channel)
    job = await asyncio.to_thread(
        automask.automask_start,
        project=project,
        user=owner,
        params={"scale": 100.0},
        image_ids=[image.pk for image in images],
    )
    seen: dict = {"job_statuses": []}
    clicked_at = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        message = await asyncio.wait_for(layer.receive(channel), timeout=120)
        if message["type"] == "relay" and message["event"]["type"] == "job.progress":
            data = message["event"]["data"]
            seen["job_statuses"].append((data["status"], data["done"]))
            if data["status"] == "running" and clicked_at is None:
                clicked_at = time.monotonic()
                click = dispatch.Click(
                    user=owner,
                    project_id=project.pk,
                    image_id=clicked.pk,
                    request_id="click-1",
                    prompt={"point_coords": [list(small.centre)], "point_labels": [1]},
                    reply_channel=channel,
                )
                await asyncio.to_thread(dispatch.predict_enqueue, click)
            if data["status"] in ("done", "failed", "cancelled"):
                break
        elif message["type"] == "inference.reply":
            reply = message["reply"]
            answer = reply["data"]
            seen["prediction"] = {
                "type": reply["type"],
                "request_id": answer["request_id"],
                "iou": iou(rle_to_mask(answer["masks"][0]), small.truth)
                if reply["type"] == "prediction"
                else None,
                "message": answer.get("message"),
            }
            seen["prediction_seconds"] = time.monotonic() - clicked_at
            seen["job_done_when_answered"] = await asyncio.to_thread(
                lambda: Job.objects.get(pk=job.pk).done
            )
    seen["job_id"] = job.pk
    return seen


def main():
    owner, project, images, clicked, small = setup()
    seen = asyncio.run(observe(owner, project, images, clicked, small))
    job = Job.objects.get(pk=seen["job_id"])
    seen["job"] = {"status": job.status, "done": job.done, "total": job.total, "msg": job.message}
    seen["runs"] = AutomaskRun.objects.filter(job=job).count()
    seen["flags"] = [Image.objects.get(pk=i.pk).has_automask for i in images]
    clicked.refresh_from_db()
    seen["clicked_flag"] = clicked.has_manual_prediction
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
