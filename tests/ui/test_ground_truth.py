"""An owner makes a completed image ground truth from the editor's Image menu, served again as
a honeypot; an annotator annotates it as ordinary work, sees nothing of it, and the owner's
dashboard scores them against the reference. The image's activity reads in the same menu."""

from tests.ui.conftest import screenshot
from tests.ui.helpers import (
    add_member,
    create_user,
    drag,
    make_project,
    open_editor,
    person,
    screen_point,
)

STATE = "window.annotatorEditor.state"


def paint(page, x0: int, x1: int) -> None:
    count = page.evaluate(f"{STATE}.objects.length")
    page.keyboard.press("r")
    drag(page, screen_point(page, x0, 120), screen_point(page, x1, 120))
    page.wait_for_function(f"{STATE}.objects.length === {count + 1}")


def test_a_honeypot_made_in_the_editor_scores_the_annotator(
    page, browser, live_app, console_errors
):
    base = live_app["base"]
    project = make_project(page, live_app, "cells-qa", count=2, model="")
    pid, (image, _) = project["id"], project["images"]
    create_user(live_app, "hana", "hana-password-1")
    add_member(page, pid, "hana", "annotator")

    # The owner annotates and completes the image, then makes it ground truth, a honeypot.
    open_editor(page, base, pid, image)
    paint(page, 60, 110)
    page.get_by_role("button", name="Image ▾").click()
    state = page.locator("#ground-truth-state")
    state.filter(has_text="no").wait_for()
    page.get_by_role("button", name="Make ground truth").click()
    page.locator("#toast.error", has_text="not completed yet").wait_for()
    page.get_by_role("button", name="Mark completed").click()
    page.wait_for_function(f"{STATE}.image.completed === true")
    page.get_by_role("button", name="Image ▾").click()
    page.get_by_label("Serve it again to annotators as ordinary work").check()
    page.get_by_role("button", name="Make ground truth").click()
    state.filter(has_text="yes, served as a honeypot; 1 reference object(s)").wait_for()
    assert page.get_by_role("button", name="Remove from ground truth").is_visible()
    # A honeypot starts again from nothing: the owner's open editor follows.
    page.wait_for_function(f"{STATE}.objects.length === 0 && !{STATE}.image.completed")
    page.get_by_role("button", name="Activity").click()
    activity = page.locator("#image-activity li")
    activity.first.wait_for()
    actions = activity.all_inner_texts()
    assert any("ground_truth.set" in a for a in actions), actions
    assert any("object.created" in a for a in actions), actions
    screenshot(page, "ground-truth-menu")

    # The annotator gets it as ordinary work: nothing in the page says otherwise.
    context, hana, errors = person(browser, live_app, "hana")
    open_editor(hana, base, pid, image)
    assert hana.locator("#ground-truth-section").count() == 0
    assert "honeypot" not in hana.content().lower() and "ground truth" not in hana.content().lower()
    paint(hana, 60, 100)
    hana.get_by_role("button", name="Image ▾").click()
    hana.get_by_role("button", name="Activity").click()
    mine = hana.locator("#image-activity li")
    mine.first.wait_for()
    assert all("hana" in a and "ground_truth" not in a for a in mine.all_inner_texts())
    hana.get_by_role("button", name="Mark completed").click()
    hana.wait_for_function(f"{STATE}.image.completed === true")

    # The owner's dashboard: her score against the reference.
    page.goto(f"{base}/projects/{pid}/dashboard/")
    row = page.locator('#annotator-table tr[data-user="hana"]')
    row.wait_for()
    assert row.locator('[data-field="scored_images"]').inner_text().strip() == "1"
    iou = float(row.locator('[data-field="mean_iou"]').inner_text().strip())
    assert 0.5 < iou < 1.0  # a shorter stroke than the reference's
    assert row.locator('[data-field="missed"]').inner_text().strip() == "0"
    assert row.locator('[data-field="extra"]').inner_text().strip() == "0"
    screenshot(page, "ground-truth-dashboard")
    context.close()
    assert not errors, errors
    # The one refusal the test asked for (an image not completed yet), logged by the browser.
    assert console_errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ], console_errors
