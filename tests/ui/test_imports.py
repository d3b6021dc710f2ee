"""Importing another tool's annotations from the project page, as an annotator does it: the
report says what came in and what did not, and the editor shows the objects."""

import json

from tests.ui.conftest import screenshot
from tests.ui.helpers import call, make_project, open_editor

STATE = "window.annotatorEditor.state"


def coco_file(path, width=320, height=240):
    square = [40, 80, 120, 80, 120, 160, 40, 160]
    coco = {
        "images": [
            {"id": 1, "file_name": "pair_0.png", "width": width, "height": height},
            {"id": 2, "file_name": "nowhere.png", "width": width, "height": height},
        ],
        "categories": [{"id": 1, "name": "disc"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "segmentation": [square], "iscrowd": 0},
            {"id": 11, "image_id": 2, "category_id": 1, "segmentation": [square], "iscrowd": 0},
            {
                "id": 12,
                "image_id": 1,
                "category_id": 1,
                "segmentation": {"size": [height, width], "counts": "not-an-rle-%%%"},
                "iscrowd": 1,
            },
        ],
    }
    path.write_text(json.dumps(coco))
    return path


def test_a_coco_file_becomes_objects_with_a_report(page, live_app, tmp_path, console_errors):
    project = make_project(page, live_app, "importing", count=2, model=None)
    page.goto(f"{live_app['base']}/projects/{project['id']}/")
    page.locator("#connection[data-state=connected]").wait_for()
    page.get_by_role("button", name="Import…").click()
    page.get_by_label("Annotations file").set_input_files(str(coco_file(tmp_path / "coco.json")))
    page.locator("#import-format").select_option("coco")
    page.get_by_label("Create the labels this project lacks").check()
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator("#import-report")
    report.wait_for(timeout=30_000)
    text = report.inner_text()
    assert "1 objects on 1 image(s)" in text, text
    assert "Labels created: disc" in text
    assert "Images not matched (1)" in text and "nowhere.png" in text
    assert "Annotations refused (1)" in text
    screenshot(page, "project-import-report")

    first = project["images"][0]
    saved = call(page, "GET", f"/api/images/{first}/records/")["data"]["objects"]
    assert len(saved) == 1
    open_editor(page, live_app["base"], project["id"], first)
    page.wait_for_function(f"{STATE}.objects.length === 1")
    assert (
        page.locator("#objects .label").first.evaluate("s => s.selectedOptions[0].text") == "disc"
    )
    # One undo takes the import of this image back.
    page.keyboard.press("Control+z")
    page.wait_for_function(f"{STATE}.objects.length === 0")
    assert not console_errors, console_errors


def test_a_bad_file_is_refused_with_a_reason(page, live_app, tmp_path, console_errors):
    project = make_project(page, live_app, "import-refused", count=1, model=None)
    page.goto(f"{live_app['base']}/projects/{project['id']}/")
    page.locator("#connection[data-state=connected]").wait_for()
    page.get_by_role("button", name="Import…").click()
    bad = tmp_path / "broken.json"
    bad.write_text("{ this is not json")
    page.get_by_label("Annotations file").set_input_files(str(bad))
    page.get_by_role("button", name="Import", exact=True).click()
    message = page.locator("#import-message.bad, #import-message.error")
    message.wait_for(timeout=30_000)
    assert message.inner_text().strip()
    assert (
        call(page, "GET", f"/api/images/{project['images'][0]}/records/")["data"]["objects"] == []
    )
    # The browser notes the refused upload (400) itself; nothing else went wrong.
    assert all("400 (Bad Request)" in e for e in console_errors), console_errors
