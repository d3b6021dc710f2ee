"""The review stage in the editor: an annotator submits, a reviewer rejects with a comment and
an issue pinned to a point, the annotator sees it live, resolves it and submits again, the
reviewer accepts and the pool shows the image green. A viewer gets no review bar, and a project
with one member and no review stage shows none of it."""

from tests.ui import helpers
from tests.ui.conftest import screenshot
from tests.ui.helpers import (
    add_member,
    call,
    canvas_rgb,
    create_user,
    drag,
    make_project,
    open_editor,
    screen_point,
    server_json,
)

STATE = "window.annotatorEditor.state"
PIN = (160, 30)  # grey background, away from both discs
PIN_RED = (224, 36, 94)  # an open issue
PIN_DRAFT = (255, 133, 27)  # an issue of the rejection being written
CONFLICT = "status of 409 (Conflict)"


def saved(live_app, image_id: int) -> dict:
    """The image's review state and its Review rows, read from the server's database."""
    return server_json(
        live_app,
        "import json; from projects.models import Image, Review; "
        f"i = Image.objects.get(pk={image_id}); "
        "rows = [[r.decision, r.reviewer.username, r.annotator.username, r.comment] "
        "for r in Review.objects.filter(image=i).order_by('id')]; "
        "print(json.dumps({'review_state': i.review_state, 'completed': i.completed, "
        "'status': i.status, 'reviews': rows}))",
    )


def person(browser, live_app, name: str):
    return helpers.person(browser, live_app, name, viewport=(1440, 900))


def pin_drawn(page, x: float, y: float, colour=PIN_RED) -> bool:
    """The pin's fill beside its number, six screen pixels left of its centre."""
    scale = page.evaluate(f"{STATE}.view.scale")
    rgb = canvas_rgb(page, x - 6 / scale, y)
    return all(abs(a - b) <= 30 for a, b in zip(rgb, colour, strict=True))


def test_reject_resolve_resubmit_accept(page, browser, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "review-flow", count=1, model="")
    pid, (image,) = project["id"], project["images"]
    assert call(page, "PATCH", f"/api/projects/{pid}/", {"review_required": True})["status"] == 200
    for name, role in (("ana", "annotator"), ("rita", "reviewer"), ("vic", "viewer")):
        create_user(live_app, name, f"{name}-password-1")
        add_member(page, pid, name, role)

    # The annotator draws an object and submits it.
    ana_context, ana, ana_errors = person(browser, live_app, "ana")
    open_editor(ana, base, pid, image)
    assert ana.locator("#review-bar").count() == 0
    ana.keyboard.press("r")
    drag(ana, screen_point(ana, 60, 120), screen_point(ana, 100, 120))
    ana.wait_for_function(f"{STATE}.objects.length === 1")
    ana.get_by_role("button", name="✓ Submit for review").click()
    ana.locator("#toast", has_text="Submitted for review").wait_for()
    marker = ana.locator("#review-marker")
    assert marker.is_visible() and marker.inner_text() == "submitted"
    assert saved(live_app, image)["review_state"] == "submitted"

    # The reviewer opens the Review page, rejects with a comment and an issue at a point.
    rita_context, rita, rita_errors = person(browser, live_app, "rita")
    rita.goto(f"{base}/projects/{pid}/review/")
    rita.wait_for_url(f"**/images/{image}/?review=1")
    rita.wait_for_function(f"{STATE}.picture && {STATE}.image.review_state === 'submitted'")
    bar = rita.locator("#review-bar")
    bar.wait_for()
    assert rita.get_by_role("button", name="✎ Brush").count() == 0  # a reviewer draws nothing
    assert rita.locator(".navbar .badge", has_text="Reviewer").is_visible()
    rita.get_by_role("button", name="Reject…").click()
    dialog = rita.locator("#reject-dialog")
    dialog.get_by_role("button", name="Send").click()
    dialog.locator("#reject-error", has_text="Write a comment").wait_for()
    dialog.get_by_label("What is wrong, what to change").fill("The disc's right edge is missing.")
    dialog.get_by_role("button", name="Add issue").click()
    rita.mouse.click(*screen_point(rita, *PIN))
    dialog.get_by_label("Issue 1", exact=True).fill("Paint up to the edge here.")
    assert pin_drawn(rita, *PIN, PIN_DRAFT)
    dialog.get_by_role("button", name="Add issue").click()
    rita.locator("#objects li").first.click()  # picks the object; selects nothing
    dialog.get_by_label("Issue 2", exact=True).fill("Label it as the red disc.")
    assert rita.evaluate(f"{STATE}.selected") is None
    assert "object #" in dialog.locator("#reject-issues li").nth(1).inner_text()
    screenshot(rita, "review-reject-dialog")
    dialog.get_by_role("button", name="Send").click()
    bar.locator("#review-empty", has_text="The review queue is empty").wait_for()
    assert bar.get_by_role("link", name="Back to the project").is_visible()
    rita.wait_for_function(f"{STATE}.comments.length === 3")
    assert pin_drawn(rita, *PIN)

    # The annotator's open editor shows it at once: the comment, the issue, its pin.
    panel = ana.locator("#comments-panel")
    panel.locator(".thread", has_text="The disc's right edge is missing.").wait_for()
    issue = panel.locator(".thread.issue", has_text="Paint up to the edge here.")
    assert issue.is_visible() and "rita" in issue.inner_text() and "open" in issue.inner_text()
    ana.wait_for_function("document.querySelector('#review-marker').textContent === 'rejected'")
    assert pin_drawn(ana, *PIN)
    on_object = panel.locator(".thread.issue", has_text="Label it as the red disc.")
    assert "on object #" in on_object.inner_text()
    on_object.locator(".thread-body").click()  # selects the object the issue is about
    ana.wait_for_function(f"{STATE}.selected === {STATE}.objects[0].id")
    screenshot(ana, "review-annotator-rejected")

    # Submitting is refused while the issue is open; the toast says why.
    ana.get_by_role("button", name="✓ Submit for review").click()
    ana.locator("#toast.error", has_text="2 open issues").wait_for()
    assert "resolve them first" in ana.locator("#toast").inner_text()
    issue.get_by_role("button", name="Resolve").click()
    panel.locator(".thread.issue.resolved", has_text="resolved by ana").wait_for()
    on_object.get_by_role("button", name="Resolve").click()
    panel.locator(".thread.issue.resolved").nth(1).wait_for()
    ana.get_by_role("button", name="✓ Submit for review").click()
    ana.locator("#toast:not(.error)", has_text="Submitted for review").wait_for()
    ana.wait_for_function("document.querySelector('#review-marker').textContent === 'submitted'")

    # The reviewer's page follows: Accept is offered again; a second tab of hers too.
    rita.get_by_role("button", name="✓ Accept").wait_for()
    second = rita_context.new_page()
    second.on("console", lambda m: m.type == "error" and rita_errors.append(m.text))
    open_editor(second, base, pid, image)
    second.get_by_role("button", name="✓ Accept").wait_for()
    rita.get_by_role("button", name="✓ Accept").click()
    bar.locator("#review-empty").wait_for()
    rita.wait_for_function(f"{STATE}.image.status === 'completed'")
    assert rita.locator("#status").inner_text() == "Completed"
    second.wait_for_function("document.querySelector('#review-accept').hidden")
    again = call(rita, "POST", f"/api/images/{image}/accept/", {})
    assert again["status"] == 409
    assert again["data"]["error"]["message"] == (
        "This image was already accepted: accepting twice changes nothing."
    )
    screenshot(rita, "review-accepted")

    record = saved(live_app, image)
    assert record["review_state"] == "accepted" and record["completed"]
    assert record["status"] == "completed"
    assert record["reviews"] == [
        ["rejected", "rita", "ana", "The disc's right edge is missing."],
        ["accepted", "rita", "ana", ""],
    ]

    # The pool shows it green, without a marker.
    page.goto(f"{base}/projects/{pid}/")
    tile = page.locator(f".tile[data-image='{image}']")
    tile.wait_for()
    assert "status-completed" in tile.get_attribute("class")
    assert tile.get_attribute("data-review") == "accepted"
    screenshot(page, "review-pool-accepted")

    # A viewer sees the comments, no review bar, nothing to write with.
    vic_context, vic, vic_errors = person(browser, live_app, "vic")
    open_editor(vic, base, pid, image)
    assert vic.locator("#review-bar").count() == 0
    assert vic.locator("#comment-form").count() == 0
    vic.wait_for_function(f"{STATE}.comments.length === 3")
    vic.locator("#comments-panel summary").click()
    vic.locator("#comments .thread").nth(2).wait_for()
    assert vic.locator("#comments .thread").count() == 3
    assert vic.locator("#comments .resolve").count() == 0

    ana_refused = [e for e in ana_errors if CONFLICT in e]
    rita_refused = [e for e in rita_errors if CONFLICT in e]
    assert len(ana_refused) == 1 and len(rita_refused) == 1
    assert [e for e in ana_errors + rita_errors if CONFLICT not in e] == []
    assert vic_errors == [] and console_errors == []
    for context in (ana_context, rita_context, vic_context):
        context.close()


def test_one_member_without_review_sees_none_of_it(page, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "review-off", count=2, model="")
    open_editor(page, base, project["id"], project["images"][0])
    assert page.get_by_role("button", name="✓ Complete & next").is_visible()
    assert page.get_by_role("button", name="Submit for review").count() == 0
    assert page.locator("#review-bar").count() == 0
    assert page.locator("#review-marker").is_hidden()
    panel = page.locator("#comments-panel")
    assert panel.get_attribute("open") is None
    assert panel.locator("#comments").is_hidden()
    page.get_by_role("button", name="✓ Complete & next").click()
    page.wait_for_function(f"{STATE}.image.id === {project['images'][1]}")
    assert page.locator("#review-marker").is_hidden()
    assert not console_errors, console_errors
