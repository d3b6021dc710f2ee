"""The editor says who holds an image someone else is working on, and "next unprocessed"
passes it by; when that person closes their page the image is free again."""

from tests.ui.conftest import screenshot
from tests.ui.helpers import (
    add_member,
    call,
    create_user,
    make_project,
    open_editor,
    sign_in,
    wait_until,
)


def test_the_editor_says_who_holds_the_image(page, browser, live_app, console_errors):
    base = live_app["base"]
    project = make_project(page, live_app, "held-images", count=3, model="")
    first, second, _ = project["images"]
    create_user(live_app, "hana", "hana-password-1")
    add_member(page, project["id"], "hana", "annotator")

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    hana = context.new_page()
    errors: list[str] = []
    hana.on("console", lambda m: m.type == "error" and errors.append(m.text))
    hana.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(hana, base, "hana", "hana-password-1")
    open_editor(hana, base, project["id"], first)
    assert hana.locator("#held-by").is_hidden()  # her own image

    open_editor(page, base, project["id"], first)
    held = page.locator("#held-by")
    assert held.is_visible() and held.text_content() == "Held by hana"
    screenshot(page, "editor-held-by")

    # Next unprocessed passes her image by.
    page.get_by_role("button", name="Next unprocessed").click()
    page.wait_for_url(f"**/images/{second}/")
    page.wait_for_function("document.querySelector('#held-by').hidden")

    # She closes her page: her image goes back to the pool.
    context.close()
    assert not errors, errors
    step = f"/api/projects/{project['id']}/navigate/?direction=previous&from={second}"
    wait_until(
        lambda: call(page, "GET", step)["data"]["image"]["held_by"] is None,
        what="her page's leaving to release the image",
    )
    page.get_by_role("button", name="◀ Prev").click()
    page.wait_for_url(f"**/images/{first}/")
    page.wait_for_timeout(300)
    assert held.is_hidden()
    assert not console_errors, console_errors
