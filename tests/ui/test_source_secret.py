"""An owner restores a project whose Azure container (the Azurite emulator) needs its secret
again, sees the Sources panel ask for it, enters it, and gets the container's images back.

The server here allows custom Azure endpoints (Azurite listens on 127.0.0.1), so it is its own
`manage.py serve`, started as tests/ui/conftest.py's live_app is."""

# ruff: noqa: F811

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from tests.served import served, served_env
from tests.sources.conftest import (  # noqa: F401 (azurite is a fixture)
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    azurite,
    azurite_connection_string,
    image_bytes,
)
from tests.ui.conftest import ADMIN_PASSWORD, login, screenshot


@pytest.fixture(scope="module")
def azure_app(tmp_path_factory):
    var = tmp_path_factory.mktemp("ui-azure-var")
    env = served_env(
        var,
        ANNOTATOR_ADMIN_PASSWORD=ADMIN_PASSWORD,
        ANNOTATOR_AZURE_ALLOW_CUSTOM_ENDPOINTS="true",
    )
    with served(env, var) as base:
        yield {"base": base}


@pytest.fixture
def container(azurite):
    service = BlobServiceClient.from_connection_string(azurite_connection_string(azurite))
    client = service.create_container(f"ui{uuid.uuid4().hex[:12]}")
    client.upload_blob("cells/a.png", image_bytes(size=(64, 48), seed=1))
    client.upload_blob("cells/b.png", image_bytes(size=(64, 48), seed=2))
    yield client
    client.delete_container()


def _sas(container) -> str:
    return generate_container_sas(
        AZURITE_ACCOUNT,
        container.container_name,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


def rest(page, method: str, url: str, **options):
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": token, "Referer": url}
    response = page.request.fetch(url, method=method, headers=headers, **options)
    assert response.ok, (url, response.status, response.text())
    return response


def wait_until(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)
    return value


def _restored_project(page, base: str, azurite: str, container) -> int:
    """A project with the container as a source (SAS token), restored from its own archive:
    the source is back, its secret is not."""
    project = rest(page, "POST", f"{base}/api/projects/", data={"name": "Restored scans"}).json()
    pid = project["id"]
    source = {
        "account_url": azurite,
        "container": container.container_name,
        "prefix": "cells/",
        "credential": {"kind": "sas_token", "secret": _sas(container)},
    }
    rest(page, "POST", f"{base}/api/projects/{pid}/sources/azure/", data=source)
    images = f"{base}/api/projects/{pid}/images/"
    wait_until(lambda: rest(page, "GET", images).json()["count"] == 2)
    archive = rest(page, "GET", f"{base}/api/projects/{pid}/archive/").body()
    upload = {"file": {"name": "scans.zip", "mimeType": "application/zip", "buffer": archive}}
    rest(page, "POST", f"{base}/api/projects/{pid}/archive/", multipart=upload)
    rows = rest(page, "GET", images).json()["results"]
    assert len(rows) == 2 and not any(row["available"] for row in rows)
    return pid


def test_the_owner_enters_a_restored_source_s_secret_in_the_sources_panel(
    page, azure_app, azurite, container, console_errors
):
    base = azure_app["base"]
    refused: list[str] = []
    page.on("response", lambda r: r.status == 409 and refused.append(r.url))
    login(page, base)
    pid = _restored_project(page, base, azurite, container)
    page.goto(f"{base}/projects/{pid}/")
    sources = page.locator("#sources")
    form = sources.get_by_role("form", name=re.compile("Secret of"))
    form.wait_for()
    assert "needs its secret" in form.inner_text()
    assert form.get_by_label("Kind").input_value() == "sas_token"
    screenshot(page, "source-secret-needed")

    form.get_by_label("Secret", exact=True).fill("not-a-token")
    form.get_by_role("button", name="Save secret and re-scan").click()
    sources.get_by_role("alert").filter(has_text="A SAS token looks like sv=").wait_for()

    sources.get_by_label("Secret", exact=True).fill(_sas(container))
    sources.get_by_role("button", name="Save secret and re-scan").click()
    # The panel refreshes: no form, and the source is no longer flagged unavailable.
    sources.get_by_role("form", name=re.compile("Secret of")).wait_for(state="detached")
    wait_until(lambda: sources.locator(".source.unavailable").count() == 0)
    rows = wait_until(
        lambda: [
            row
            for row in rest(page, "GET", f"{base}/api/projects/{pid}/images/").json()["results"]
            if row["available"]
        ]
    )
    assert len(rows) == 2
    page.reload()
    page.locator("#sources .source").first.wait_for()
    assert page.locator("#sources .source.unavailable").count() == 0
    assert page.locator("#sources form.source-secret").count() == 0
    screenshot(page, "source-secret-entered")
    # The pool (not this panel) asks for the thumbnails of the images that were unreadable
    # before the secret came back; those 409s are the only errors the page logs.
    thumbnails = [url for url in refused if re.search(r"/api/images/\d+/thumbnail/$", url)]
    assert thumbnails == refused and len(thumbnails) <= 2, refused
    conflicts = [e for e in console_errors if "status of 409 (Conflict)" in e]
    assert len(conflicts) == len(thumbnails)
    assert [e for e in console_errors if e not in conflicts] == []
