"""The main journey of the issue, end to end in Chromium against the real server."""

import re

from tests.ui.conftest import login, screenshot
from tests.ui.test_editor import canvas_point


def overlay_coverage(page, fx0, fy0, fx1, fy1) -> float:
    """Share of canvas pixels inside the image rectangle [fx0..fx1] x [fy0..fy1] (fractions
    of the image) whose colour differs from the bare picture: how much a mask covers there."""
    return page.evaluate(
        """([fx0, fy0, fx1, fy1]) => {
            const s = window.annotatorEditor.state, c = document.querySelector('#canvas');
            const ctx = c.getContext('2d');
            const x0 = Math.round(s.view.x + fx0 * s.image.width * s.view.scale);
            const y0 = Math.round(s.view.y + fy0 * s.image.height * s.view.scale);
            const w = Math.round((fx1 - fx0) * s.image.width * s.view.scale);
            const h = Math.round((fy1 - fy0) * s.image.height * s.view.scale);
            const shown = ctx.getImageData(x0, y0, w, h).data;
            const bare = document.createElement('canvas');
            bare.width = c.width; bare.height = c.height;
            const b = bare.getContext('2d');
            b.setTransform(s.view.scale, 0, 0, s.view.scale, s.view.x, s.view.y);
            b.imageSmoothingEnabled = s.view.scale < 1;
            b.drawImage(s.picture, 0, 0, s.image.width, s.image.height);
            const plain = b.getImageData(x0, y0, w, h).data;
            let changed = 0;
            for (let i = 0; i < shown.length; i += 4) {
                const d = Math.abs(shown[i] - plain[i]) + Math.abs(shown[i + 1] - plain[i + 1])
                    + Math.abs(shown[i + 2] - plain[i + 2]);
                if (d > 30) changed++;
            }
            return changed / (shown.length / 4);
        }""",
        [fx0, fy0, fx1, fy1],
    )


def test_the_main_journey(page, live_app, console_errors):
    base = live_app["base"]
    login(page, base)
    screenshot(page, "01-projects")

    # Create a project.
    page.get_by_label("Name", exact=True).fill("Discs")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))

    # Add a folder source of synthetic images.
    page.get_by_text("Add images", exact=True).click()
    page.get_by_role("tab", name="Server folder").click()
    page.get_by_label("Folder on the server").fill(str(live_app["datasets"] / "discs"))
    page.get_by_role("button", name="Add folder").click()
    page.locator(".pool-grid .tile").nth(3).wait_for(timeout=30_000)
    assert page.locator(".pool-grid .tile.status-unprocessed").count() == 4
    names = page.locator(".pool-grid .tile-name").all_inner_texts()
    assert names == sorted(names)
    page.wait_for_function(
        "[...document.querySelectorAll('.tile img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    screenshot(page, "02-project")

    # Load the classic model from the model panel.
    page.locator(".model-select").select_option("classic")
    page.get_by_role("button", name="Load").click()
    page.locator(".model-current", has_text=re.compile("classic", re.I)).wait_for(timeout=30_000)

    # Open the editor on the first image.
    page.locator(".pool-grid .tile a").first.click()
    page.wait_for_function("window.annotatorEditor && window.annotatorEditor.state.picture")

    # Click inside the disc of the first image (centre 100,110, radius 45 on 320x240).
    x, y = canvas_point(page, 100 / 320, 110 / 240)
    page.mouse.click(x, y)
    page.wait_for_function("window.annotatorEditor.state.candidates !== null", timeout=30_000)
    page.wait_for_timeout(100)
    inside = overlay_coverage(page, 80 / 320, 90 / 240, 120 / 320, 130 / 240)
    outside = overlay_coverage(page, 250 / 320, 180 / 240, 300 / 320, 230 / 240)
    assert inside > 0.9, inside
    assert outside < 0.05, outside
    screenshot(page, "03-editor-candidates")

    # Keep the best candidate, then paint with the brush on it.
    page.locator("#candidates .candidate").first.dblclick()
    page.wait_for_function("window.annotatorEditor.state.objects.length === 1")
    page.get_by_role("button", name="✎ Brush").click()
    x0, y0 = canvas_point(page, 200 / 320, 60 / 240)
    x1, y1 = canvas_point(page, 240 / 320, 60 / 240)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "window.annotatorEditor.state.image.has_manual_edit"
        " && window.annotatorEditor.state.image.version >= 2"
    )
    screenshot(page, "04-editor-brush")

    # Complete & next: one click.
    first = page.evaluate("window.annotatorEditor.state.image.id")
    page.get_by_role("button", name="✓ Complete & next").click()
    page.wait_for_function(f"window.annotatorEditor.state.image.id !== {first}")

    # The overview shows the colours.
    page.get_by_role("link", name="← Discs").click()
    page.locator(".pool-grid .tile.status-completed").wait_for()
    assert page.locator(".pool-grid .tile.status-completed").count() == 1
    assert page.locator(".pool-grid .tile.status-unprocessed").count() == 3

    # Automask on the pool, with its progress bar.
    page.get_by_label("Predicted IoU ≥").fill("0")
    page.get_by_label("Stability ≥").fill("0")
    page.get_by_role("button", name="Start").click()
    page.locator("#automask-progress .progress-text", has_text="4 / 4").wait_for(timeout=60_000)
    page.locator(".pool-grid .tile .b-auto").nth(3).wait_for(timeout=30_000)
    assert page.locator(".pool-grid .tile.status-in_progress").count() == 3
    screenshot(page, "05-project-automask")

    # Export as COCO and download the file.
    page.get_by_role("button", name="Export…").click()
    page.get_by_label("Format").select_option("coco")
    page.get_by_role("button", name="Export", exact=True).click()
    download_link = page.get_by_role("link", name="Download")
    download_link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        download_link.click()
    path = download.value.path()
    import json

    coco = json.loads(open(path).read())
    assert len(coco["images"]) == 4
    assert len(coco["annotations"]) >= 1
    screenshot(page, "06-export")

    # The whole project as an archive, opened again as a new project.
    page.get_by_label("Format").select_option("archive")
    page.get_by_role("button", name="Export", exact=True).click()
    page.locator("#export-message", has_text="ready").wait_for(timeout=30_000)
    with page.expect_download() as archive:
        page.get_by_role("link", name="Download").click()
    page.goto(f"{base}/")
    page.get_by_label("Archive file").set_input_files(archive.value.path())
    page.get_by_label("Name for the project").fill("Discs restored")
    page.get_by_role("button", name="Upload archive").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    assert page.locator("#project-name").inner_text() == "Discs restored"
    page.locator(".pool-grid .tile").nth(3).wait_for()
    assert page.locator(".pool-grid .tile.status-completed").count() == 1
    assert page.locator(".pool-grid .tile .b-auto").count() == 4
    assert not console_errors, console_errors
