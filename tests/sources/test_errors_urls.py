"""What a person reads when a URL source cannot be fetched: a sentence naming the host and
what to do, never the socket library's text. Real servers and closed ports on 127.0.0.1."""

import socket

import pytest
from django.urls import reverse

from projects.models import Image, Source
from tests.conftest import free_port
from tests.sources.conftest import image_bytes

LIBRARY_TEXT = ("Errno", "urlopen error", "HTTPSConnection", "HTTPConnection", "Traceback")


def _add_urls(client, project, urls):
    url = reverse("api:api-source-create-urls", kwargs={"project_id": project.pk})
    return client.post(url, {"urls": urls}, format="json")


def _thumbnail_error(client, url: str) -> str:
    """Register `url` as a source and open its thumbnail, as the pool page does; the error
    message the page shows."""
    image = Image.objects.get(path=url)
    response = client.get(reverse("api:api-image-thumbnail", kwargs={"image_id": image.pk}))
    assert response.status_code == 409, response.content
    message = response.json()["error"]["message"]
    assert not any(text in message for text in LIBRARY_TEXT), message
    image.refresh_from_db()
    assert not image.available and image.unavailable_reason == message
    return message


def test_an_unknown_host_is_refused_when_added_with_what_to_do(team, api_client):
    response = _add_urls(api_client(team.annotator), team.project, ["http://example.invalid/a.png"])
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert "The host example.invalid could not be found. Check the address." in message
    assert "Errno" not in message and "Name or service" not in message
    assert not Source.objects.filter(kind=Source.Kind.URL).exists()


def test_an_unknown_host_met_when_reading_says_so(team, api_client, settings):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True  # registered without a lookup
    client = api_client(team.annotator)
    url = "http://example.invalid/a.png"
    assert _add_urls(client, team.project, [url]).status_code == 201
    message = _thumbnail_error(client, url)
    assert message == "The host example.invalid could not be found. Check the address."


def test_a_refused_connection_names_the_host_and_port(team, api_client, settings):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    client = api_client(team.annotator)
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/a.png"
    assert _add_urls(client, team.project, [url]).status_code == 201
    message = _thumbnail_error(client, url)
    assert message == (
        f"127.0.0.1 port {port} refused the connection. Check the address and that the server "
        "is running."
    )


def test_https_to_a_server_that_speaks_plain_http_is_a_tls_failure(team, api_client, web):
    web.routes["/a.png"] = (200, "image/png", image_bytes())
    client = api_client(team.annotator)
    url = web.url("/a.png").replace("http://", "https://")
    assert _add_urls(client, team.project, [url]).status_code == 201
    message = _thumbnail_error(client, url)
    port = url.split(":")[2].split("/")[0]
    assert message.startswith(f"The secure connection to 127.0.0.1 port {port} failed (")
    assert message.endswith("Check that the address is right and that the server speaks https.")


def test_a_server_that_accepts_but_never_answers_timed_out(team, api_client, settings):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    settings.ANNOTATOR_URL_TIMEOUT_S = 1
    with socket.socket() as silent:  # accepts connections (the backlog) and says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/a.png"
        client = api_client(team.annotator)
        assert _add_urls(client, team.project, [url]).status_code == 201
        message = _thumbnail_error(client, url)
    assert message == (
        "127.0.0.1 cannot be reached: it timed out without answering. Check that the server is "
        "up, or try again later."
    )


@pytest.mark.django_db(transaction=True)
def test_a_rescan_records_the_same_sentence_for_each_image(team, api_client, settings, eager_tasks):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    port = free_port()
    url = f"http://127.0.0.1:{port}/a.png"
    client = api_client(team.annotator)
    response = _add_urls(client, team.project, [url])
    source_id = response.json()["source"]["id"]
    scan = client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id}))
    assert scan.status_code == 202, scan.content
    image = Image.objects.get(path=url)
    assert not image.available
    assert image.unavailable_reason == (
        f"127.0.0.1 port {port} refused the connection. Check the address and that the server "
        "is running."
    )
