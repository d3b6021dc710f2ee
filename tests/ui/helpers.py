"""What the editor's browser tests share: a project of their own made through the API, users
in other roles, and reading what the canvas shows."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from tests.ui.conftest import ROOT, login

# Two discs on grey, 320x240: a red one on the left and a blue one on the right.
WIDTH, HEIGHT = 320, 240
LEFT = (80, 120, 40)
RIGHT = (230, 120, 40)


def two_disc_pool(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    for i in range(count):
        pixels = np.full((HEIGHT, WIDTH, 3), 90, dtype=np.uint8)
        for (cx, cy, r), colour in ((LEFT, (230, 60, 40)), (RIGHT, (40, 80, 230))):
            pixels[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = colour
        pixels = np.clip(pixels + rng.normal(0, 3, pixels.shape), 0, 255).astype(np.uint8)
        PILImage.fromarray(pixels).save(folder / f"pair_{i}.png")


def call(page, method: str, url: str, body=None):
    """A request from the signed-in page, as its own scripts send them."""
    return page.evaluate(
        """async ([method, url, body]) => {
            const token = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
            const headers = { "X-CSRFToken": token, Accept: "application/json" };
            const options = { method, headers };
            if (body !== null) {
                options.headers["Content-Type"] = "application/json";
                options.body = JSON.stringify(body);
            }
            const response = await fetch(url, options);
            const text = await response.text();
            return { status: response.status, data: text ? JSON.parse(text) : null };
        }""",
        [method, url, body],
    )


def wait_until(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def make_project(page, live_app, name: str, *, count: int = 3, model: str = "classic") -> dict:
    """A project of two-disc images in a folder source, with the classic model loaded."""
    base = live_app["base"]
    login(page, base)
    folder = live_app["datasets"] / name
    two_disc_pool(folder, count)
    project = call(page, "POST", "/api/projects/", {"name": name})["data"]
    pid = project["id"]
    added = call(page, "POST", f"/api/projects/{pid}/sources/folder/", {"path": str(folder)})
    assert added["status"] in (200, 201, 202), added

    def images():
        listed = call(page, "GET", f"/api/projects/{pid}/images/")["data"]
        rows = listed["results"] if isinstance(listed, dict) else listed
        return rows if len(rows) == count else None

    rows = wait_until(images, what="the folder's images")
    if model:
        loaded = call(page, "POST", f"/api/projects/{pid}/model/load/", {"key": model})
        assert loaded["status"] in (200, 202), loaded
        wait_until(
            lambda: (
                call(page, "GET", f"/api/projects/{pid}/model/")["data"].get("status") == "loaded"
            ),
            what="the model to load",
        )
    return {"id": pid, "images": sorted(r["id"] for r in rows)}


def server_json(live_app, script: str):
    """What `script`, run in the server's environment (its database), prints last, as JSON."""
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(live_app["var"])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def person(browser, live_app, name: str, *, viewport=(1366, 768)):
    """A signed-in person in a browser context of their own, and their page's console errors."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_app["base"], name, f"{name}-password-1")
    return context, page, errors


def create_user(live_app, username: str, password: str) -> None:
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(live_app["var"])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    script = (
        "from django.contrib.auth import get_user_model; "
        f"U = get_user_model(); U.objects.filter(username={username!r}).exists() or "
        f"U.objects.create_user({username!r}, password={password!r})"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True
    )


def add_member(page, project: int, username: str, role: str) -> None:
    added = call(
        page, "POST", f"/api/projects/{project}/members/", {"username": username, "role": role}
    )
    assert added["status"] in (200, 201), added


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def open_editor(page, base: str, project: int, image: int) -> None:
    page.goto(f"{base}/projects/{project}/images/{image}/")
    page.wait_for_function("window.annotatorEditor && window.annotatorEditor.state.picture")
    page.wait_for_function("document.querySelector('#connection').dataset.state === 'connected'")


def screen_point(page, x: float, y: float) -> tuple[float, float]:
    """Screen coordinates of image pixel (x, y)."""
    return page.evaluate(
        """([x, y]) => {
            const s = window.annotatorEditor.state, c = document.querySelector('#canvas');
            const r = c.getBoundingClientRect(), k = r.width / c.width;
            return [r.left + (s.view.x + x * s.view.scale) * k,
                    r.top + (s.view.y + y * s.view.scale) * k];
        }""",
        [x, y],
    )


def canvas_rgb(page, x: float, y: float) -> list[int]:
    """The colour the canvas shows at image pixel (x, y), after the next frame."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    return page.evaluate(
        """([x, y]) => {
            const s = window.annotatorEditor.state, c = document.querySelector('#canvas');
            const px = Math.round(s.view.x + (x + 0.5) * s.view.scale);
            const py = Math.round(s.view.y + (y + 0.5) * s.view.scale);
            return Array.from(c.getContext('2d').getImageData(px, py, 1, 1).data.slice(0, 3));
        }""",
        [x, y],
    )


def drag(
    page, start: tuple[float, float], end: tuple[float, float], *, shift: bool = False
) -> None:
    if shift:
        page.keyboard.down("Shift")
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=6)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")
