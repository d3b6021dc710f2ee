"""Exporting YOLO-seg labels from the project page, as a person picks the format: the
dialog offers the polygon convention, greys out the mask form, and the zip holds the labels."""

import io
import zipfile

from tests.ui.conftest import screenshot
from tests.ui.helpers import call, make_project


def test_a_yolo_seg_export_from_the_dialog(page, live_app, console_errors):
    project = make_project(page, live_app, "yolo-export", count=1, model=None)
    image = project["images"][0]
    version = call(page, "POST", f"/api/images/{image}/open/")["data"]["image"]["version"]
    square = [[40, 80], [120, 80], [120, 160], [40, 160]]
    made = call(
        page, "POST", f"/api/images/{image}/objects/", {"version": version, "points": square}
    )
    assert made["status"] == 201, made

    page.goto(f"{live_app['base']}/projects/{project['id']}/")
    page.locator("#connection[data-state=connected]").wait_for()
    page.get_by_role("button", name="Export…").click()
    assert page.locator("#export-convention-row").is_hidden()
    page.get_by_label("Format", exact=True).select_option("yolo_seg")
    assert page.get_by_label("Mask form").is_disabled()
    assert page.locator("#export-convention-row").is_visible()
    page.get_by_label("Polygon vertices").select_option("centres")
    page.get_by_role("button", name="Export", exact=True).click()
    link = page.get_by_role("link", name="Download")
    link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    names = archive.namelist()
    assert "data.yaml" in names and "labels/pair_0.txt" in names, names
    lines = archive.read("labels/pair_0.txt").decode().splitlines()
    assert len(lines) == 1
    index, *coords = lines[0].split()
    # An object without a label is class "unlabeled", listed last in data.yaml.
    data = archive.read("data.yaml").decode()
    assert f"{index}: unlabeled" in data, data
    # On pixel centres, the square's corners are its corner pixels' centres, normalized.
    assert coords[:2] == ["0.125000", "0.333333"], coords
    screenshot(page, "project-export-yolo-seg")

    # The choice comes back with the dialog.
    page.reload()
    page.get_by_role("button", name="Export…").click()
    assert page.get_by_label("Format", exact=True).input_value() == "yolo_seg"
    assert page.get_by_label("Polygon vertices").input_value() == "centres"
    assert not console_errors, console_errors
