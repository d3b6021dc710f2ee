"""The project page's "First clicks" card, as an owner uses it: prepare the pool's features
ahead, watch it finish, and turn on preparing on its own."""

from tests.ui.conftest import screenshot
from tests.ui.helpers import call, make_project
from tests.ui.sam2_models import load_micro


def test_the_pool_is_prepared_from_the_project_page(page, live_app, console_errors):
    project = make_project(page, live_app, "first-clicks", count=3, model=None)
    load_micro(page, live_app, project["id"])
    page.goto(f"{live_app['base']}/projects/{project['id']}/")
    page.locator("#connection[data-state=connected]").wait_for()
    card = page.locator("#embeddings-card")
    card.get_by_role("button", name="Prepare now").click()
    page.locator("#embeddings-message", has_text="Every image is prepared.").wait_for(
        timeout=90_000
    )
    assert page.locator("#embeddings-progress .progress-text").inner_text() == "3 / 3 images"
    screenshot(page, "project-first-clicks")

    # A click on a never-opened image answers from the prepared features.
    last = project["images"][-1]
    click = {"point_coords": [[80, 120]], "point_labels": [1], "multimask_output": True}
    answer = call(page, "POST", f"/api/images/{last}/predict/", click)
    assert answer["status"] == 200, answer
    assert answer["data"]["embedding_cached"] is True

    box = card.get_by_label("Prepare by itself whenever a model is loaded or the pool grows")
    box.check()
    page.locator("#embeddings-message", has_text="prepared on their own").wait_for()
    assert call(page, "GET", f"/api/projects/{project['id']}/state/")["data"]["embeddings_auto"]
    page.reload()
    assert box.is_checked()
    assert not console_errors, console_errors
