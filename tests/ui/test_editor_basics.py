"""The editor's basics, each as a person does it: automask, several boxes, shortcuts after
sidebar controls, a viewer's read-only editor, picking and promoting automask results, and
objects selected, hovered, coloured and deleted on the canvas."""

import re

from tests.ui.conftest import screenshot
from tests.ui.helpers import (
    LEFT,
    RIGHT,
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


def records(page, image: int) -> dict:
    return call(page, "GET", f"/api/images/{image}/records/")["data"]


def box_around(page, disc, margin=6):
    cx, cy, r = disc
    return screen_point(page, cx - r - margin, cy - r - margin), screen_point(
        page, cx + r + margin, cy + r + margin
    )


def keep_box_object(page, disc) -> None:
    """Drag a box around a disc and keep its object with Enter."""
    count = page.evaluate(f"{STATE}.objects.length")
    drag(page, *box_around(page, disc))
    page.wait_for_function(f"{STATE}.candidates !== null", timeout=30_000)
    page.keyboard.press("Enter")
    page.wait_for_function(f"{STATE}.objects.length === {count + 1}")


def test_automask_results_appear_when_the_job_ends(page, live_app, console_errors):
    project = make_project(page, live_app, "automask-editor", count=2)
    image = project["images"][0]
    open_editor(page, live_app["base"], project["id"], image)
    assert page.locator("#automask-count").inner_text() == "none yet"

    page.get_by_role("button", name="Run automask").click()
    page.locator("#automask-count", has_text=re.compile(r"^[1-9]\d* masks$")).wait_for(
        timeout=60_000
    )
    found = page.evaluate(f"{STATE}.automask.length")
    page.locator("#toast", has_text=f"Automask found {found} masks").wait_for()
    assert page.locator("#show-automask").is_checked()
    assert page.locator("#run-automask").is_enabled()
    # The results are drawn without a reload: the left disc is covered by a result's colour.
    assert canvas_rgb(page, LEFT[0], LEFT[1]) != [230, 60, 40]
    assert len(records(page, image)["automask_runs"][0]["masks"]) == found
    assert "A" in page.locator("#flags").inner_text()
    screenshot(page, "editor-automask")
    assert not console_errors, console_errors


def test_several_boxes_keep_one_object_per_box(page, live_app, console_errors):
    project = make_project(page, live_app, "boxes", count=1)
    image = project["images"][0]
    open_editor(page, live_app["base"], project["id"], image)
    page.get_by_role("button", name="▭ Box").click()
    drag(page, *box_around(page, LEFT))
    page.wait_for_function(f"{STATE}.candidates !== null", timeout=30_000)
    drag(page, *box_around(page, RIGHT), shift=True)
    page.wait_for_function(
        f"{STATE}.candidates && {STATE}.candidates.masks.length === 2", timeout=30_000
    )
    page.get_by_text("2 boxes: one object per box.").wait_for()
    assert page.get_by_role("button", name="Keep 2 objects").is_visible()
    screenshot(page, "editor-two-boxes")

    page.keyboard.press("Enter")
    page.wait_for_function(f"{STATE}.objects.length === 2")
    page.locator("#toast", has_text="2 objects added, one per box.").wait_for()
    saved = records(page, image)["objects"]
    assert len(saved) == 2
    # Each box's object covers its own disc.
    areas = sorted(o["mask"]["size"] == [240, 320] for o in saved)
    assert areas == [True, True]
    left, right = (canvas_rgb(page, *LEFT[:2]), canvas_rgb(page, *RIGHT[:2]))
    assert left != [230, 60, 40] and right != [40, 80, 230]

    # One undo takes both back.
    page.keyboard.press("Control+z")
    page.wait_for_function(f"{STATE}.objects.length === 0")
    assert records(page, image)["objects"] == []
    assert not console_errors, console_errors


def test_shortcuts_work_after_any_sidebar_control(page, live_app, console_errors):
    project = make_project(page, live_app, "shortcuts", count=3)
    call(
        page, "POST", f"/api/projects/{project['id']}/labels/", {"name": "cat", "color": "#ff0000"}
    )
    call(
        page, "POST", f"/api/projects/{project['id']}/labels/", {"name": "car", "color": "#00ff00"}
    )
    first = project["images"][0]
    open_editor(page, live_app["base"], project["id"], first)

    page.get_by_label("Label for new objects").select_option(label="car")
    page.keyboard.press("b")
    assert page.evaluate(f"{STATE}.tool") == "box"
    page.get_by_label("Refine with previous mask").check()
    page.keyboard.press("p")
    assert page.evaluate(f"{STATE}.tool") == "point"

    x, y = screen_point(page, *LEFT[:2])
    page.mouse.click(x, y)
    page.wait_for_function(f"{STATE}.candidates !== null", timeout=30_000)
    page.get_by_label("Label for new objects").select_option(label="cat")
    page.keyboard.press("Enter")
    page.wait_for_function(f"{STATE}.objects.length === 1")
    cat = next(
        label["id"]
        for label in call(page, "GET", f"/api/projects/{project['id']}/labels/")["data"]
        if label["name"] == "cat"
    )
    assert records(page, first)["objects"][0]["label"] == cat

    # C completes and moves on; the label list keeps "cat" (no type-ahead to "car").
    page.get_by_label("Label for new objects").focus()
    page.keyboard.press("c")
    page.wait_for_function(f"{STATE}.image.id !== {first}")
    assert (
        page.get_by_label("Label for new objects").evaluate("s => s.selectedOptions[0].text")
        == "cat"
    )
    assert call(page, "GET", f"/api/images/{first}/")["data"]["status"] == "completed"

    # D and S move after a checkbox; typing in a text field keeps its keys.
    second = page.evaluate(f"{STATE}.image.id")
    page.get_by_label("Show results").focus()
    page.keyboard.press("s")
    page.wait_for_function(f"{STATE}.image.id === {first}")
    page.locator("#objects .name").first.fill("")
    page.locator("#objects .name").first.type("dsn")
    assert page.evaluate(f"{STATE}.image.id") == first
    assert page.locator("#objects .name").first.input_value() == "dsn"
    page.keyboard.press("Escape")
    page.keyboard.press("d")
    page.wait_for_function(f"{STATE}.image.id === {second}")
    assert not console_errors, console_errors


def test_a_viewer_gets_a_read_only_editor(page, browser, live_app, console_errors):
    project = make_project(page, live_app, "viewing", count=2)
    first = project["images"][0]
    open_editor(page, live_app["base"], project["id"], first)
    page.get_by_role("button", name="▭ Box").click()
    keep_box_object(page, LEFT)
    create_user(live_app, "vera", "vera-password-1")
    add_member(page, project["id"], "vera", "viewer")

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    viewer = context.new_page()
    errors: list[str] = []
    viewer.on("console", lambda m: m.type == "error" and errors.append(m.text))
    viewer.on("pageerror", lambda e: errors.append(str(e)))
    viewer.on(
        "response",
        lambda r: r.status >= 400 and errors.append(f"{r.status} {r.request.method} {r.url}"),
    )
    sign_in(viewer, live_app["base"], "vera", "vera-password-1")
    open_editor(viewer, live_app["base"], project["id"], first)
    viewer.wait_for_function(f"{STATE}.objects.length === 1")
    # The image and its object are drawn.
    assert canvas_rgb(viewer, *LEFT[:2]) != [230, 60, 40]
    assert viewer.locator("#objects li").count() == 1
    assert viewer.get_by_text("View only").is_visible()
    for name in ("✓ Complete & next", "● Point", "✎ Brush", "Run automask", "↶ Undo"):
        assert viewer.get_by_role("button", name=name).count() == 0, name
    assert viewer.locator("#objects .delete").count() == 0
    assert viewer.locator("#objects .label").is_disabled()
    # Navigation works, and a click only selects.
    viewer.get_by_role("button", name="Next ▶").click()
    viewer.wait_for_function(f"{STATE}.image.id !== {first}")
    viewer.keyboard.press("s")
    viewer.wait_for_function(f"{STATE}.image.id === {first}")
    viewer.wait_for_function(f"{STATE}.objects.length === 1")
    x, y = screen_point(viewer, *LEFT[:2])
    viewer.mouse.click(x, y)
    assert viewer.evaluate(f"{STATE}.selected") == viewer.evaluate(f"{STATE}.objects[0].id")
    assert viewer.evaluate(f"{STATE}.points.length") == 0
    viewer.keyboard.press("c")
    viewer.keyboard.press("Delete")
    assert len(records(viewer, first)["objects"]) == 1
    assert call(viewer, "GET", f"/api/images/{first}/")["data"]["status"] != "completed"
    screenshot(viewer, "editor-viewer")
    context.close()
    assert not errors, errors
    assert not console_errors, console_errors


def test_picking_only_picks_and_promotion_filters_first(page, live_app, console_errors):
    project = make_project(page, live_app, "picking", count=1)
    image = project["images"][0]
    open_editor(page, live_app["base"], project["id"], image)
    page.get_by_role("button", name="Run automask").click()
    page.locator("#automask-count", has_text=re.compile(r"^[1-9]\d* masks$")).wait_for(
        timeout=60_000
    )
    total = page.evaluate(f"{STATE}.automask.length")

    page.keyboard.press("a")
    x, y = screen_point(page, *LEFT[:2])
    page.mouse.click(x, y)
    page.wait_for_function(f"{STATE}.objects.length === 1")
    page.wait_for_timeout(300)
    assert page.evaluate(f"{STATE}.points.length") == 0
    assert page.evaluate(f"{STATE}.candidates") is None
    assert records(page, image)["predictions"] == []

    page.get_by_role("button", name="Promote…").click()
    count = page.locator("#promote-count")
    count.wait_for()
    shown = int(re.match(r"(\d+) of (\d+)", count.inner_text()).group(1))
    assert count.inner_text() == f"{shown} of {total} masks pass"
    # The background covers the whole border: the default filter leaves it out.
    page.get_by_label("Skip masks touching most of the border").uncheck()
    with_border = int(re.match(r"(\d+)", count.inner_text()).group(1))
    assert with_border >= shown
    page.get_by_label("Skip masks touching most of the border").check()
    page.get_by_label("Minimum area (% of the image)").fill("100")
    assert count.inner_text() == f"0 of {total} masks pass"
    assert page.get_by_role("button", name="Promote 0").is_disabled()
    page.get_by_label("Minimum area (% of the image)").fill("0.05")
    assert count.inner_text() == f"{shown} of {total} masks pass"
    screenshot(page, "editor-promote-filter")
    page.get_by_role("button", name=f"Promote {shown}").click()
    page.wait_for_function(f"{STATE}.objects.length === {1 + shown}")
    assert len(records(page, image)["objects"]) == 1 + shown
    assert not console_errors, console_errors


def test_objects_are_selected_hovered_and_coloured_on_the_canvas(page, live_app, console_errors):
    project = make_project(page, live_app, "objects", count=1)
    image = project["images"][0]
    open_editor(page, live_app["base"], project["id"], image)
    page.keyboard.press("b")
    keep_box_object(page, LEFT)
    keep_box_object(page, RIGHT)
    left_id, right_id = page.evaluate(f"{STATE}.objects.map(o => o.id)")
    colours = page.evaluate(f"{STATE}.objects.map(o => o.color)")
    assert colours[0] != colours[1]
    assert canvas_rgb(page, *LEFT[:2]) != canvas_rgb(page, *RIGHT[:2])

    # Ctrl+click in a prompt tool selects instead of adding a point.
    page.keyboard.press("p")
    x, y = screen_point(page, *RIGHT[:2])
    page.keyboard.down("Control")
    page.mouse.move(x, y)
    page.wait_for_function(f"{STATE}.hovered === {right_id}")
    page.mouse.click(x, y)
    page.keyboard.up("Control")
    assert page.evaluate(f"{STATE}.selected") == right_id
    assert page.evaluate(f"{STATE}.points.length") == 0
    assert page.locator(f"#objects li[data-id='{right_id}']").get_attribute("class") == "selected"

    # The Select tool: hover highlights, a click selects, Delete deletes.
    page.keyboard.press("v")
    x, y = screen_point(page, *LEFT[:2])
    page.mouse.move(x, y)
    page.wait_for_function(f"{STATE}.hovered === {left_id}")
    screenshot(page, "editor-hover")
    page.mouse.click(x, y)
    assert page.evaluate(f"{STATE}.selected") == left_id
    page.keyboard.press("Delete")
    page.wait_for_function(f"{STATE}.objects.length === 1")
    assert [o["id"] for o in records(page, image)["objects"]] == [right_id]

    # The eraser works on the object it starts on, without the side list.
    page.keyboard.press("Escape")
    page.keyboard.press("e")
    cx, cy, _ = RIGHT
    drag(page, screen_point(page, cx - 10, cy), screen_point(page, cx + 10, cy))
    page.wait_for_function(f"{STATE}.image.has_manual_edit")
    assert page.evaluate(f"{STATE}.selected") == right_id

    # A tool switch clears the prompt.
    page.keyboard.press("p")
    x, y = screen_point(page, 20, 20)
    page.mouse.click(x, y)
    page.wait_for_function(f"{STATE}.candidates !== null", timeout=30_000)
    page.keyboard.press("b")
    assert page.evaluate(f"{STATE}.points.length") == 0
    assert page.evaluate(f"{STATE}.candidates") is None
    assert page.locator("#candidates-panel").is_hidden()
    assert not console_errors, console_errors
