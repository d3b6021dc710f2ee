"""URL sources, against real HTTP(S) servers on 127.0.0.1."""

import datetime
import socket
import ssl
import sys
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.urls import reverse

from projects.models import Image, Job, Source
from projects.sources import reader
from projects.sources.cache import cache_size
from projects.sources.web import RefusedURL, url_fetch, url_head
from tests.sources.conftest import image_bytes

# A public address (example.com's). Nothing here can reach it; connections to it are stopped
# by the `connects` fixture before they leave the machine.
PUBLIC = "93.184.215.14"


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


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize(
    "urls, expected",
    [
        (
            f"http://{'a' * 64}.example.org/a.png",
            f"the host name '{'a' * 64}.example.org' is not valid: a label is longer than 63",
        ),
        ("http://images..example.org/a.png", "is not valid: a label is empty"),
        ("http://.example.org/a.png", "is not valid: a label is empty"),
        (f"http://{'a.' * 127}org/a.png", "is not valid: it is longer than 253 characters"),
        ("http://[::1/a.png", "is not a valid URL: Invalid IPv6 URL"),
        ("http://example.org:99999/a.png", "is not a valid URL: Port out of range"),
        (["http://example.org/a\x01.png"], "contains control characters"),
    ],
)
def test_a_malformed_host_or_url_gets_a_clear_400_whatever_the_address_rules(
    team, api_client, settings, allow_private, urls, expected
):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = allow_private
    response = _add_urls(api_client(team.annotator), team.project, urls)
    assert response.status_code == 400, response.content
    assert expected in response.json()["error"]["message"]
    assert not Source.objects.filter(kind=Source.Kind.URL).exists()


def test_a_stored_url_with_a_malformed_host_is_unavailable_when_read(team, settings):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    url = f"http://{'a' * 64}.example.org/a.png"
    source = Source.objects.create(
        project=team.project, kind=Source.Kind.URL, name="old", location={"urls": [url]}
    )
    image = Image.objects.create(project=team.project, source=source, path=url)
    with pytest.raises(reader.ImageUnavailable, match="a label is longer than 63 characters"):
        reader.load(image)


class Resolver:
    """Name lookups as a DNS server would answer them: a list of answers per name, one per
    lookup, the last one repeating."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = self.answers[host]
        return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    """The one part of these tests that is not real: the name lookup.

    DNS rebinding needs a DNS server that answers one address for a name, then another. A
    real one that changes its answers cannot run here: there is no network, and the system
    resolver cannot be pointed at a local DNS server without root changes to the machine.
    So `web._resolve`, the one function through which fetches look names up, answers from
    this table; the address checks, the connections, TLS and the HTTP servers are real.
    """
    fake = Resolver()
    monkeypatch.setattr("projects.sources.web._resolve", fake)
    return fake


class ConnectWatch:
    def __init__(self) -> None:
        self.addresses: list[tuple[str, int]] = []

    def seen(self, address) -> None:
        if not isinstance(address, tuple):
            return
        self.addresses.append((address[0], address[1]))
        if address[0] == PUBLIC:
            raise ConnectionRefusedError(f"{PUBLIC} cannot be reached from this machine")

    def to_port(self, port: int) -> list[str]:
        return [host for host, seen_port in self.addresses if seen_port == port]


_watches: list[ConnectWatch] = []


def _audit(event: str, args: tuple) -> None:
    if event == "socket.connect" and _watches:
        _watches[-1].seen(args[1])


# Audit hooks cannot be removed; this one does nothing while no test watches.
sys.addaudithook(_audit)


@pytest.fixture
def connects():
    """Every TCP connection made during the test, seen through Python's own `socket.connect`
    audit event. One to PUBLIC is stopped there: this machine has no network, and refusing
    at once keeps the test from waiting on however the machine fails it."""
    watch = ConnectWatch()
    _watches.append(watch)
    yield watch
    _watches.remove(watch)


class RecordingServer:
    """A real HTTP or HTTPS server on 127.0.0.1 that answers an image to every path and
    notes each request with its Host header, and each TLS server name it is asked for."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, str, str | None]] = []
        self.server_names: list[str | None] = []
        state, body = self, image_bytes(seed=5)

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, with_body: bool) -> None:
                state.requests.append((self.command, self.path, self.headers.get("Host")))
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            tls.sni_callback = lambda sock, name, context: self.server_names.append(name)
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,))
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(settings):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    running = RecordingServer()
    yield running
    running.stop()


def _certificate(subject: x509.Name, issuer: x509.Name, key, signer, *, ca: bool, names=()):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        dns = [x509.DNSName(name) for name in names]
        builder = builder.add_extension(x509.SubjectAlternativeName(dns), critical=False)
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture
def tls_server(tmp_path, settings, monkeypatch):
    """An HTTPS server on 127.0.0.1 whose certificate, from a CA of the test's own, names
    images.test only; the system trust store is pointed at that CA (SSL_CERT_FILE)."""
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = True
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "images.test")])
    ca = _certificate(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf = _certificate(leaf_name, ca_name, key, ca_key, ca=False, names=["images.test"])
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "key.pem")
    running = RecordingServer(tls=context)
    yield running
    running.stop()


@pytest.mark.parametrize("read", [url_fetch, url_head], ids=["fetch", "re-scan"])
def test_a_name_that_rebinds_to_loopback_is_only_connected_at_its_checked_address(
    web, settings, resolver, connects, read
):
    """DNS rebinding: the name answers a public address, then 127.0.0.1, where a server
    listens. The fetch looks the name up once and connects to the address it checked, so the
    loopback server never sees a request. The resolver is the one part that is not real
    (see the `resolver` fixture: no DNS server that changes its answers can run here)."""
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = False
    web.routes["/a.png"] = (200, "image/png", image_bytes())
    port = int(web.base.rsplit(":", 1)[1])
    resolver.answers["rebind.test"] = [[PUBLIC], ["127.0.0.1"]]
    with pytest.raises(urllib.error.URLError, match="cannot be reached from this machine"):
        read(f"http://rebind.test:{port}/a.png")
    assert resolver.lookups == ["rebind.test"]
    assert connects.to_port(port) == [PUBLIC]
    assert web.hits == []


def test_a_name_that_answers_internal_when_read_is_refused_though_it_was_public_when_added(
    team, api_client, web, settings, resolver, connects
):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = False
    web.routes["/a.png"] = (200, "image/png", image_bytes())
    port = int(web.base.rsplit(":", 1)[1])
    url = f"http://rebind.test:{port}/a.png"
    resolver.answers["rebind.test"] = [[PUBLIC], ["127.0.0.1"]]
    assert _add_urls(api_client(team.annotator), team.project, [url]).status_code == 201
    with pytest.raises(reader.ImageUnavailable, match="internal address 127.0.0.1"):
        reader.load(Image.objects.get(path=url))
    assert resolver.lookups == ["rebind.test", "rebind.test"]
    assert connects.to_port(port) == [] and web.hits == []


def test_a_name_that_resolves_internal_is_refused_when_added(team, api_client, settings, resolver):
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = False
    resolver.answers["inside.test"] = [["10.0.0.7"]]
    response = _add_urls(api_client(team.annotator), team.project, "http://inside.test/a.png")
    assert response.status_code == 400
    assert "internal address 10.0.0.7" in response.json()["error"]["message"]


def test_a_pinned_fetch_reaches_the_resolved_address_with_the_original_host_header(
    team, api_client, server, resolver, connects
):
    """The second answer would be unreachable: only the first lookup's address is used."""
    resolver.answers["images.test"] = [["127.0.0.1"], [PUBLIC]]
    url = f"http://images.test:{server.port}/cells/a.png"
    _add_urls(api_client(team.annotator), team.project, [url])
    assert reader.load(Image.objects.get(path=url)).width == 40
    assert server.requests == [("GET", "/cells/a.png", f"images.test:{server.port}")]
    assert connects.to_port(server.port) == ["127.0.0.1"]
    assert resolver.lookups == ["images.test"]


def test_a_rescan_asks_the_resolved_address_with_the_original_host_header(
    team, api_client, server, resolver, eager_tasks
):
    resolver.answers["images.test"] = [["127.0.0.1"]]
    client = api_client(team.annotator)
    url = f"http://images.test:{server.port}/a.png"
    source_id = _add_urls(client, team.project, [url]).json()["source"]["id"]
    scan = client.post(reverse("api:api-source-scan", kwargs={"source_id": source_id}))
    assert Job.objects.get(pk=scan.json()["id"]).result["unreadable"] == 0
    assert server.requests == [("HEAD", "/a.png", f"images.test:{server.port}")]


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_original_name(
    tls_server, resolver
):
    resolver.answers["images.test"] = [["127.0.0.1"]]
    resolver.answers["other.test"] = [["127.0.0.1"]]
    data, _ = url_fetch(f"https://images.test:{tls_server.port}/a.png")
    assert data == image_bytes(seed=5)
    assert tls_server.server_names == ["images.test"]
    assert tls_server.requests == [("GET", "/a.png", f"images.test:{tls_server.port}")]
    with pytest.raises(urllib.error.URLError, match="not valid for 'other.test'"):
        url_fetch(f"https://other.test:{tls_server.port}/a.png")
    assert len(tls_server.requests) == 1


def test_a_redirect_to_a_name_that_resolves_internal_is_refused(
    web, settings, resolver, connects, monkeypatch
):
    """The first server has to run on this machine, so the check lets 127.0.0.1 through in
    this test only; the redirect's name resolves to 10.0.0.7, which the real check refuses."""
    from projects.sources import web as web_module

    real_check = web_module._is_internal
    monkeypatch.setattr(
        web_module,
        "_is_internal",
        lambda address: str(address) != "127.0.0.1" and real_check(address),
    )
    settings.ANNOTATOR_URL_ALLOW_PRIVATE = False
    port = int(web.base.rsplit(":", 1)[1])
    resolver.answers["images.test"] = [["127.0.0.1"]]
    resolver.answers["inside.test"] = [["10.0.0.7"]]
    web.routes["/a.png"] = (200, "image/png", image_bytes())
    web.routes["/hop.png"] = (302, "", f"http://inside.test:{port}/a.png".encode())
    web.routes["/ok.png"] = (302, "", f"http://images.test:{port}/a.png".encode())
    assert url_fetch(f"http://images.test:{port}/ok.png")[0] == image_bytes()
    with pytest.raises(RefusedURL, match="redirect refused.*internal address 10.0.0.7"):
        url_fetch(f"http://images.test:{port}/hop.png")
    assert resolver.lookups == ["images.test", "images.test", "images.test", "inside.test"]
    assert set(connects.to_port(port)) == {"127.0.0.1"}
    assert web.hits == [("GET", "/ok.png"), ("GET", "/a.png"), ("GET", "/hop.png")]


def test_more_than_five_redirects_are_not_followed(team, api_client, web):
    web.routes["/loop.png"] = (302, "", web.url("/loop.png").encode())
    _add_urls(api_client(team.annotator), team.project, [web.url("/loop.png")])
    with pytest.raises(reader.ImageUnavailable, match="redirects more than 5 times"):
        reader.load(Image.objects.get(path=web.url("/loop.png")))
    assert len(web.hits) == 6
