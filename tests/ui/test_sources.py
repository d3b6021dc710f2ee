import re

from tests.ui.conftest import login, screenshot, synthetic_pool


def test_uploading_images_adds_them_to_the_pool_once(page, live_app, tmp_path, console_errors):
    base = live_app["base"]
    synthetic_pool(tmp_path / "pictures", count=3)
    files = sorted(str(p) for p in (tmp_path / "pictures").glob("*.png"))
    login(page, base)
    page.get_by_label("Name", exact=True).fill("Uploads")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    page.get_by_text("Add images", exact=True).click()
    page.locator("#upload-files").set_input_files(files)
    page.get_by_text("Uploaded 3 image(s).").wait_for()
    page.locator(".pool-grid .tile").nth(2).wait_for()

    page.locator("#upload-files").set_input_files(files[:1])
    page.get_by_text("Uploaded 0 image(s), 1 already in the pool.").wait_for()
    assert page.locator(".pool-grid .tile").count() == 3
    screenshot(page, "07-uploads")
    assert not console_errors, console_errors
