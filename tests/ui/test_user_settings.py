"""Two people in one project, each in their own browser: one's pool filter is not the
other's."""

import re

from tests.ui.conftest import login, screenshot

BEA_PASSWORD = "bea-browser-password-7"


def pool_count(page) -> int:
    text = page.locator("#pool p.muted").first.inner_text()
    found = re.match(r"(\d+) image", text)
    assert found, text
    return int(found.group(1))


def wait_for_pool(page) -> None:
    page.wait_for_function("document.querySelector('#pool p.muted')?.textContent.includes('image')")


def add_user_in_the_admin(page, base: str, username: str, password: str) -> None:
    """In a tab of its own: Django's admin pages link no icon, so Chrome's request for
    /favicon.ico gets a 404 there, which is no error of the page."""
    page = page.context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: (
            m.type == "error"
            and not m.location["url"].endswith("/favicon.ico")
            and errors.append(m.text)
        ),
    )
    page.goto(f"{base}/admin/auth/user/add/")
    page.get_by_label("Username").fill(username)
    enabled = page.get_by_label("Enabled")
    if enabled.count():
        enabled.check()
    page.locator("#id_password1").fill(password)
    page.locator("#id_password2").fill(password)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/auth/user/\d+/change/"))
    page.close()
    assert not errors, errors


def add_member(page, username: str, role: str) -> None:
    page.locator("#connection[data-state=connected]").wait_for()  # the page's code runs
    page.get_by_role("button", name="Project settings…").click()
    page.get_by_label("User name").fill(username)
    page.get_by_label("Role", exact=True).select_option(role)
    page.get_by_role("button", name="Add member").click()
    page.locator("#members").get_by_text(username, exact=True).wait_for()
    page.locator("#settings-close").click()


def test_one_members_pool_filter_is_not_the_others(page, browser, live_app, console_errors):
    base = live_app["base"]
    login(page, base)
    add_user_in_the_admin(page, base, "bea", BEA_PASSWORD)
    page.goto(f"{base}/")
    page.get_by_role("link", name="Demo").click()
    demo = page.url
    add_member(page, "bea", "annotator")
    wait_for_pool(page)
    everything = pool_count(page)
    assert everything > 0

    # The admin picks "completed": it comes back after a reload.
    with page.expect_response(lambda r: "/my-settings/" in r.url) as saved:
        page.get_by_label("Status").select_option("completed")
    assert saved.value.status == 200
    page.reload()
    wait_for_pool(page)
    assert page.get_by_label("Status").input_value() == "completed"
    tiles = page.locator("#pool .tile")
    assert tiles.count() == page.locator("#pool .tile.status-completed").count()
    mine = pool_count(page)
    assert mine < everything
    screenshot(page, "user-settings-admin-completed")

    # Bea, in a browser of her own, still sees the whole pool.
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        other = context.new_page()
        other_errors: list[str] = []
        other.on("console", lambda m: m.type == "error" and other_errors.append(m.text))
        other.on("pageerror", lambda e: other_errors.append(str(e)))
        other.goto(f"{base}/")
        other.get_by_label("User name").fill("bea")
        other.get_by_label("Password").fill(BEA_PASSWORD)
        other.get_by_role("button", name="Log in").click()
        other.wait_for_url(f"{base}/")
        other.goto(demo)
        wait_for_pool(other)
        assert other.get_by_label("Status").input_value() == ""
        assert pool_count(other) == everything
        screenshot(other, "user-settings-other-member-all")

        # Her own choice is hers: the admin's stays "completed".
        with other.expect_response(lambda r: "/my-settings/" in r.url) as saved:
            other.get_by_label("Availability").select_option("true")
        assert saved.value.status == 200
        assert not other_errors, other_errors
    finally:
        context.close()

    page.reload()
    wait_for_pool(page)
    assert page.get_by_label("Status").input_value() == "completed"
    assert page.get_by_label("Availability").input_value() == ""
    assert pool_count(page) == mine
    with page.expect_response(lambda r: "/my-settings/" in r.url):
        page.get_by_label("Status").select_option("")
    assert not console_errors, console_errors
