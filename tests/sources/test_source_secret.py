"""An Azure source restored from a project archive asks for its secret (archives never carry
one); its owner enters it through the API or the Sources panel's form, it is stored encrypted,
the flag clears and a re-scan brings the images back. Against the Azurite emulator."""

# ruff: noqa: F811

import pytest
from cryptography.fernet import Fernet
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.crypto import decrypt, encrypt
from projects.models import Credential, Image, Job, Source

# `container` is test_azure's fixture, imported to be used here.
from tests.sources.test_azure import _location, _sas, container  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _restored_azure_source(team, api_client, azurite, container) -> Source:
    """An Azure source with a SAS token, scanned, then the project restored from its own
    archive: the source and its images are back, its secret is not."""
    owner = api_client(team.owner)
    created = owner.post(
        reverse("api:api-source-create-azure", kwargs={"project_id": team.project.pk}),
        {
            **_location(azurite, container),
            "credential": {"kind": "sas_token", "secret": _sas(container)},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert Job.objects.get(pk=created.json()["job"]["id"]).status == Job.Status.DONE
    url = reverse("api:project-archive", kwargs={"project_id": team.project.pk})
    archive = owner.get(url)
    data = b"".join(archive.streaming_content) if archive.streaming else archive.content
    restored = owner.post(url, {"file": SimpleUploadedFile("p.zip", data)}, format="multipart")
    assert restored.status_code == 200, restored.content
    source = Source.objects.get(project=team.project, kind=Source.Kind.AZURE_BLOB)
    assert not source.available and "has no secret on this server" in source.unavailable_reason
    assert source.credential.secret_encrypted == ""
    assert not Image.objects.filter(source=source, available=True).exists()
    return source


def _secret_url(source) -> str:
    return reverse("api:api-source-secret", kwargs={"source_id": source.pk})


def _form_url(source) -> str:
    return reverse("api:source-secret-form", kwargs={"source_id": source.pk})


def _browser(client, user):
    """The Django test client signed in as `user`, as the Sources panel's requests are."""
    client.force_login(user)
    return client


def test_the_owner_enters_the_secret_and_the_images_come_back(
    team, api_client, azurite, container, eager_tasks
):
    source = _restored_azure_source(team, api_client, azurite, container)
    token = _sas(container)
    response = api_client(team.owner).post(
        _secret_url(source), {"secret": f"?{token}"}, format="json"
    )
    assert response.status_code == 202, response.content
    assert token not in response.content.decode()
    body = response.json()
    assert body["source"]["available"] is True and body["source"]["unavailable_reason"] == ""
    assert Job.objects.get(pk=body["job"]["id"]).status == Job.Status.DONE
    source.refresh_from_db()
    credential = Credential.objects.get(pk=source.credential_id)
    assert credential.kind == Credential.Kind.SAS_TOKEN
    assert (
        token not in credential.secret_encrypted and decrypt(credential.secret_encrypted) == token
    )
    images = Image.objects.filter(source=source)
    assert images.count() == 2 and all(image.available for image in images)


def test_only_an_owner_may_enter_it_and_others_are_told_who_can(
    team, api_client, client, azurite, container, eager_tasks
):
    source = _restored_azure_source(team, api_client, azurite, container)
    for user in (team.annotator, team.viewer):
        refused = api_client(user).post(
            _secret_url(source), {"secret": "sv=1&sig=x"}, format="json"
        )
        assert refused.status_code == 403
        note = _browser(client, user).get(_form_url(source))
        assert note.status_code == 200
        text = note.content.decode()
        assert "an owner of the project can enter it" in text and "<form" not in text
        assert client.post(_form_url(source), {"secret": "sv=1&sig=x"}).status_code == 403
    assert api_client(team.outsider).post(_secret_url(source), {"secret": "x"}).status_code == 404
    form = _browser(client, team.owner).get(_form_url(source)).content.decode()
    assert "needs its secret" in form and 'name="secret"' in form and "<form" in form
    assert Credential.objects.get(pk=source.credential_id).secret_encrypted == ""


@pytest.mark.parametrize(
    "kind, secret, expected",
    [
        ("sas_token", "not-a-token", "A SAS token looks like sv="),
        ("connection_string", "garbage", "A connection string looks like"),
        ("account_key", "not base64 !", "An account key is the base64 text"),
        ("sas_token", "   ", "secret: This field may not be blank."),
        ("sas_token", "sig=" + "a" * 5000, "no more than 4000 characters"),
    ],
)
def test_a_secret_that_cannot_be_one_gets_a_clear_400_and_nothing_changes(
    team, api_client, azurite, container, eager_tasks, kind, secret, expected
):
    source = _restored_azure_source(team, api_client, azurite, container)
    response = api_client(team.owner).post(
        _secret_url(source), {"kind": kind, "secret": secret}, format="json"
    )
    assert response.status_code == 400, response.content
    assert expected in response.json()["error"]["message"]
    source.refresh_from_db()
    assert not source.available and source.credential.secret_encrypted == ""


def test_a_wrong_secret_is_saved_but_the_scan_says_azure_refused_it(
    team, api_client, azurite, container, eager_tasks
):
    source = _restored_azure_source(team, api_client, azurite, container)
    wrong = "sv=2024-01-01&sp=rl&sig=bm90LXRoZS1zaWduYXR1cmU%3D"
    response = api_client(team.owner).post(_secret_url(source), {"secret": wrong}, format="json")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"]["id"])
    source.refresh_from_db()
    assert job.status == Job.Status.FAILED and "refused the credential" in job.message
    assert not source.available and "refused the credential" in source.unavailable_reason


def test_the_form_saves_a_connection_string_and_asks_the_panel_to_refresh(
    team, api_client, client, azurite, container, eager_tasks
):
    from tests.sources.conftest import azurite_connection_string

    source = _restored_azure_source(team, api_client, azurite, container)
    response = _browser(client, team.owner).post(
        _form_url(source),
        {"kind": "connection_string", "secret": azurite_connection_string(azurite)},
    )
    assert response.status_code == 200
    assert "Secret saved" in response.content.decode()
    assert response["HX-Trigger"] == "sources-changed"
    source.refresh_from_db()
    assert source.available and source.credential.kind == Credential.Kind.CONNECTION_STRING
    assert client.get(_form_url(source)).content.decode().strip() == ""


def test_a_secret_this_server_can_no_longer_decrypt_is_asked_for_too(
    team, api_client, client, azurite, container, eager_tasks, settings
):
    source = _restored_azure_source(team, api_client, azurite, container)
    credential = source.credential
    credential.secret_encrypted = encrypt("sv=1&sig=old")
    credential.save()
    owner = _browser(client, team.owner)
    assert "needs its secret" not in owner.get(_form_url(source)).content.decode()
    settings.ANNOTATOR_CREDENTIALS_KEY = Fernet.generate_key().decode()  # the key changed
    assert "needs its secret" in owner.get(_form_url(source)).content.decode()


def test_a_source_that_is_not_azure_takes_no_secret(team, api_client, pool):
    upload_source, _ = pool
    response = api_client(team.owner).post(
        _secret_url(upload_source), {"secret": "sv=1&sig=x"}, format="json"
    )
    assert response.status_code == 400
    assert "Only an Azure Blob Storage source takes a secret" in response.json()["error"]["message"]
