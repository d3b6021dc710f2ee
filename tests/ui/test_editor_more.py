"""The editor's smaller basics: a re-applied change after a conflict, the navbar on one line,
a failed settings save, one image exported and removed from the editor, and five images
labelled with the keyboard after the first click on each."""

import json
import re

from tests.ui.conftest import screenshot
from tests.ui.helpers import (
    LEFT,
    add_member,
    call,
    canvas_rgb,
    create_user,
    drag,
    make_project,
    open_editor,
    screen_point,
    sign_in,
)

STATE = "window.annotatorEditor.state"


def polygon_object(page, image: int, cx: float, cy: float, r: float) -> dict:
    version = call(page, "POST", f"/api/images/{image}/open/")["data"]["image"]["version"]
    square = [[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]]
    made = call(
        page, "POST", f"/api/images/{image}/objects/", {"version": version, "points": square}
    )
    assert made["status"] == 201, made
    return made["data"]["object"]


def test_reapplying_a_delete_after_a_conflict_shows_what_the_server_holds(
    page, browser, live_app, console_errors
):
    project = make_project(page, live_app, "conflict", count=1)
    image = project["images"][0]
    for cx in (60, 160, 260):
        polygon_object(page, image, cx, 120, 20)
    open_editor(page, live_app["base"], project["id"], image)
    page.wait_for_function(f"{STATE}.objects.length === 3")
    ids = page.evaluate(f"{STATE}.objects.map(o => o.id)")

    # A colleague deletes the first object meanwhile.
    version = call(page, "GET", f"/api/images/{image}/")["data"]["version"]
    gone = call(page, "DELETE", f"/api/objects/{ids[0]}/", {"version": version})
    assert gone["status"] == 200, gone

    # This page, one version behind, deletes the second one.
    page.locator(f"#objects li[data-id='{ids[1]}'] .delete").click()
    page.locator("#conflict").wait_for()
    page.get_by_role("button", name="Re-apply my change").click()
    page.wait_for_function(f"{STATE}.objects.length === 1")
    held = [o["id"] for o in call(page, "GET", f"/api/images/{image}/records/")["data"]["objects"]]
    assert held == [ids[2]]
    assert page.evaluate(f"{STATE}.objects.map(o => o.id)") == held
    assert page.locator("#objects li").count() == 1
    assert page.locator("#conflict").is_hidden()
    # The browser notes the refused write (409) itself; nothing else went wrong.
    assert all("409 (Conflict)" in e for e in console_errors), console_errors


def test_the_navbar_stays_on_one_line_at_1440_px(page, live_app, console_errors):
    page.set_viewport_size({"width": 1440, "height": 900})
    project = make_project(page, live_app, "navbar-with-a-rather-long-project-name", count=1)
    image = project["images"][0]
    open_editor(page, live_app["base"], project["id"], image)
    # Every flag on: automask, a kept prediction, a manual edit.
    page.get_by_role("button", name="Run automask").click()
    page.locator("#automask-count", has_text=re.compile(r"^[1-9]\d* masks$")).wait_for(
        timeout=60_000
    )
    x, y = screen_point(page, *LEFT[:2])
    page.mouse.click(x, y)
    page.wait_for_function(f"{STATE}.candidates !== null", timeout=30_000)
    page.keyboard.press("Enter")
    page.wait_for_function(f"{STATE}.objects.length === 1")
    page.keyboard.press("r")
    drag(page, screen_point(page, 200, 40), screen_point(page, 240, 40))
    page.wait_for_function(f"{STATE}.image.has_manual_edit")
    # The stroke joined the kept object, and the canvas shows it.
    page.wait_for_function(f"{STATE}.objects.length === 1 && {STATE}.objects[0].mask.y <= 40")
    page.get_by_label("Show results").uncheck()
    assert canvas_rgb(page, 220, 40) != canvas_rgb(page, 220, 100)
    page.get_by_label("Show results").check()
    assert page.locator("#flags").inner_text() == "A P E"
    heights = page.evaluate(
        """() => [document.querySelector('.navbar').getBoundingClientRect().height,
                  document.querySelector('#next').getBoundingClientRect().height]"""
    )
    screenshot(page, "editor-navbar-1440")
    assert heights[0] < 2 * heights[1], heights
    assert page.evaluate("document.querySelector('.navbar').scrollWidth <= innerWidth")
    assert not console_errors, console_errors


def test_a_failed_settings_save_says_so(page, live_app, console_errors):
    project = make_project(page, live_app, "settings-offline", count=1)
    open_editor(page, live_app["base"], project["id"], project["images"][0])
    page.route("**/my-settings/", lambda route: route.abort())
    page.get_by_label("Overlay opacity").fill("30")
    page.locator("#toast", has_text="Your editor settings could not be saved").wait_for()
    # Only the browser's own note of the refused request; no uncaught error.
    assert all("net::ERR_FAILED" in e for e in console_errors), console_errors


def test_one_image_exported_and_removed_from_the_editor(page, live_app, console_errors):
    project = make_project(page, live_app, "single-image", count=2)
    image = project["images"][0]
    polygon_object(page, image, 80, 120, 30)
    open_editor(page, live_app["base"], project["id"], image)
    page.get_by_role("button", name="Image ▾").click()
    page.get_by_label("Export this image").select_option("coco")
    page.get_by_role("button", name="Export", exact=True).click()
    link = page.locator("#image-export-download")
    link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    coco = json.loads(open(download.value.path()).read())
    assert [i["id"] for i in coco["images"]] == [image] or len(coco["images"]) == 1
    assert len(coco["annotations"]) == 1
    screenshot(page, "editor-image-menu")

    page.get_by_role("button", name="Remove from the pool").click()
    page.locator("#toast", has_text="Removed from the pool").wait_for()
    assert call(page, "GET", f"/api/images/{image}/")["data"]["removed_at"]
    page.get_by_role("button", name="Image ▾").click()
    page.get_by_role("button", name="Restore to the pool").click()
    page.locator("#toast", has_text="Restored to the pool.").wait_for()
    assert call(page, "GET", f"/api/images/{image}/")["data"]["removed_at"] is None
    assert not console_errors, console_errors


def test_five_images_labelled_with_the_keyboard_after_the_first_click(
    page, live_app, console_errors
):
    project = make_project(page, live_app, "keyboard", count=5)
    call(
        page, "POST", f"/api/projects/{project['id']}/labels/", {"name": "disc", "color": "#ff8800"}
    )
    open_editor(page, live_app["base"], project["id"], project["images"][0])
    page.keyboard.press("b")
    for n in range(5):
        image = page.evaluate(f"{STATE}.image.id")
        # The one pointer action per image: a box around the left disc, another with Shift.
        drag(page, *[screen_point(page, *p) for p in ((35, 75), (125, 165))])
        page.wait_for_function(f"{STATE}.candidates !== null", timeout=30_000)
        drag(page, *[screen_point(page, *p) for p in ((185, 75), (275, 165))], shift=True)
        page.wait_for_function(
            f"{STATE}.candidates && {STATE}.candidates.masks.length === 2", timeout=30_000
        )
        page.keyboard.press("Enter")
        page.wait_for_function(f"{STATE}.objects.length === 2")
        page.keyboard.press("c")
        if n < 4:
            page.wait_for_function(f"{STATE}.image.id !== {image}")
    page.locator("#toast", has_text="Every image of the pool is completed").wait_for()
    for image in project["images"]:
        assert call(page, "GET", f"/api/images/{image}/")["data"]["status"] == "completed"
        assert len(call(page, "GET", f"/api/images/{image}/records/")["data"]["objects"]) == 2
    screenshot(page, "editor-keyboard-done")
    assert not console_errors, console_errors


def test_each_member_keeps_their_own_editor_settings(page, browser, live_app, console_errors):
    project = make_project(page, live_app, "own-settings", count=1)
    image = project["images"][0]
    create_user(live_app, "anna", "anna-password-1")
    add_member(page, project["id"], "anna", "annotator")
    open_editor(page, live_app["base"], project["id"], image)
    page.keyboard.press("e")
    page.get_by_label("Overlay opacity").fill("80")
    page.wait_for_timeout(900)  # saved after a short pause

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    anna = context.new_page()
    errors: list[str] = []
    anna.on("console", lambda m: m.type == "error" and errors.append(m.text))
    anna.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(anna, live_app["base"], "anna", "anna-password-1")
    open_editor(anna, live_app["base"], project["id"], image)
    assert anna.evaluate(f"{STATE}.tool") == "point"
    assert anna.get_by_label("Overlay opacity").input_value() == "50"
    # The annotator works: a box around the left disc becomes an object.
    anna.keyboard.press("b")
    drag(anna, screen_point(anna, 35, 75), screen_point(anna, 125, 165))
    anna.wait_for_function(f"{STATE}.candidates !== null", timeout=30_000)
    anna.keyboard.press("Enter")
    anna.wait_for_function(f"{STATE}.objects.length === 1")
    anna.keyboard.press("]")
    anna.wait_for_timeout(900)
    context.close()
    assert not errors, errors

    page.reload()
    page.wait_for_function("window.annotatorEditor && window.annotatorEditor.state.picture")
    assert page.evaluate(f"{STATE}.tool") == "eraser"
    assert page.get_by_label("Overlay opacity").input_value() == "80"
    assert page.locator("#brush-size").input_value() == "12"
    mine = call(page, "GET", f"/api/projects/{project['id']}/my-settings/")["data"]
    assert mine["tool"] == "eraser" and mine["opacity"] == 0.8
    assert not console_errors, console_errors
