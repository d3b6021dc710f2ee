"""Click latency with a warm embedding: the app's whole path against a bare SAM2 call.

The app's path is a `predict` message on the project WebSocket (the real ASGI app, Channels'
in-memory layer, the embedded in-process worker) through validation, the model, the saved
record (COCO RLE masks, .npz logits, the image's flag) and the reply. The baseline is
SAM2ImagePredictor.predict on the same checkpoint, image and click, in the same process.
Both use random-weight checkpoints built here (micro and hiera-tiny shapes).

    .venv/bin/python benches/inference_click.py [--repeats 30] [--steps]

--steps instead times each step of a micro click inside the paired run (wrapping the app's
functions with timers) and prints where the added milliseconds go. It runs on its own, in
a fresh process: after the hiera-tiny model has run, every step of a micro click takes
longer.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="annotator-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
os.environ["ANNOTATOR_VAR_DIR"] = str(WORK / "var")
os.environ["ANNOTATOR_EMBEDDED_WORKER"] = "true"
os.environ["ANNOTATOR_MODEL_ROOTS"] = str(WORK)  # the random-weight checkpoints below
os.environ.pop("REDIS_URL", None)
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from channels.testing import WebsocketCommunicator  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from annotator.asgi import application  # noqa: E402
from inference import checkpoints, dispatch, engine  # noqa: E402
from projects import services as project_services  # noqa: E402
from projects.models import Image, Source  # noqa: E402

WIDTH, HEIGHT = 1024, 768
CLICK = [[600.0, 380.0]]


def picture() -> np.ndarray:
    rng = np.random.default_rng(0)
    rgb = np.full((HEIGHT, WIDTH, 3), 210, np.uint8)
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    rgb[((xx - 600) / 180.0) ** 2 + ((yy - 380) / 120.0) ** 2 <= 1] = (40, 90, 170)
    return np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)


def setup_project():
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password")
    project = project_services.project_create(name="Bench", owner=user)
    source = Source.objects.create(project=project, kind=Source.Kind.UPLOAD, name="bench")
    uploads = Path(os.environ["ANNOTATOR_VAR_DIR"]) / "media" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(picture()).save(uploads / "bench.png")
    image = Image.objects.create(project=project, source=source, path="bench.png")
    client = Client()
    client.force_login(user)
    return user, project, image, f"sessionid={client.cookies['sessionid'].value}".encode()


def bare_predictor(ref: engine.ModelRef):
    build_sam, predictor_module, _ = engine.import_sam2()
    model = build_sam.build_sam2(
        ref.config, ref.checkpoint, device="cpu", hydra_overrides_extra=list(ref.overrides)
    )
    predictor = engine.fit_feature_sizes(
        predictor_module.SAM2ImagePredictor(model), int(model.image_size)
    )
    return predictor


def timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def app_clicks(
    cookie: bytes, project_id: int, image_id: int, repeats: int, bare=None, marks=None
):
    """Round trips of `repeats` predict messages; with `bare`, each is paired with a bare
    call right before it, so load changes on the machine hit both sides alike."""
    communicator = WebsocketCommunicator(
        application,
        f"/ws/projects/{project_id}/",
        headers=[(b"cookie", cookie), (b"origin", b"http://127.0.0.1")],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.receive_json_from()
    times, bare_times = [], []
    for index in range(repeats):
        if bare is not None:
            # On the thread that runs the app's clicks: torch keeps a pool of OpenMP threads
            # per calling thread, and alternating between two pools on two cores costs each
            # call milliseconds that belong to neither side.
            bare_times += dispatch.interactive_executor().submit(timed, bare, 1).result()
        if marks is not None:
            marks.append({})
        started = time.perf_counter()
        await communicator.send_json_to(
            {
                "type": "predict",
                "data": {
                    "request_id": str(index),
                    "image_id": image_id,
                    "point_coords": CLICK,
                    "point_labels": [1],
                },
            }
        )
        reply = await communicator.receive_json_from(timeout=60)
        times.append((time.perf_counter() - started) * 1000)
        assert reply["type"] == "prediction", reply
        if marks is not None:
            marks[-1].update(sent=started, received=started + times[-1] / 1000)
    await communicator.disconnect()
    return (times, bare_times) if bare is not None else times


def use(project, ref: engine.ModelRef) -> None:
    project.model_selection = {"active": ref.as_dict(), "status": "loaded"}
    project.save(update_fields=["model_selection"])


def measure(name, ref, user, project, image, cookie, repeats) -> dict:
    rgb = picture()
    predictor = bare_predictor(ref)
    predictor.set_image(rgb)  # the first call also warms torch up
    embed_ms = timed(lambda: predictor.set_image(rgb), 3)
    points, labels = np.array(CLICK, np.float32), np.array([1], np.int32)

    def bare():
        with torch.inference_mode():
            predictor.predict(point_coords=points, point_labels=labels, multimask_output=True)

    bare()
    use(project, ref)
    engine.get_engine(ref)  # loaded, as after a model load
    engine.embedding_cache().clear()
    run = asyncio.run
    cold = run(app_clicks(cookie, project.pk, image.pk, 1))[0]  # decodes and embeds
    app_times, bare_times = run(app_clicks(cookie, project.pk, image.pk, repeats, bare))
    added = statistics.median(a - b for a, b in zip(app_times, bare_times, strict=True))
    automask_params = {"points_per_side": 8, "pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
    model = engine.get_engine(ref)
    automask_s = timed(lambda: model.automask(rgb, automask_params), 1)[0] / 1000
    bare_ms, app_ms = statistics.median(bare_times), statistics.median(app_times)
    return {
        "model": name,
        "bare": bare_ms,
        "app": app_ms,
        "ratio": app_ms / bare_ms,
        "added": added,
        "embed": statistics.median(embed_ms),
        "cold": cold,
        "automask": automask_s,
    }


def classic_row(project, image, cookie, repeats) -> dict:
    ref = engine.ModelRef(key="classic")
    use(project, ref)
    times = asyncio.run(app_clicks(cookie, project.pk, image.pk, max(3, repeats // 3)))
    model = engine.get_engine(ref)
    automask_s = timed(lambda: model.automask(picture(), {}), 1)[0] / 1000
    return {"model": "classic", "app": statistics.median(times), "automask": automask_s}


def step_timers(marks: list[dict]) -> None:
    """Wrap the steps of the app's click path with timers writing into marks[-1]."""
    from inference import consumers
    from inference.services import predictions
    from projects import encoding
    from projects.consumers import ProjectConsumer
    from projects.models import Prediction

    def mark(name: str) -> None:
        if marks:  # not the greeting sent on connect
            marks[-1][name] = time.perf_counter()

    def timed_sum(owner, attribute: str, name: str) -> None:
        function = getattr(owner, attribute)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if marks:
                    spent = (time.perf_counter() - started) * 1000
                    marks[-1][name] = marks[-1].get(name, 0.0) + spent

        setattr(owner, attribute, wrapper)

    predict, check = consumers.PredictMixin.handle_predict, predictions.prediction_image_check
    handle, send = predictions.prediction_handle, ProjectConsumer.send_json
    run = predictions.prediction_run

    async def predict_marked(self, data):
        mark("handler")
        return await predict(self, data)

    def check_marked(**kwargs):
        mark("thread")
        try:
            return check(**kwargs)
        finally:
            mark("checked")

    def handle_marked(request, **kwargs):
        try:
            return handle(request, **kwargs)
        finally:
            mark("handled")

    def run_marked(**kwargs):
        result = run(**kwargs)
        marks[-1].update(result.timings_ms)
        return result

    async def send_marked(self, content, close=False):
        mark("back")
        await send(self, content, close)
        mark("answered")

    consumers.PredictMixin.handle_predict = predict_marked
    predictions.prediction_image_check = check_marked
    predictions.prediction_handle = handle_marked
    predictions.prediction_run = run_marked
    ProjectConsumer.send_json = send_marked
    timed_sum(encoding, "mask_to_rle", "rle")
    timed_sum(encoding, "array_save", "logits")
    timed_sum(Prediction.objects, "create", "insert")


def steps_table(ref, user, project, image, cookie, repeats) -> list[tuple[str, float]]:
    predictor = bare_predictor(ref)
    predictor.set_image(picture())
    points, labels = np.array(CLICK, np.float32), np.array([1], np.int32)

    def bare():
        with torch.inference_mode():
            predictor.predict(point_coords=points, point_labels=labels, multimask_output=True)

    use(project, ref)
    engine.get_engine(ref)
    marks: list[dict] = []
    step_timers(marks)
    asyncio.run(app_clicks(cookie, project.pk, image.pk, 3, bare, marks))
    marks.clear()
    app_times, bare_times = asyncio.run(
        app_clicks(cookie, project.pk, image.pk, repeats, bare, marks)
    )
    rows = []
    for m, app_ms, bare_ms in zip(marks, app_times, bare_times, strict=True):
        ms = {key: (m[end] - m[start]) * 1000 for key, start, end in STEP_SPANS}
        save_rest = m["save"] - m["rle"] - m["logits"] - m["insert"]
        rows.append(
            {
                "ms added (whole path - bare)": app_ms - bare_ms,
                "WebSocket message to the handler": ms["in"],
                "hand-off to the interactive thread and back": ms["to"] + ms["back"],
                "access check: image, project, source and role": ms["check"],
                "prompt checks and model lookup": m["prepare"],
                "model step, app - bare": m["model"] - bare_ms,
                "save: COCO RLE of the masks": m["rle"],
                "save: logits file": m["logits"],
                "save: insert": m["insert"],
                "save: the rest": save_rest,
                "sending the answer": ms["answer"],
            }
        )
    return [(name, statistics.median(r[name] for r in rows)) for name in rows[0]]


STEP_SPANS = [
    ("in", "sent", "handler"),
    ("to", "handler", "thread"),
    ("check", "thread", "checked"),
    ("back", "handled", "back"),
    ("answer", "back", "received"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--steps", action="store_true", help="time each step of a micro click")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    user, project, image, cookie = setup_project()
    micro = checkpoints.write_micro_checkpoint(WORK / "micro.pt")
    tiny = checkpoints.write_tiny_checkpoint(WORK / "tiny.pt")
    refs = {
        "micro (512 px)": engine.ModelRef(
            key="manual",
            checkpoint=str(micro),
            config=checkpoints.TINY_CONFIG,
            overrides=checkpoints.MICRO_OVERRIDES,
        ),
        "hiera-tiny shape (1024 px)": engine.ModelRef(
            key="manual", checkpoint=str(tiny), config=checkpoints.TINY_CONFIG
        ),
    }
    if args.steps:
        table = steps_table(refs["micro (512 px)"], user, project, image, cookie, args.repeats)
        print(f"micro click, medians of {args.repeats} paired clicks (bare, then app)\n")
        print("| step | ms |\n|---|---|")
        for name, value in table:
            print(f"| {name} | {value:.2f} |")
        return
    rows = [measure(n, r, user, project, image, cookie, args.repeats) for n, r in refs.items()]
    extra = classic_row(project, image, cookie, args.repeats)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, image {WIDTH}x{HEIGHT}")
    print(
        f"medians of {args.repeats} paired clicks (bare, then app), warm embedding; "
        "ms added = median of the pairs' differences; automask 8x8 points\n"
    )
    print(
        "| model | bare predict ms | app whole path ms | ratio | ms added | embedding ms "
        "| first click (cache miss) ms | automask s/image |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['bare']:.1f} | {r['app']:.1f} | {r['ratio']:.2f}x "
            f"| {r['added']:+.1f} | {r['embed']:.0f} | {r['cold']:.0f} | {r['automask']:.2f} |"
        )
    print(
        f"| classic (GrabCut) | - | {extra['app']:.1f} | - | - | - | - | {extra['automask']:.2f} |"
    )


if __name__ == "__main__":
    main()
