"""URL sources, against a real HTTP server on 127.0.0.1."""

import pytest
from django.urls import reverse

from projects.models import Image, Job, Source
from projects.sources import reader
from projects.sources.cache import cache_size
from tests.sources.conftest import image_bytes


def _add_urls(client, project, urls, **extra):
    url = reverse("api:api-source-create-urls", kwargs={"project_id": project.pk})
    return client.post(url, {"urls": urls, **extra}, format="json")


def test_a_pasted_list_of_urls_registers_each_without_fetching(team, api_client, web):
    pasted = f"{web.url('/a.png')}\n{web.url('/b.jpg')}, {web.url('/a.png')}"
    response = _add_urls(api_client(team.annotator), team.project, pasted)
    assert response.status_code == 201, response.content
    source = Source.objects.get(pk=response.json()["source"]["id"])
    assert source.kind == Source.Kind.URL and source.name == "2 URLs"
    paths = set(Image.objects.filter(source=source).values_list("path", flat=True))
    assert paths == {web.url("/a.png"), web.url("/b.jpg")}
    assert web.hits == []


def test_an_image_url_is_read_once_and_then_served_from_the_cache(team, api_client, web):
    web.routes["/a.png"] = (200, "image/png", image_bytes(seed=1))
    _add_urls(api_client(team.annotator), team.project, [web.url("/a.png")])
    image = Image.objects.get(path=web.url("/a.png"))
    first = reader.load(image)
    second = reader.load(image)
    assert first.key == second.key and (first.width, first.height) == (40, 30)
    assert web.hits == [("GET", "/a.png")]
    assert cache_size() > 0


def test_the_cache_stays_within_its_size_limit(team, api_client, web, settings):
    settings.ANNOTATOR_SOURCE_CACHE_MB = 1
    urls = []
    for n in range(4):
        web.routes[f"/{n}.bmp"] = (200, "image/bmp", image_bytes("BMP", size=(400, 300), seed=n))
        urls.append(web.url(f"/{n}.bmp"))
    _add_urls(api_client(team.annotator), team.project, urls)
    for image in Image.objects.filter(project=team.project):
        reader.load(image)
    assert 0 < cache_size() <= 1024 * 1024


@pytest.mark.parametrize(
    "route, expected",
    [
        ((404, "text/plain", b"no"), "answered 404"),
        ((200, "text/html", b"<html></html>"), "not an image"),
        ((200, "image/png", b"not really a png"), "not a readable image"),
    ],
)
def test_an_unreadable_url_flags_the_image_unavailable_with_the_reason(
    team, api_client, web, route, expected
):
    web.routes["/x.png"] = route
    web.routes["/ok.png"] = (200, "image/png", image_bytes())
    _add_urls(api_client(team.annotator), team.project, [web.url("/x.png"), web.url("/ok.png")])
    bad = Image.objects.get(path=web.url("/x.png"))
    with pytest.raises((reader.ImageUnavailable, reader.ImageInvalid), match=expected):
        reader.load(bad)
    bad.refresh_from_db()
    assert not bad.available and expected in bad.unavailable_reason and bad.checked_at
    reader.load(Image.objects.get(path=web.url("/ok.png")))


def test_an_oversized_remote_image_is_refused(team, api_client, web, settings):
    settings.ANNOTATOR_URL_MAX_MB = 1
    web.routes["/big.bmp"] = (200, "image/bmp", image_bytes("BMP", size=(700, 700)))
    _add_urls(api_client(team.annotator), team.project, [web.url("/big.bmp")])
    with pytest.raises(reader.ImageUnavailable, match="larger than 1 MB"):
        reader.load(Image.objects.get(path=web.url("/big.bmp")))


def test_every_redirect_hop_passes_the_same_url_checks(team, api_client, web):
    web.routes["/a.png"] = (200, "image/png", image_bytes(seed=1))
    web.routes["/hop.png"] = (302, "", web.url("/a.png").encode())
    web.routes["/sneaky.png"] = (302, "", web.url("/a.png").replace("//", "//u:p@").encode())
    _add_urls(
        api_client(team.annotator), team.project, [web.url("/hop.png"), web.url("/sneaky.png")]
    )
    assert reader.load(Image.objects.get(path=web.url("/hop.png"))).width == 40
    with pytest.raises(reader.ImageUnavailable, match="redirect refused.*credentials"):
        reader.load(Image.objects.get(path=web.url("/sneaky.png")))


@pytest.mark.parametrize(
    "urls, expected",
    [
        ("http://127.0.0.1:9/a.png", "internal address 127.0.0.1"),
        ("http://10.1.2.3/a.png", "internal address"),
        ("http://169.254.169.254/latest/meta-data", "internal address"),
        ("http://[::1]/a.png", "internal address"),
        ("http://localhost/a.png", "internal address"),
        ("ftp://example.org/a.png", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("https://user:pw@example.org/a.png", "credentials"),
        ("", "at least one"),
    ],
)
def test_urls_to_refused_addresses_get_a_clear_400_and_nothing_is_saved(
    team, api_client, settings, urls, expected
):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = False
    response = _add_urls(api_client(team.annotator), team.project, urls)
    assert response.status_code == 400, response.content
    assert expected in response.json()["error"]["message"]
    assert not Source.objects.filter(kind=Source.Kind.URL).exists()


def test_a_rescan_flags_a_url_that_now_answers_404_and_restores_it_later(
    team, api_client, web, eager_tasks
):
    web.routes["/a.png"] = (200, "image/png", image_bytes(seed=1))
    client = api_client(team.annotator)
    source_id = _add_urls(client, team.project, [web.url("/a.png")]).json()["source"]["id"]
    del web.routes["/a.png"]
    scan = client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id}))
    assert Job.objects.get(pk=scan.json()["id"]).result["unreadable"] == 1
    image = Image.objects.get(source_id=source_id)
    assert not image.available and "404" in image.unavailable_reason

    web.routes["/a.png"] = (200, "image/png", image_bytes(seed=1))
    client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id}))
    image.refresh_from_db()
    assert image.available


def test_a_server_that_does_not_answer_in_time_is_reported(team, api_client, web, settings):
    settings.ANNOTATOR_URL_TIMEOUT_S = 1
    web.routes["/slow.png"] = (2, "slow", image_bytes())
    _add_urls(api_client(team.annotator), team.project, [web.url("/slow.png")])
    image = Image.objects.get(path=web.url("/slow.png"))
    with pytest.raises(reader.ImageUnavailable, match="cannot be reached.*timed out"):
        reader.load(image)
    image.refresh_from_db()
    assert not image.available and "timed out" in image.unavailable_reason
