"""Azure Blob Storage sources against the Azurite emulator, for every auth mode it has."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
from django.urls import reverse

from projects.crypto import decrypt
from projects.models import Credential, Image, Job, Source
from projects.sources import reader
from tests.sources.conftest import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    azurite_connection_string,
    image_bytes,
)

BLOBS = {
    "cells/a.png": image_bytes(seed=1),
    "cells/sub/b.jpg": image_bytes("JPEG", seed=2),
    "cells/readme.txt": b"not an image",
    "other/c.png": image_bytes(seed=3),
}


@pytest.fixture
def container(azurite, settings):
    settings.ANNOTATOR_AZURE_ALLOW_CUSTOM_ENDPOINTS = True
    name = f"c{uuid.uuid4().hex[:12]}"
    service = BlobServiceClient.from_connection_string(azurite_connection_string(azurite))
    client = service.create_container(name)
    for blob, data in BLOBS.items():
        client.upload_blob(blob, data)
    yield client
    client.delete_container()


def _sas(container, expiry=None) -> str:
    return generate_container_sas(
        AZURITE_ACCOUNT,
        container.container_name,
        account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=expiry or datetime.now(UTC) + timedelta(hours=1),
    )


def _add_azure(client, project, **data):
    url = reverse("api:api-source-create-azure", kwargs={"project_id": project.pk})
    return client.post(url, data, format="json")


def _registered(response) -> tuple[Source, Job]:
    assert response.status_code == 201, response.content
    body = response.json()
    return Source.objects.get(pk=body["source"]["id"]), Job.objects.get(pk=body["job"]["id"])


def _location(azurite, container) -> dict:
    return {"account_url": azurite, "container": container.container_name, "prefix": "cells/"}


def _credential_modes(azurite, container) -> dict:
    return {
        "connection_string": {
            "kind": "connection_string",
            "secret": azurite_connection_string(azurite),
        },
        "account_key": {"kind": "account_key", "secret": AZURITE_KEY},
        "sas_token": {"kind": "sas_token", "secret": _sas(container)},
    }


@pytest.mark.parametrize("mode", ["connection_string", "account_key", "sas_token"])
def test_each_credential_kind_lists_and_reads_a_container(
    team, api_client, azurite, container, eager_tasks, mode
):
    credential = _credential_modes(azurite, container)[mode]
    response = _add_azure(
        api_client(team.owner),
        team.project,
        **_location(azurite, container),
        credential=credential,
    )
    source, job = _registered(response)
    assert job.status == Job.Status.DONE, job.message
    images = {image.path: image for image in Image.objects.filter(source=source)}
    assert set(images) == {"cells/a.png", "cells/sub/b.jpg"}
    assert images["cells/a.png"].size == len(BLOBS["cells/a.png"]) and images["cells/a.png"].etag
    assert reader.read_bytes(images["cells/sub/b.jpg"]) == BLOBS["cells/sub/b.jpg"]
    assert reader.load(images["cells/a.png"]).width == 40


def test_a_container_sas_url_is_enough(team, api_client, azurite, container, eager_tasks):
    sas_url = f"{azurite}/{container.container_name}?{_sas(container)}"
    source, job = _registered(
        _add_azure(api_client(team.owner), team.project, sas_url=sas_url, prefix="other/")
    )
    assert job.status == Job.Status.DONE, job.message
    assert source.credential.kind == Credential.Kind.SAS_TOKEN
    assert list(source.images.values_list("path", flat=True)) == ["other/c.png"]


def test_a_credential_from_a_server_environment_variable_works(
    team, api_client, azurite, container, eager_tasks, monkeypatch
):
    monkeypatch.setenv("CELLS_STORAGE", azurite_connection_string(azurite))
    source, job = _registered(
        _add_azure(
            api_client(team.owner),
            team.project,
            **_location(azurite, container),
            credential={"kind": "environment", "env_var": "CELLS_STORAGE"},
        )
    )
    assert job.status == Job.Status.DONE, job.message
    assert source.images.count() == 2
    assert source.credential.secret_encrypted == ""


def test_typed_credentials_are_encrypted_at_rest_and_never_returned(
    team, api_client, azurite, container, eager_tasks
):
    client = api_client(team.owner)
    response = _add_azure(
        client,
        team.project,
        **_location(azurite, container),
        credential={"kind": "account_key", "secret": AZURITE_KEY},
    )
    source, _ = _registered(response)
    assert AZURITE_KEY not in response.content.decode()
    assert response.json()["source"]["has_credential"] is True
    stored = source.credential.secret_encrypted
    assert AZURITE_KEY not in stored and decrypt(stored) == AZURITE_KEY
    for url in (
        reverse("api:api-source", kwargs={"source_id": source.pk}),
        reverse("api:api-sources", kwargs={"project_id": team.project.pk}),
        reverse("api:api-schema"),
    ):
        assert AZURITE_KEY not in client.get(url).content.decode()


def test_a_refused_credential_makes_the_source_unavailable_with_the_reason(
    team, api_client, azurite, container, eager_tasks
):
    wrong = "A" * 86 + "=="
    source, job = _registered(
        _add_azure(
            api_client(team.owner),
            team.project,
            **_location(azurite, container),
            credential={"kind": "account_key", "secret": wrong},
        )
    )
    source.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert not source.available and "refused the credential" in source.unavailable_reason


def test_an_expired_sas_is_reported_as_a_refused_credential(
    team, api_client, azurite, container, eager_tasks
):
    expired = _sas(container, expiry=datetime.now(UTC) - timedelta(hours=1))
    source, job = _registered(
        _add_azure(
            api_client(team.owner),
            team.project,
            **_location(azurite, container),
            credential={"kind": "sas_token", "secret": expired},
        )
    )
    source.refresh_from_db()
    assert job.status == Job.Status.FAILED and "refused the credential" in job.message


def test_a_deleted_blob_is_flagged_on_read_and_on_rescan(
    team, api_client, azurite, container, eager_tasks
):
    client = api_client(team.owner)
    source, _ = _registered(
        _add_azure(
            client,
            team.project,
            **_location(azurite, container),
            credential={"kind": "connection_string", "secret": azurite_connection_string(azurite)},
        )
    )
    container.delete_blob("cells/a.png")
    image = source.images.get(path="cells/a.png")
    with pytest.raises(reader.ImageUnavailable, match="gone"):
        reader.load(image)
    image.refresh_from_db()
    assert not image.available and image.checked_at
    assert reader.load(source.images.get(path="cells/sub/b.jpg")).width == 40

    container.upload_blob("cells/a.png", BLOBS["cells/a.png"])
    container.upload_blob("cells/new.png", image_bytes(seed=8))
    scan = client.post(reverse("api:api-source-scan", kwargs={"source_id": source.pk}))
    result = Job.objects.get(pk=scan.json()["id"]).result
    assert result["added"] == 1 and result["returned"] == 1, result
    image.refresh_from_db()
    assert image.available


def test_default_credential_fails_fast_with_a_clear_message_where_no_identity_exists(
    team, api_client, azurite, container, eager_tasks, monkeypatch, settings
):
    # Developer credentials only (environment, CLI...), so no managed-identity network probe.
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "dev")
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    settings.ANNOTATOR_AZURE_CREDENTIAL_TIMEOUT_S = 20
    source, job = _registered(
        _add_azure(
            api_client(team.owner),
            team.project,
            **_location(azurite, container),
            credential={"kind": "default"},
        )
    )
    source.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "No Azure identity is available on this server" in source.unavailable_reason
    assert "connection string, account key or SAS token" in job.message


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"account_url": "https://example.com", "container": "c"}, "not an Azure Blob Storage"),
        ({"account_url": "http://acct.blob.core.windows.net", "container": "c"}, "not an Azure"),
        ({"account_url": "https://acct.blob.core.windows.net", "container": ""}, "container"),
        ({"sas_url": "https://acct.blob.core.windows.net/c"}, "container SAS URL looks like"),
        ({"account_url": "not a url", "container": "c"}, "account URL"),
    ],
)
def test_an_azure_url_that_is_not_one_is_refused(team, api_client, data, expected):
    response = _add_azure(api_client(team.owner), team.project, **data)
    assert response.status_code == 400, response.content
    assert expected in response.json()["error"]["message"]
    assert not Source.objects.filter(kind=Source.Kind.AZURE_BLOB).exists()
    assert not Credential.objects.exists()
