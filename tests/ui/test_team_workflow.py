"""A team at work, each person in a browser of their own: the owner shares a pool out between
two annotators, who each annotate and submit their own images; the reviewer rejects one with
an issue pinned to a point and accepts the other; the annotator is told, fixes it, resolves the
issue and submits again; the reviewer accepts; the pool is green and the owner's dashboard
shows who did what and how often their work came back."""

from tests.ui.conftest import screenshot
from tests.ui.helpers import (
    add_member,
    call,
    create_user,
    drag,
    make_project,
    person,
    screen_point,
    server_json,
)
from tests.ui.test_assign_dialog import LIVE, assignments
from tests.ui.test_review import PIN, pin_drawn, saved

STATE = "window.annotatorEditor.state"
EDITOR_READY = f"window.annotatorEditor && {STATE}.picture"


def objects_made_on(live_app, image_id: int, username: str) -> int:
    """How many objects of the image the person made, read from the server's database."""
    return server_json(
        live_app,
        "from projects.models import MaskObject; "
        f"print(MaskObject.objects.filter(image_id={image_id}, "
        f"created_by__username={username!r}).count())",
    )


def image_in_url(page) -> int:
    return int(page.url.split("?")[0].rstrip("/").rsplit("/", 1)[1])


def editor_ready(page) -> None:
    page.wait_for_function(EDITOR_READY)
    page.wait_for_function(LIVE)


def paint_and_submit(page, x: int) -> int:
    """Paint a stroke on the open image and submit it; the id of the image submitted."""
    image = image_in_url(page)
    count = page.evaluate(f"{STATE}.objects.length")
    page.keyboard.press("r")
    drag(page, screen_point(page, x, 120), screen_point(page, x + 40, 120))
    page.wait_for_function(f"{STATE}.objects.length === {count + 1}")
    page.get_by_role("button", name="✓ Submit for review").click()
    # Submitted, the editor moves on to the next image of the person's share.
    page.wait_for_function(f"{STATE}.image && {STATE}.image.id !== {image}", timeout=30_000)
    return image


def test_two_annotators_and_a_reviewer_share_review_and_measure_a_pool(
    page, browser, live_app, console_errors
):
    base = live_app["base"]
    project = make_project(page, live_app, "team-flow", count=4, model="")
    pid, images = project["id"], project["images"]
    assert call(page, "PATCH", f"/api/projects/{pid}/", {"review_required": True})["status"] == 200
    for name, role in (("ada", "annotator"), ("ben", "annotator"), ("rhea", "reviewer")):
        create_user(live_app, name, f"{name}-password-1")
        add_member(page, pid, name, role)
    people = {name: person(browser, live_app, name) for name in ("ada", "ben", "rhea")}
    (_, ada, _), (_, ben, _), (_, rhea, _) = (people[n] for n in ("ada", "ben", "rhea"))
    for annotator in (ada, ben):
        annotator.goto(f"{base}/projects/{pid}/")
        annotator.wait_for_function(LIVE)

    # The owner splits the pool evenly; each annotator is told on their open page.
    page.goto(f"{base}/projects/{pid}/")
    page.wait_for_function(LIVE)
    page.get_by_role("button", name="Assign…").click()
    dialog = page.get_by_role("dialog", name="Assign images")
    preview = dialog.locator("#assign-preview")
    preview.get_by_text("Would assign 4 images:").wait_for()
    assert preview.locator("li").all_inner_texts() == ["ada: 2 images", "ben: 2 images"]
    dialog.get_by_role("button", name="Assign", exact=True).click()
    dialog.locator("#assign-result").get_by_text("Assigned: ada 2, ben 2.").wait_for()
    shares = assignments(live_app, pid)
    mine = {name: {i for i, who in shares.items() if who == name} for name in ("ada", "ben")}
    assert sorted(shares) == images and len(mine["ada"]) == len(mine["ben"]) == 2
    for annotator in (ada, ben):
        annotator.locator(
            ".notice", has_text="2 images in team-flow were assigned to you"
        ).wait_for()

    # Each annotates the first image of their own share and submits it; "next" then serves
    # the second of their share, never the other's.
    opened = {}
    for name, annotator, x in (("ada", ada, 60), ("ben", ben, 70)):
        annotator.get_by_role("link", name="Annotate ▶").click()
        annotator.wait_for_url("**/images/*/")
        editor_ready(annotator)
        opened[name] = paint_and_submit(annotator, x)
        assert opened[name] in mine[name], (name, opened[name], mine)
        following = image_in_url(annotator)
        assert following in mine[name] and following != opened[name]
        editor_ready(annotator)
    assert saved(live_app, opened["ada"])["review_state"] == "submitted"
    assert saved(live_app, opened["ben"])["review_state"] == "submitted"

    # The reviewer takes the queue, oldest first: Ada's image, rejected with an issue at a
    # point; then Ben's, accepted.
    rhea.goto(f"{base}/projects/{pid}/review/")
    rhea.wait_for_url(f"**/images/{opened['ada']}/?review=1")
    rhea.wait_for_function(f"{EDITOR_READY} && {STATE}.image.review_state === 'submitted'")
    rhea.locator("#review-bar").wait_for()
    rhea.get_by_role("button", name="Reject…").click()
    reject = rhea.locator("#reject-dialog")
    reject.get_by_label("What is wrong, what to change").fill("The stroke stops short.")
    reject.get_by_role("button", name="Add issue").click()
    rhea.mouse.click(*screen_point(rhea, *PIN))
    reject.get_by_label("Issue 1", exact=True).fill("Carry it on to here.")
    reject.get_by_role("button", name="Send").click()
    rhea.wait_for_function(f"{STATE}.image && {STATE}.image.id === {opened['ben']}")
    rhea.wait_for_function(f"{EDITOR_READY} && {STATE}.image.review_state === 'submitted'")
    rhea.get_by_role("button", name="✓ Accept").click()
    rhea.locator("#review-empty", has_text="The review queue is empty").wait_for()

    # Ada is told where she is; the link opens the image with the issue and its pin.
    notice = ada.locator(".notice-rejected")
    notice.filter(has_text="The stroke stops short.").wait_for()
    screenshot(ada, "team-rejected-notice")
    notice.get_by_role("link", name="Open the image").click()
    ada.wait_for_url(f"**/images/{opened['ada']}/*")
    editor_ready(ada)
    panel = ada.locator("#comments-panel")
    issue = panel.locator(".thread.issue", has_text="Carry it on to here.")
    issue.wait_for()
    assert pin_drawn(ada, *PIN)
    ada.wait_for_function("document.querySelector('#review-marker').textContent === 'rejected'")
    # She carries the stroke on, resolves the issue and submits again.
    ada.keyboard.press("r")
    drag(ada, screen_point(ada, 100, 120), screen_point(ada, 150, 120))
    issue.get_by_role("button", name="Resolve").click()
    panel.locator(".thread.issue.resolved", has_text="resolved by ada").wait_for()
    ada.get_by_role("button", name="✓ Submit for review").click()
    ada.wait_for_function(f"{STATE}.image && {STATE}.image.id !== {opened['ada']}")

    # The reviewer accepts the fixed image.
    rhea.goto(f"{base}/projects/{pid}/review/")
    rhea.wait_for_url(f"**/images/{opened['ada']}/?review=1")
    rhea.wait_for_function(f"{EDITOR_READY} && {STATE}.image.review_state === 'submitted'")
    rhea.get_by_role("button", name="✓ Accept").click()
    rhea.locator("#review-empty").wait_for()

    record = saved(live_app, opened["ada"])
    assert record["review_state"] == "accepted" and record["status"] == "completed"
    assert [r[0] for r in record["reviews"]] == ["rejected", "accepted"]
    assert [r[0] for r in saved(live_app, opened["ben"])["reviews"]] == ["accepted"]

    # The pool: both accepted images green; the dashboard: who did what, how often it came back.
    page.goto(f"{base}/projects/{pid}/")
    for image in opened.values():
        tile = page.locator(f".tile[data-image='{image}']")
        tile.wait_for()
        assert "status-completed" in tile.get_attribute("class")
        assert tile.get_attribute("data-review") == "accepted"
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"**/projects/{pid}/dashboard/")

    def cells(name: str) -> dict[str, str]:
        row = page.locator(f'#annotator-table tr[data-user="{name}"]')
        return {
            field: row.locator(f'[data-field="{field}"]').inner_text().strip()
            for field in ("images_completed", "objects_made", "submissions", "rejection_rate")
        }

    made = objects_made_on(live_app, opened["ada"], "ada")
    assert made >= 1
    assert cells("ada") == {
        "images_completed": "1",
        "objects_made": str(made),
        "submissions": "2",
        "rejection_rate": "50%",
    }
    assert cells("ben") == {
        "images_completed": "1",
        "objects_made": "1",
        "submissions": "1",
        "rejection_rate": "0%",
    }
    assert page.locator("#plot svg path.series").count() >= 2
    screenshot(page, "team-dashboard")

    for name, (context, _, errors) in people.items():
        context.close()
        assert not errors, (name, errors)
    assert not console_errors, console_errors
