from tests.ui.conftest import login, screenshot


def open_demo_editor(page, base):
    login(page, base)
    page.get_by_role("link", name="Demo").click()
    page.goto(page.url + "annotate/")
    page.wait_for_function("window.annotatorEditor && window.annotatorEditor.state.picture")


def canvas_point(page, fx: float, fy: float) -> tuple[float, float]:
    """Screen coordinates of the image point at fractions (fx, fy) of its size."""
    return page.evaluate(
        """([fx, fy]) => {
            const s = window.annotatorEditor.state, c = document.querySelector('#canvas');
            const r = c.getBoundingClientRect(), k = r.width / c.width;
            return [r.left + (s.view.x + fx * s.image.width * s.view.scale) * k,
                    r.top + (s.view.y + fy * s.image.height * s.view.scale) * k];
        }""",
        [fx, fy],
    )


def test_brush_undo_redo_and_complete_and_next(page, live_app, console_errors):
    base = live_app["base"]
    open_demo_editor(page, base)
    first = page.evaluate("window.annotatorEditor.state.image.id")
    page.get_by_role("button", name="✎ Brush").click()
    x0, y0 = canvas_point(page, 0.3, 0.3)
    x1, y1 = canvas_point(page, 0.6, 0.5)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=8)
    page.mouse.up()
    page.wait_for_function("window.annotatorEditor.state.objects.length === 1")
    assert page.locator("#status").inner_text() == "In progress"
    screenshot(page, "editor-brush")

    page.keyboard.press("Control+z")
    page.wait_for_function("window.annotatorEditor.state.objects.length === 0")
    page.keyboard.press("Control+Shift+z")
    page.wait_for_function("window.annotatorEditor.state.objects.length === 1")

    page.get_by_role("button", name="✓ Complete & next").click()
    page.wait_for_function(f"window.annotatorEditor.state.image.id !== {first}")
    page.get_by_role("button", name="History").click()
    completed = page.locator(".history-item.status-completed")
    completed.first.wait_for()
    assert completed.count() == 1
    assert not console_errors, console_errors


def test_ui_settings_come_back_on_the_next_visit(page, live_app, console_errors):
    base = live_app["base"]
    open_demo_editor(page, base)
    page.get_by_role("button", name="⌫ Eraser").click()
    page.get_by_label("Overlay opacity").fill("80")
    page.get_by_role("button", name="Panels").click()
    assert not page.locator(".side").is_visible()
    page.wait_for_timeout(900)  # settings are saved after a short pause
    page.reload()
    page.wait_for_function("window.annotatorEditor && window.annotatorEditor.state.picture")
    assert page.evaluate("window.annotatorEditor.state.tool") == "eraser"
    assert page.get_by_label("Overlay opacity").input_value() == "80"
    assert not page.locator(".side").is_visible()
    page.get_by_role("button", name="Panels").click()
    assert page.locator(".side").is_visible()

    page.get_by_role("link", name="← Demo").click()
    page.locator("#pool .tile").first.wait_for()
    # The filter is saved as it changes: wait for the server's answer, not for a set time.
    with page.expect_response(
        lambda r: "/my-settings/" in r.url and r.request.method == "PATCH" and r.ok
    ):
        page.get_by_label("Status").select_option("completed")
    page.reload()
    assert page.get_by_label("Status").input_value() == "completed"
    # Put back, saved before the page closes: later tests share this server and this user.
    with page.expect_response(
        lambda r: "/my-settings/" in r.url and r.request.method == "PATCH" and r.ok
    ):
        page.get_by_label("Status").select_option("")
    assert not console_errors, console_errors
