"""The model panel on the project page and in the editor, as an owner and as a viewer: the form
shows the parameters the active model was loaded with (so a reload from it keeps them), a
viewer sees every write control disabled, and nothing opens a native dialog or logs an
error."""

import os
import re
import subprocess
import sys
import time

from tests.ui.conftest import ROOT, login, screenshot, synthetic_pool

VIEWER = ("vic-model", "vic-model-password-3")


def rest(page, method: str, url: str, data=None):
    """A REST call as the signed-in user (setting up what a test does not try)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.fetch(
        url, method=method, data=data, headers={"X-CSRFToken": token, "Referer": url}
    )
    assert response.ok, (url, response.status, response.text())
    return response.json() if response.status != 204 else {}


def wait_until(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)
    return value


def create_user(live_app, username: str, password: str) -> None:
    """A user account in the live server's database, through Django's ORM."""
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(live_app["var"])}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    script = (
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        f"U.objects.filter(username={username!r}).exists() or "
        f"U.objects.create_user({username!r}, password={password!r})"
    )
    command = [sys.executable, "manage.py", "shell", "-c", script]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def no_native_dialogs(page) -> list[str]:
    opened: list[str] = []

    def seen(dialog):
        opened.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", seen)
    return opened


def project_with_images(page, live_app, name: str) -> tuple[int, int]:
    base = live_app["base"]
    folder = live_app["datasets"] / name
    synthetic_pool(folder, count=1)
    project = rest(page, "POST", f"{base}/api/projects/", {"name": name})["id"]
    rest(page, "POST", f"{base}/api/projects/{project}/sources/folder/", {"path": str(folder)})
    images = wait_until(
        lambda: rest(page, "GET", f"{base}/api/projects/{project}/images/")["results"]
    )
    return project, images[0]["id"]


def open_parameters(panel) -> None:
    if panel.locator("details.model-params").get_attribute("open") is None:
        panel.get_by_text("Load parameters").click()


def load_from_the_panel(page, base: str, project: int, *, postprocessing: bool) -> None:
    panel = page.locator(".model-panel")
    panel.locator(".model-select").select_option("classic")
    open_parameters(panel)
    panel.locator(".model-postprocessing").set_checked(postprocessing)
    before = rest(page, "GET", f"{base}/api/projects/{project}/model/").get("loaded_at")
    panel.get_by_role("button", name="Load").click()
    wait_until(
        lambda: (
            rest(page, "GET", f"{base}/api/projects/{project}/model/").get("loaded_at")
            not in (None, before)
        )
    )
    panel.locator(".model-message").filter(has_text=re.compile("Loaded classic")).wait_for()


def test_the_owner_s_form_shows_the_loaded_parameters_after_a_reload(
    page, live_app, console_errors
):
    base = live_app["base"]
    dialogs = no_native_dialogs(page)
    login(page, base)
    project, _ = project_with_images(page, live_app, "Model panel owner")
    page.goto(f"{base}/projects/{project}/")
    panel = page.locator(".model-panel")
    load_from_the_panel(page, base, project, postprocessing=False)

    page.reload()
    panel.locator(".model-current").filter(has_text="classic").wait_for()
    open_parameters(panel)
    assert not panel.locator(".model-postprocessing").is_checked()
    assert panel.locator(".model-select").input_value() == "classic"
    assert panel.get_by_role("button", name="Load").is_enabled()

    load_from_the_panel(page, base, project, postprocessing=True)
    page.reload()
    panel.locator(".model-current").filter(has_text="classic").wait_for()
    open_parameters(panel)
    # The active value, true, is shown ticked: a Load from the form now keeps it.
    assert panel.locator(".model-postprocessing").is_checked()
    state = rest(page, "GET", f"{base}/api/projects/{project}/model/")
    assert state["active"]["params"]["apply_postprocessing"] is True
    screenshot(page, "model-panel-owner")
    assert not dialogs, dialogs
    assert not console_errors, console_errors


def test_a_viewer_reads_the_panel_with_every_write_control_disabled(
    page, browser, live_app, console_errors
):
    base = live_app["base"]
    login(page, base)
    project, image = project_with_images(page, live_app, "Model panel viewer")
    rest(page, "POST", f"{base}/api/projects/{project}/model/load/", {"key": "classic"})
    wait_until(
        lambda: rest(page, "GET", f"{base}/api/projects/{project}/model/")["status"] == "loaded"
    )
    create_user(live_app, *VIEWER)
    members = f"{base}/api/projects/{project}/members/"
    rest(page, "POST", members, {"username": VIEWER[0], "role": "viewer"})

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    viewer = context.new_page()
    errors: list[str] = []
    viewer.on("console", lambda m: m.type == "error" and errors.append(m.text))
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    dialogs = no_native_dialogs(viewer)
    viewer.goto(f"{base}/accounts/login/")
    viewer.get_by_label("User name").fill(VIEWER[0])
    viewer.get_by_label("Password").fill(VIEWER[1])
    viewer.get_by_role("button", name="Log in").click()
    viewer.wait_for_url(f"{base}/")

    for url in (f"{base}/projects/{project}/", f"{base}/projects/{project}/images/{image}/"):
        viewer.goto(url)
        panel = viewer.locator(".model-panel")
        panel.locator(".model-current").filter(has_text="classic").wait_for()
        assert panel.locator(".model-load").is_hidden()
        assert panel.locator(".model-load").is_disabled()
        note = "Only owners and annotators load a model: ask one of them."
        assert panel.get_by_text(note).is_visible()
        for control in (".model-select", ".model-device", ".model-postprocessing"):
            assert panel.locator(control).is_disabled(), (url, control)
            assert panel.locator(control).get_attribute("title") == note
        assert panel.locator(".model-cancel").is_hidden()
        # The viewer still reads what is loaded, with the parameters it was loaded with.
        assert panel.locator(".model-select").input_value() == "classic"
        assert panel.locator(".model-postprocessing").is_checked()
    viewer.goto(f"{base}/projects/{project}/")
    viewer.locator(".model-panel .model-current").filter(has_text="classic").wait_for()
    screenshot(viewer, "model-panel-viewer")
    context.close()
    assert not dialogs, dialogs
    assert not errors, errors
    assert not console_errors, console_errors
