"""SAM2's decoder in the browser, in the real editor: with a SAM2 model the editor decodes a
click here (WASM, two threads under cross-origin isolation) and its mask is the one the server
saves; the hover preview follows the pointer; with the classic model the status line says
clicks are decoded on the server, and clicks still work."""

from pathlib import Path

import pytest

from tests.ui.conftest import ROOT, screenshot
from tests.ui.helpers import (
    LEFT,
    RIGHT,
    call,
    make_project,
    open_editor,
    screen_point,
    wait_until,
)
from tests.ui.sam2_models import load_micro

EDITOR = "window.annotatorEditor"
STATE = f"{EDITOR}.state"
DECODER = f"{EDITOR}.decoder"
VENDOR = ROOT / "static" / "vendor" / "onnxruntime-web"


@pytest.fixture(autouse=True)
def _onnxruntime_web_installed():
    missing = [p.name for p in (VENDOR / "ort-wasm-simd-threaded.wasm",) if not Path(p).exists()]
    assert not missing, "onnxruntime-web is missing: bin/test installs it (ensure_onnxruntime_web)"


def micro_editor(page, live_app, name: str) -> dict:
    project = make_project(page, live_app, name, count=2, model=None)
    load_micro(page, live_app, project["id"])
    open_editor(page, live_app["base"], project["id"], project["images"][0])
    page.wait_for_function(
        "document.querySelector('#decoder-status').textContent.startsWith('Decoding here')",
        timeout=60_000,
    )
    return project


def test_a_click_is_decoded_here_as_the_server_saves_it(page, live_app, console_errors):
    project = micro_editor(page, live_app, "browser-decoder-click")
    status = page.locator("#decoder-status").text_content()
    assert status == "Decoding here (WASM, 2 threads)", status
    assert page.evaluate("self.crossOriginIsolated") is True
    page.mouse.move(*screen_point(page, LEFT[0], LEFT[1]))
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function(f"{STATE}.candidates !== null && {DECODER}.lastClick !== null")
    agreement = page.evaluate(
        """async () => {
            const { boundedIou } = await import('/static/js/lib/sam-decode.js');
            const here = window.annotatorEditor.decoder.lastClick;
            const server = window.annotatorEditor.state.candidates;
            return {
                ious: here.masks.map((m, i) => boundedIou(m, server.masks[i])),
                here: here.scores, server: server.scores, count: server.masks.length,
            };
        }"""
    )
    assert agreement["count"] == 3
    assert min(agreement["ious"]) >= 0.99, agreement
    for mine, theirs in zip(agreement["here"], agreement["server"], strict=True):
        assert abs(mine - theirs) < 1e-2, agreement
    # The record the server saved is the one the editor shows.
    image = project["images"][0]
    predictions = call(page, "GET", f"/api/images/{image}/records/")["data"]["predictions"]
    assert len(predictions) == 1
    screenshot(page, "browser-decoder-click")
    assert not console_errors, console_errors


def test_the_hover_preview_follows_the_pointer(page, live_app, console_errors):
    project = micro_editor(page, live_app, "browser-decoder-hover")
    for disc in (LEFT, RIGHT, LEFT):
        x, y = screen_point(page, disc[0], disc[1])
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y, steps=4)
        page.wait_for_function(
            f"""() => {{
                const h = {DECODER}.hover;
                return h && h.x === {disc[0]} && h.y === {disc[1]};
            }}""",
            timeout=15_000,
        )
        mask = page.evaluate(
            f"(({{ x, y, width, height }}) => [x, y, width, height])({DECODER}.hover.mask)"
        )
        assert mask[2] > 0, mask
    decodes = page.evaluate(f"{DECODER}.hoverDecodes")
    assert decodes >= 3
    screenshot(page, "browser-decoder-hover")
    # Off the canvas, no preview.
    page.mouse.move(5, 5)
    page.wait_for_function(f"{DECODER}.hover === null")
    # The setting turns it off, and is saved for this user.
    page.locator("#hover-preview").uncheck()
    x, y = screen_point(page, RIGHT[0], RIGHT[1])
    page.mouse.move(x, y, steps=3)
    page.wait_for_timeout(400)
    assert page.evaluate(f"{DECODER}.hover") is None
    mine = lambda: call(page, "GET", f"/api/projects/{project['id']}/my-settings/")["data"]  # noqa: E731
    wait_until(lambda: mine().get("hover_preview") is False, what="the setting to be saved")
    assert not console_errors, console_errors


def test_the_classic_model_decodes_on_the_server_and_says_so(page, live_app, console_errors):
    project = make_project(page, live_app, "browser-decoder-classic", count=2)
    open_editor(page, live_app["base"], project["id"], project["images"][0])
    page.wait_for_function(
        "document.querySelector('#decoder-status').textContent.startsWith('Decoding on the server')"
    )
    status = page.locator("#decoder-status")
    assert status.text_content() == "Decoding on the server: classic model"
    assert "no SAM2 decoder" in status.get_attribute("title")
    page.mouse.move(*screen_point(page, LEFT[0], LEFT[1]))
    page.mouse.down()
    page.mouse.up()
    page.wait_for_function(f"{STATE}.candidates !== null")
    assert page.evaluate(f"{DECODER}.lastClick") is None
    screenshot(page, "browser-decoder-classic")
    assert not console_errors, console_errors
