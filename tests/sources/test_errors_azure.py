"""What an owner reads when an Azure container cannot be listed: a sentence naming the host,
never the HTTP library's `HTTPSConnection(host=..., port=...)` text. The Azurite emulator
serves the cases that need a real account; closed ports and unknown names the rest."""

# ruff: noqa: F811

import pytest
from django.urls import reverse

from projects.models import Job, Source
from tests.conftest import free_port

# `container` is test_azure's fixture, imported to be used here.
from tests.sources.test_azure import _location, container  # noqa: F401

LIBRARY_TEXT = ("Errno", "HTTPSConnection", "HTTPConnection", "Failed to establish", "RequestId")


def _add(client, project, **data):
    url = reverse("api:api-source-create-azure", kwargs={"project_id": project.pk})
    response = client.post(url, data, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    return Source.objects.get(pk=body["source"]["id"]), Job.objects.get(pk=body["job"]["id"])


def _failed_with(source: Source, job: Job) -> str:
    source.refresh_from_db()
    assert job.status == Job.Status.FAILED, job.message
    assert not source.available and source.unavailable_reason == job.message
    assert not any(text in job.message for text in LIBRARY_TEXT), job.message
    assert len(job.message) < 400
    return job.message


@pytest.fixture
def custom_endpoints(settings):
    settings.ANNOTATOR_AZURE_ALLOW_CUSTOM_ENDPOINTS = True


def test_an_account_host_that_does_not_exist_is_named(
    team, api_client, eager_tasks, custom_endpoints
):
    source, job = _add(
        api_client(team.owner),
        team.project,
        account_url="http://nosuchaccount.invalid/devstoreaccount1",
        container="cells",
        credential={"kind": "account_key", "secret": "a2V5"},
    )
    assert _failed_with(source, job) == (
        "The host nosuchaccount.invalid could not be found. Check the address."
    )


def test_an_account_that_refuses_connections_is_named_with_its_port(
    team, api_client, eager_tasks, custom_endpoints
):
    port = free_port()
    source, job = _add(
        api_client(team.owner),
        team.project,
        account_url=f"http://127.0.0.1:{port}/devstoreaccount1",
        container="cells",
    )
    assert _failed_with(source, job) == (
        f"127.0.0.1 port {port} refused the connection. Check the address and that the server "
        "is running."
    )


def test_a_malformed_connection_string_says_what_one_looks_like(
    team, api_client, azurite, container, eager_tasks
):
    source, job = _add(
        api_client(team.owner),
        team.project,
        **_location(azurite, container),
        credential={"kind": "connection_string", "secret": "not a connection string"},
    )
    message = _failed_with(source, job)
    assert message.startswith("The connection string is not valid (")
    assert message.endswith("DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…")


def test_a_missing_container_is_one_sentence_without_the_service_s_request_ids(
    team, api_client, azurite, container, eager_tasks
):
    location = {**_location(azurite, container), "container": "nosuchcontainer"}
    source, job = _add(
        api_client(team.owner),
        team.project,
        **location,
        credential={"kind": "account_key", "secret": container.credential.account_key},
    )
    assert _failed_with(source, job) == "Azure says 'nosuchcontainer' does not exist."
