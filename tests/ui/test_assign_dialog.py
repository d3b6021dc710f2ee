"""An owner splits the pool between two annotators with the Assign dialog, after a preview of
who gets how many; the annotator is told live on her open page, "next" serves her own images,
and the owner takes them back. A rejected annotator is told live too, and the owner's
"Review (N)" follows the queue."""

import json

from tests.ui.conftest import screenshot
from tests.ui.helpers import add_member, call, create_user, make_project, person, server_json

LIVE = "document.querySelector('#connection').dataset.state === 'connected'"


def assignments(live_app, project: int) -> dict[int, str]:
    """Who each image of the project is assigned to, read from the server's database."""
    rows = server_json(
        live_app,
        "import json; from projects.models import ImageAssignment as A; "
        f"rows = A.objects.filter(image__project_id={project}).select_related('user'); "
        "print(json.dumps({r.image_id: r.user.username for r in rows}))",
    )
    return {int(k): v for k, v in rows.items()}


def open_project(page, base: str, project: int) -> None:
    page.goto(f"{base}/projects/{project}/")
    page.wait_for_function(LIVE)


def test_split_the_pool_evenly_then_take_back(page, browser, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "assign-split", count=6, model="")
    pid, images = project["id"], project["images"]
    for name in ("asta", "bram"):
        create_user(live_app, name, f"{name}-password-1")
        add_member(page, pid, name, "annotator")
    bram_context, bram, bram_errors = person(browser, live_app, "bram")
    open_project(bram, base, pid)
    assert bram.get_by_role("button", name="Assign…").count() == 0  # owners only

    open_project(page, base, pid)
    page.get_by_role("button", name="Assign…").click()
    dialog = page.get_by_role("dialog", name="Assign images")
    assert (
        dialog.get_by_role("checkbox", name="asta", exact=True).is_checked()
        and dialog.get_by_role("checkbox", name="bram", exact=True).is_checked()
    )
    preview = dialog.locator("#assign-preview")
    preview.get_by_text("Would assign 6 images:").wait_for()
    assert preview.locator("li").all_inner_texts() == ["asta: 3 images", "bram: 3 images"]
    assert assignments(live_app, pid) == {}  # the preview changed nothing
    screenshot(page, "assign-preview")
    dialog.get_by_role("button", name="Assign", exact=True).click()
    result = dialog.locator("#assign-result")
    result.get_by_text("Assigned: asta 3, bram 3.").wait_for()
    # Nothing is left to hand out: Assign waits for another choice.
    preview.get_by_text("No image matches: nothing to assign.").wait_for()
    assert dialog.get_by_role("button", name="Assign", exact=True).is_disabled()
    row = dialog.locator("#assign-summary tr[data-user='bram']")
    assert row.locator("td").all_inner_texts()[:4] == ["bram", "3", "0", "3"]
    screenshot(page, "assign-done")

    saved = assignments(live_app, pid)
    mine = {image for image, name in saved.items() if name == "bram"}
    assert sorted(saved) == images and len(mine) == 3
    assert {name for name in saved.values()} == {"asta", "bram"}

    # Her open page is told, with a link to the project.
    notice = bram.get_by_role("status", name="Notices").locator(".notice")
    notice.filter(has_text="3 images in assign-split were assigned to you").wait_for()
    link = notice.get_by_role("link", name="Open the project")
    assert link.get_attribute("href") == f"/projects/{pid}/"
    screenshot(bram, "assign-notice")

    # "Next unprocessed" serves her own images.
    bram.get_by_role("link", name="Annotate ▶").click()
    bram.wait_for_url("**/images/*/")
    bram.wait_for_function("window.annotatorEditor && window.annotatorEditor.state.picture")
    first = int(bram.url.rstrip("/").rsplit("/", 1)[1])
    assert first in mine
    bram.wait_for_function(LIVE)
    bram.get_by_role("button", name="Next unprocessed").click()
    bram.wait_for_url(lambda url: not url.endswith(f"/images/{first}/"))
    second = int(bram.url.rstrip("/").rsplit("/", 1)[1])
    assert second in mine and second != first
    bram.wait_for_function(LIVE)

    # The owner takes hers back; she is told in the editor.
    row.get_by_role("button", name="Take back bram's images").click()
    page.get_by_role("dialog", name="Take back bram's images?").get_by_role(
        "button", name="Take back"
    ).click()
    result.get_by_text("Took 3 images back from bram.").wait_for()
    assert row.locator("td").all_inner_texts()[:4] == ["bram", "0", "0", "0"]
    assert row.get_by_role("button", name="Take back bram's images").is_disabled()
    saved = assignments(live_app, pid)
    assert "bram" not in saved.values() and len(saved) == 3
    bram.locator(".notice", has_text="no longer assigned to you").wait_for()
    screenshot(bram, "assign-taken-back")

    bram_context.close()
    assert not bram_errors, bram_errors
    assert not console_errors, console_errors


def test_assign_errors_show_in_the_dialog(page, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "assign-errors", count=2, model="")
    open_project(page, base, project["id"])
    screenshot(page, "assign-button")
    page.get_by_role("button", name="Assign…").click()
    dialog = page.get_by_role("dialog", name="Assign images")
    dialog.get_by_text("No annotators yet").wait_for()
    assert dialog.get_by_role("button", name="Assign", exact=True).is_disabled()
    assert dialog.locator("#assign-preview").inner_text() == "Tick who should get the images."

    # A member who left meanwhile: the API's answer shows in the dialog.
    create_user(live_app, "cleo", "cleo-password-1")
    add_member(page, project["id"], "cleo", "annotator")
    dialog.get_by_role("button", name="Close").click()
    page.get_by_role("button", name="Assign…").click()
    dialog.get_by_role("checkbox", name="cleo", exact=True).check()
    dialog.get_by_text("Would assign 2 images:").wait_for()
    # All to one: the choice becomes one person, the one ticked before.
    dialog.get_by_label("Assign all to one person").check()
    assert dialog.get_by_role("radio", name="cleo", exact=True).is_checked()
    dialog.get_by_role("radio", name="admin (owner)").check()
    items = dialog.locator("#assign-preview li")
    items.get_by_text("admin: 2 images").wait_for()
    dialog.get_by_role("radio", name="cleo", exact=True).check()
    items.get_by_text("cleo: 2 images").wait_for()
    assert items.count() == 1
    members = call(page, "GET", f"/api/projects/{project['id']}/members/")["data"]
    cleo = next(m for m in members if m["username"] == "cleo")
    gone = call(page, "DELETE", f"/api/projects/{project['id']}/members/{cleo['user_id']}/")
    assert gone["status"] == 204
    dialog.get_by_role("button", name="Assign", exact=True).click()
    message = dialog.get_by_role("alert")
    message.get_by_text("'cleo' is not an annotator or owner of this project.").wait_for()
    assert assignments(live_app, project["id"]) == {}
    assert not [e for e in console_errors if "400 (Bad Request)" not in e], console_errors


def test_a_rejected_annotator_is_told_on_her_open_page(page, browser, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "assign-reject", count=2, model="")
    pid, (image, _) = project["id"], project["images"]
    assert call(page, "PATCH", f"/api/projects/{pid}/", {"review_required": True})["status"] == 200
    create_user(live_app, "dora", "dora-password-1")
    add_member(page, pid, "dora", "annotator")
    dora_context, dora, dora_errors = person(browser, live_app, "dora")
    submitted = call(dora, "POST", f"/api/images/{image}/complete/", {"completed": True})
    assert submitted["status"] == 200, submitted
    open_project(dora, base, pid)
    assert dora.locator("#review-link").count() == 0  # owners and reviewers only

    open_project(page, base, pid)
    review = page.get_by_role("link", name="Review (1)")
    review.wait_for()
    assert review.get_attribute("href") == f"/projects/{pid}/review/"

    # The rejection goes through projects.review.services.image_reject, as the editor's does.
    rejected = call(
        page, "POST", f"/api/images/{image}/reject/", {"comment": "The left disc is missed."}
    )
    assert rejected["status"] == 200, rejected
    notice = dora.locator(".notice-rejected")
    notice.filter(has_text="admin rejected").filter(has_text="The left disc is missed.").wait_for()
    link = notice.get_by_role("link", name="Open the image")
    assert link.get_attribute("href") == f"/projects/{pid}/images/{image}/"
    page.get_by_role("link", name="Review (0)").wait_for()
    screenshot(dora, "assign-rejected-notice")

    # Dismissed, it is gone; at most three stay.
    notice.get_by_role("button", name="Dismiss notice").click()
    assert dora.locator(".notice").count() == 0
    url = f"/api/projects/{pid}/assignments/"
    for _ in range(2):
        assert call(page, "DELETE", url, {"user": "dora"})["status"] == 200
        assert call(page, "POST", url, {"user": "dora", "image_ids": [image]})["status"] == 200
    given = "1 image in assign-reject was assigned to you"
    gone = "1 image in assign-reject is no longer assigned to you"
    shown = "[...document.querySelectorAll('.notice .notice-text')].map(e => e.textContent)"
    dora.wait_for_function(f"{shown}.join('|') === {json.dumps('|'.join([given, gone, given]))}")
    assert dora.locator(".notice").count() == 3

    dora_context.close()
    assert not dora_errors, dora_errors
    assert not console_errors, console_errors


def test_the_owner_assigns_images_picked_on_the_pools_tiles(page, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "assign-picked", count=5, model="")
    pid, images = project["id"], project["images"]
    for name in ("cora", "dirk"):
        create_user(live_app, name, f"{name}-password-1")
        add_member(page, pid, name, "annotator")
    open_project(page, base, pid)
    page.get_by_role("button", name="Assign…").click()
    dialog = page.get_by_role("dialog", name="Assign images")
    assert dialog.get_by_label("The selected images").is_disabled()  # nothing picked yet
    dialog.get_by_role("button", name="Close").click()

    picked = [images[0], images[3], images[4]]
    for image in picked:
        page.locator(f".tile[data-image='{image}'] .tile-check").check()
    page.locator("#pool-selection", has_text="3 images selected").wait_for()
    assert page.locator(".tile.selected").count() == 3
    # The selection outlives a refresh of the grid.
    page.evaluate("htmx.trigger(document.body, 'pool-changed')")
    page.wait_for_function("document.querySelectorAll('.tile .tile-check:checked').length === 3")

    page.get_by_role("button", name="Assign…").click()
    dialog.get_by_label("The selected images").check()
    assert dialog.get_by_label("Only images no one is assigned yet").is_disabled()
    preview = dialog.locator("#assign-preview")
    preview.get_by_text("Would assign 3 images:").wait_for()
    assert preview.locator("li").all_inner_texts() == ["cora: 2 images", "dirk: 1 image"]
    screenshot(page, "assign-selected")
    dialog.get_by_role("button", name="Assign", exact=True).click()
    dialog.locator("#assign-result").get_by_text("Assigned: cora 2, dirk 1.").wait_for()
    saved = assignments(live_app, pid)
    assert sorted(saved) == sorted(picked)
    assert sorted(saved.values()) == ["cora", "cora", "dirk"]
    dialog.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Clear selection").click()
    assert page.locator(".tile .tile-check:checked").count() == 0
    assert page.locator("#pool-selection").is_hidden()
    assert not console_errors, console_errors
