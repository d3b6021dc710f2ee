"""A person sees the names they uploaded, in the pool and the editor, and an export names the
two uploads of one name apart by their path in the source."""

import re

import numpy as np
from PIL import Image as PILImage

from tests.ui.conftest import login, screenshot
from tests.ui.helpers import call, wait_until


def _picture(path, shade: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((60, 80, 3), shade, dtype=np.uint8)
    pixels[20:40, 20:50] = (230, 60, 40)
    PILImage.fromarray(pixels).save(path)
    return str(path)


def test_uploaded_names_in_the_pool_the_editor_and_a_coco_export(
    page, live_app, tmp_path, console_errors
):
    base = live_app["base"]
    first = _picture(tmp_path / "monday" / "a.png", 60)
    second = _picture(tmp_path / "tuesday" / "a.png", 140)  # the same name, other pixels
    login(page, base)
    page.get_by_label("Name", exact=True).fill("Names")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    project_id = int(re.search(r"/projects/(\d+)/$", page.url).group(1))
    page.get_by_text("Add images", exact=True).click()
    page.locator("#upload-files").set_input_files([first])
    page.get_by_text("Uploaded 1 image(s).").wait_for()
    page.locator("#upload-files").set_input_files([second])
    page.locator(".pool-grid .tile").nth(1).wait_for()

    tiles = page.locator(".pool-grid .tile a")
    assert page.locator(".pool-grid .tile-name").all_inner_texts() == ["a.png", "a.png"]
    titles = [tiles.nth(i).get_attribute("title") for i in range(2)]
    assert all(title.startswith("a.png — ") for title in titles), titles
    assert page.locator(".pool-grid .tile img").first.get_attribute("alt") == "a.png"
    screenshot(page, "names-pool")

    images = call(page, "GET", f"/api/projects/{project_id}/images/")["data"]["results"]
    assert [image["name"] for image in images] == ["a.png", "a.png"]
    assert all(image["path"].startswith(f"{project_id}/") for image in images)

    tiles.first.click()
    page.wait_for_url(re.compile(rf"/projects/{project_id}/images/\d+/$"))
    assert page.title() == "a.png · Names · Annotator"
    page.wait_for_function("document.querySelector('#image-name').textContent === 'a.png'")
    page.wait_for_function(
        "(() => { const c = document.querySelector('canvas');"
        " return c && c.width > 0 && c.height > 0; })()"
    )
    screenshot(page, "names-editor")

    started = call(page, "POST", f"/api/projects/{project_id}/exports/", {"format": "coco"})
    assert started["status"] == 202, started
    job_id = started["data"]["job"]["id"]

    def finished():
        answer = call(page, "GET", f"/api/exports/{job_id}/")["data"]
        return answer if answer["job"]["status"] in {"done", "failed", "cancelled"} else None

    answer = wait_until(finished, timeout=60, what="the export job")
    assert answer["job"]["status"] == "done", answer
    coco = call(page, "GET", answer["download_url"])["data"]
    names = {entry["id"]: entry["file_name"] for entry in coco["images"]}
    assert names == {image["id"]: f"{image['key'][:16]}/a.png" for image in images}
    assert not console_errors, console_errors
