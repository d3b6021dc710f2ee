"""An owner opens the project dashboard after two annotators worked: their rows, a line per
annotator in the plot, the recent activity and the activity CSV."""

import csv
import io

import numpy as np

from projects.encoding import mask_to_rle
from tests.ui.conftest import screenshot
from tests.ui.helpers import HEIGHT, WIDTH, add_member, call, create_user, make_project, sign_in


def _box(x0: int, y0: int, x1: int, y1: int) -> dict:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask_to_rle(mask)


def _annotate(browser, base: str, username: str, image: int, boxes: list[tuple]) -> list[str]:
    """Sign in as `username` in a browser of their own, open the image, draw the boxes and
    complete it, through the API the editor calls; the console errors of their page."""
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, base, username, f"{username}-password-1")
    opened = call(page, "POST", f"/api/images/{image}/open/")
    assert opened["status"] == 200, opened
    version = opened["data"]["image"]["version"]
    for box in boxes:
        made = call(
            page, "POST", f"/api/images/{image}/objects/", {"version": version, "mask": _box(*box)}
        )
        assert made["status"] == 201, made
        version = made["data"]["image"]["version"]
    done = call(page, "POST", f"/api/images/{image}/complete/", {"completed": True})
    assert done["status"] == 200 and done["data"]["completed"], done
    context.close()
    return errors


def _cells(page, username: str) -> dict[str, str]:
    row = page.locator(f'#annotator-table tr[data-user="{username}"]')
    return {
        field: row.locator(f'[data-field="{field}"]').inner_text().strip()
        for field in ("images_completed", "objects_made", "time")
    }


def test_the_owner_sees_each_annotators_work_plot_and_csv(page, browser, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "dashboard-team", count=3, model="")
    pid, (first, second, _) = project["id"], project["images"]
    for name in ("ada", "ben"):
        create_user(live_app, name, f"{name}-password-1")
        add_member(page, pid, name, "annotator")
    errors = _annotate(browser, base, "ada", first, [(10, 10, 60, 60), (200, 100, 260, 160)])
    errors += _annotate(browser, base, "ben", second, [(40, 40, 120, 120)])
    assert not errors, errors

    page.goto(f"{base}/projects/{pid}/")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"**/projects/{pid}/dashboard/")
    ada, ben = _cells(page, "ada"), _cells(page, "ben")
    assert (ada["images_completed"], ada["objects_made"]) == ("1", "2")
    assert (ben["images_completed"], ben["objects_made"]) == ("1", "1")
    # seconds of work at most: a few requests in a row
    assert ada["time"] in ("under a minute", "1 min") and ben["time"] in ("under a minute", "1 min")
    assert page.locator("#annotator-table tbody tr").count() == 2

    series = page.locator("#plot svg path.series")
    assert series.count() == 2
    assert {series.nth(i).get_attribute("data-user") for i in range(2)} == {"ada", "ben"}
    assert page.locator("#plot .legend li").all_inner_texts() == ["ada", "ben"]
    assert page.locator("#plot svg .axis text").count() >= 3
    page.locator("#plot-measure").select_option("objects_made")
    assert page.locator("#plot svg path.series").count() == 2

    recent = page.locator("#recent-activity li")
    recent.filter(has_text="ada completed").first.wait_for()
    assert recent.filter(has_text="ben created an object").count() == 1
    screenshot(page, "project-dashboard")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download activity CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(text)))
    made = [(r["user"], r["action"], r["image_id"]) for r in rows if r["user"] in ("ada", "ben")]
    assert made == [
        ("ada", "image.opened", str(first)),
        ("ada", "object.created", str(first)),
        ("ada", "object.created", str(first)),
        ("ada", "image.completed", str(first)),
        ("ben", "image.opened", str(second)),
        ("ben", "object.created", str(second)),
        ("ben", "image.completed", str(second)),
    ]
    assert not console_errors, console_errors
