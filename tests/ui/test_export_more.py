"""Exporting Label Studio and CVAT files from the project page, as a person picks the format:
the dialog greys out the mask form, and the downloaded zip holds the pool's objects."""

import io
import json
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
from label_studio_converter import brush as studio
from pycocotools import mask as mask_utils

from tests.ui.conftest import screenshot
from tests.ui.helpers import call, make_project


def annotated_pool(page, live_app, name: str) -> tuple[dict, np.ndarray]:
    """A project of one image holding one labelled square object; its stored mask."""
    project = {**make_project(page, live_app, name, count=1, model=None), "name": name}
    label = call(page, "POST", f"/api/projects/{project['id']}/labels/", {"name": "disc & co"})
    assert label["status"] == 201, label
    image = project["images"][0]
    version = call(page, "POST", f"/api/images/{image}/open/")["data"]["image"]["version"]
    square = [[40, 80], [120, 80], [120, 160], [40, 160]]
    body = {"version": version, "points": square, "label_id": label["data"]["id"]}
    made = call(page, "POST", f"/api/images/{image}/objects/", body)
    assert made["status"] == 201, made
    rle = made["data"]["object"]["mask"]
    mask = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
    return project, mask.astype(bool)


def download_export(page, live_app, project: dict, format_name: str) -> zipfile.ZipFile:
    page.goto(f"{live_app['base']}/projects/{project['id']}/")
    page.locator("#connection[data-state=connected]").wait_for()
    page.get_by_role("button", name="Export…").click()
    page.get_by_label("Format", exact=True).select_option(format_name)
    assert page.get_by_label("Mask form").is_disabled()
    assert "does not apply" in page.locator("#export-mask-form-note").inner_text()
    assert page.locator("#export-convention-row").is_hidden()
    page.get_by_role("button", name="Export", exact=True).click()
    link = page.get_by_role("link", name="Download")
    link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    name = download.value.suggested_filename
    assert name.startswith(f"{project['name']}-{format_name}") and name.endswith(".zip"), name
    with open(download.value.path(), "rb") as handle:
        return zipfile.ZipFile(io.BytesIO(handle.read()))


def test_a_label_studio_export_from_the_dialog(page, live_app, console_errors):
    project, mask = annotated_pool(page, live_app, "studio-export")
    archive = download_export(page, live_app, project, "label_studio")
    assert sorted(archive.namelist()) == ["label_config.xml", "tasks.json"]
    [task] = json.loads(archive.read("tasks.json"))
    assert task["data"]["image"] == "/data/local-files/?d=pair_0.png"
    [region] = task["annotations"][0]["result"]
    assert region["value"]["brushlabels"] == ["disc & co"]
    height, width = region["original_height"], region["original_width"]
    assert (height, width) == mask.shape
    pixels = studio.decode_rle(region["value"]["rle"]).reshape(height, width, 4)
    assert np.array_equal(pixels[:, :, 3] > 0, mask)
    config = ET.fromstring(archive.read("label_config.xml"))
    assert [label.get("value") for label in config.iter("Label")] == ["disc & co", "object"]
    screenshot(page, "project-export-label-studio")

    # The choice comes back with the dialog.
    page.reload()
    page.get_by_role("button", name="Export…").click()
    assert page.get_by_label("Format", exact=True).input_value() == "label_studio"
    assert page.get_by_label("Mask form").is_disabled()
    assert not console_errors, console_errors


def test_a_cvat_export_from_the_dialog(page, live_app, console_errors):
    project, mask = annotated_pool(page, live_app, "cvat-export")
    archive = download_export(page, live_app, project, "cvat")
    assert archive.namelist() == ["annotations.xml"]
    document = ET.fromstring(archive.read("annotations.xml"))
    assert document.findtext("version") == "1.1"
    [image] = document.iter("image")
    assert image.get("name") == "pair_0.png"
    assert (int(image.get("height")), int(image.get("width"))) == mask.shape
    [element] = image.iter("mask")
    assert element.get("label") == "disc & co"
    # The box is the mask's bounding box; its runs start with the background.
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = [element.get(k) for k in ("left", "top", "width", "height")]
    assert box == [
        str(columns[0]),
        str(rows[0]),
        str(columns[-1] - columns[0] + 1),
        str(rows[-1] - rows[0] + 1),
    ]
    crop = mask[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    assert element.get("rle") == f"0, {crop.size}"  # a square fills its box
    names = [n.text for n in document.iterfind("meta/task/labels/label/name")]
    assert names == ["disc & co", "object"]
    screenshot(page, "project-export-cvat")
    assert not console_errors, console_errors
