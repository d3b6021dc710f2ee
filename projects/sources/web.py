"""URL sources: http(s) only, refusing internal addresses, with size, time and type limits.

Each hop of a fetch looks its host up once, checks every address of that answer and connects
to one of them, sending the original host name in the Host header and as the TLS server
name. A name that answers differently to a second lookup (DNS rebinding) therefore cannot
lead a fetch to an address that was never checked.
"""

import encodings.idna
import http.client
import ipaddress
import socket
import ssl
import urllib.error
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

USER_AGENT = "annotator/0.1 (image source)"
# Cloud metadata endpoints that are not in a private range everywhere.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
MAX_REDIRECTS = 5
REDIRECT_CODES = {301, 302, 303, 307, 308}
# Characters left as they are in the request target: reserved ones and existing escapes.
TARGET_SAFE = "/%:@!$&'()*+,;=?~[]"


class RefusedURL(Exception):
    """The URL may not be fetched by this server; the message says why."""


class Unreachable(RefusedURL, urllib.error.URLError):
    """The network failed a fetch (no such host, refused, timed out, TLS): the message is a
    sentence for a person, naming the host and what to do. Callers that show RefusedURL's
    text show it as it is; callers that catch URLError still catch it."""

    def __init__(self, sentence: str) -> None:
        urllib.error.URLError.__init__(self, sentence)

    def __str__(self) -> str:
        return str(self.reason)


# Library text kept in a sentence is cut here: a person reads a reason, not a paragraph.
DETAIL_CHARS = 160


def network_problem(error: BaseException, host: str, port: int | None = None) -> str:
    """What a network failure means for a person, naming the host: no such host, refused,
    timed out or a TLS failure, each with what to do; anything else as one bounded line."""
    where = f"{host} port {port}" if port else host
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            return f"The host {host} could not be found. Check the address."
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = bounded_detail(cause.verify_message or cause.reason or cause)
            return (
                f"The secure connection to {host} failed: its certificate could not be verified "
                f"({reason}). Check the address, or ask the server's owner to fix the certificate."
            )
        if isinstance(cause, ssl.SSLError):
            reason = bounded_detail(cause.reason or cause)
            return (
                f"The secure connection to {where} failed ({reason}). Check that the address "
                "is right and that the server speaks https."
            )
        if isinstance(cause, ConnectionRefusedError):
            extra = f" ({bounded_detail(cause)})" if cause.errno is None and str(cause) else ""
            return (
                f"{where} refused the connection{extra}. Check the address and that the server "
                "is running."
            )
        if isinstance(cause, TimeoutError | socket.timeout):
            return (
                f"{host} cannot be reached: it timed out without answering. Check that the "
                "server is up, or try again later."
            )
        if isinstance(cause, ConnectionResetError | http.client.RemoteDisconnected):
            return f"{where} closed the connection before answering. Try again later."
        if isinstance(cause, http.client.HTTPException):
            return f"{where} did not answer in HTTP ({type(cause).__name__}). Check the address."
    reason = bounded_detail(error)
    return f"{where} cannot be reached ({reason}). Check the address, or try again later."


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it wraps: the chain of causes, reasons and inner exceptions."""
    found: list[BaseException] = []
    todo: list[object] = [error]
    while todo and len(found) < 20:
        item = todo.pop(0)
        if not isinstance(item, BaseException) or any(item is seen for seen in found):
            continue
        found.append(item)
        todo += [getattr(item, name, None) for name in ("reason", "inner_exception")]
        todo += [item.__cause__, item.__context__, *item.args]
    return found


def bounded_detail(error: object) -> str:
    """The first line of an error's text, without its full stop, cut to DETAIL_CHARS."""
    lines = str(error).strip().splitlines()
    text = (lines[0] if lines else type(error).__name__).strip().rstrip(".")
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def url_parse_list(text_or_urls: str | list[str]) -> list[str]:
    """One URL, many, or a pasted list (one per line, or separated by spaces or commas)."""
    if isinstance(text_or_urls, str):
        items = text_or_urls.replace(",", " ").split()
    else:
        items = [item.strip() for item in text_or_urls if item and item.strip()]
    unique = list(dict.fromkeys(items))
    errors = []
    for url in unique:
        try:
            url_check_syntax(url)
        except RefusedURL as error:
            errors.append(str(error))
    if not unique:
        raise ValidationError({"urls": "Give at least one http(s) URL."})
    if errors:
        raise ValidationError({"urls": errors})
    return unique


def url_check_syntax(url: str) -> None:
    _parse(url)


@dataclass(frozen=True)
class _Parsed:
    secure: bool
    host: str  # as DNS and the Host header carry it: IDNA for a non-ASCII name
    port: int
    target: str


def _parse(url: str) -> _Parsed:
    """The parts of a URL this server fetches, or RefusedURL saying what is wrong with it."""
    if any(ord(char) < 32 or ord(char) == 127 for char in url):
        raise RefusedURL(f"{url!r} contains control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedURL(f"{url!r} is not a valid URL: {error}.") from None
    if parts.scheme not in {"http", "https"}:
        raise RefusedURL(f"{url!r}: only http and https URLs are accepted.")
    if not parts.hostname:
        raise RefusedURL(f"{url!r} names no host.")
    if parts.username or parts.password:
        raise RefusedURL(f"{url!r}: put credentials in a credential, not in the URL.")
    secure = parts.scheme == "https"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Parsed(
        secure=secure,
        host=_host_ascii(url, parts.hostname),
        port=port or (443 if secure else 80),
        target=quote(target, safe=TARGET_SAFE),
    )


def _host_ascii(url: str, host: str) -> str:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    problem, encoded = _host_name_problem(host)
    if problem:
        raise RefusedURL(f"{url!r}: the host name {host!r} is not valid: {problem}.")
    return encoded


def _host_name_problem(host: str) -> tuple[str, str]:
    """What makes `host` unusable as a DNS name ("" if nothing), and its ASCII form."""
    name = host.removesuffix(".")
    labels = []
    for label in name.split("."):
        try:
            prepared = label if label.isascii() else encodings.idna.nameprep(label)
        except UnicodeError:
            return f"the label {label!r} has characters a host name cannot have", ""
        if not prepared:
            return "a label is empty (two dots in a row, or a dot at the start)", ""
        if not prepared.isascii():
            prepared = "xn--" + prepared.encode("punycode").decode("ascii")
        if len(prepared) > 63:
            return "a label is longer than 63 characters", ""
        labels.append(prepared)
    encoded = ".".join(labels)
    if len(encoded) > 253:
        return "it is longer than 253 characters", ""
    return "", encoded


def url_check_host(url: str) -> None:
    """Refuse a URL whose host resolves to an address the server must not reach."""
    if not settings.ANNOTATOR_URL_ALLOW_PRIVATE:
        _addresses(url, _parse(url).host)


def _addresses(url: str, host: str) -> list[str]:
    """The addresses of `host` from one lookup, each of them allowed."""
    try:
        found = [str(ipaddress.ip_address(host))]
    except ValueError:
        found = _lookup(host)
    if settings.ANNOTATOR_URL_ALLOW_PRIVATE:
        return found
    for address in found:
        if _is_internal(ipaddress.ip_address(address.split("%")[0])):
            raise RefusedURL(
                f"{url!r} leads to the internal address {address}; this server does not fetch "
                "loopback, private, link-local or metadata addresses."
            )
    return found


def _lookup(host: str) -> list[str]:
    try:
        found = _resolve(host)
    except OSError:
        found = []
    if not found:
        raise RefusedURL(f"The host {host} could not be found. Check the address.")
    return found


def _resolve(host: str) -> list[str]:
    """Every address `host` has now: the one name lookup of this module."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_internal(address) -> bool:
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return (
        address in METADATA_ADDRESSES
        or address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (address.version == 4 and address in ipaddress.ip_network("100.64.0.0/10"))
    )


@dataclass(frozen=True)
class _Hop:
    """One request of a fetch: the host as named, and the checked addresses it may reach."""

    parsed: _Parsed
    addresses: list[str]

    @classmethod
    def checked(cls, url: str) -> "_Hop":
        parsed = _parse(url)
        return cls(parsed=parsed, addresses=_addresses(url, parsed.host))


def _connect(addresses: list[str], port: int, timeout: float | None) -> socket.socket:
    """A connection to the first checked address that answers; literals only, no lookup."""
    failure: OSError = OSError("no address to connect to")
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((address, port))
            return sock
        except OSError as error:
            sock.close()
            failure = error
    raise failure


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, hop: _Hop, timeout: float) -> None:
        super().__init__(hop.parsed.host, hop.parsed.port, timeout=timeout)
        self.hop = hop

    def connect(self) -> None:
        self.sock = _connect(self.hop.addresses, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, hop: _Hop, timeout: float) -> None:
        # Made per connection, so the system's trust store is read as it is now.
        self.tls = ssl.create_default_context()
        super().__init__(hop.parsed.host, hop.parsed.port, timeout=timeout, context=self.tls)
        self.hop = hop

    def connect(self) -> None:
        sock = _connect(self.hop.addresses, self.port, self.timeout)
        try:
            self.sock = self.tls.wrap_socket(sock, server_hostname=self.hop.parsed.host)
        except BaseException:
            sock.close()
            raise


def _send(hop: _Hop, method: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    timeout = settings.ANNOTATOR_URL_TIMEOUT_S
    kind = _PinnedHTTPSConnection if hop.parsed.secure else _PinnedHTTPConnection
    connection = kind(hop, timeout)
    try:
        connection.request(method, hop.parsed.target, headers={**headers, "Connection": "close"})
        return connection.getresponse()
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        default_port = 443 if hop.parsed.secure else 80
        port = hop.parsed.port if hop.parsed.port != default_port else None
        raise Unreachable(network_problem(error, hop.parsed.host, port)) from None


def _open(url: str, method: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    """The final answer for `url`, each redirect hop checked and pinned like the first.

    Raises RefusedURL, urllib.error.HTTPError for an error status and URLError for what the
    network does wrong, as urllib would.
    """
    headers = {"User-Agent": USER_AGENT, **headers}
    for hop_number in range(MAX_REDIRECTS + 1):
        try:
            hop = _Hop.checked(url)
        except RefusedURL as error:
            if hop_number == 0:
                raise
            raise RefusedURL(f"redirect refused: {error}") from None
        response = _send(hop, method, headers)
        location = response.headers.get("Location")
        if response.status in REDIRECT_CODES and location:
            response.close()
            url = urljoin(url, location)
            continue
        if not 200 <= response.status < 300:
            response.close()
            raise urllib.error.HTTPError(
                url, response.status, response.reason, response.headers, None
            )
        return response
    raise Unreachable(
        f"{url!r} redirects more than {MAX_REDIRECTS} times; give the address it ends at."
    )


def url_fetch(url: str) -> tuple[bytes, str]:
    """The bytes behind an image URL and its ETag (or Last-Modified).

    Raises RefusedURL for an address the server may not reach and OSError subclasses
    (urllib.error.URLError, TimeoutError) for everything the network can do wrong.
    """
    limit = settings.ANNOTATOR_URL_MAX_MB * 1024 * 1024
    with _open(url, "GET", {"Accept": "image/*"}) as response:
        kind = response.headers.get_content_type()
        if not (kind.startswith("image/") or kind == "application/octet-stream"):
            raise RefusedURL(f"{url!r} answered with {kind}, not an image.")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise RefusedURL(f"{url!r} is larger than {settings.ANNOTATOR_URL_MAX_MB} MB.")
        try:
            data = response.read(limit + 1)
        except (OSError, http.client.HTTPException) as error:
            host = urlsplit(url).hostname or url
            raise Unreachable(network_problem(error, host)) from None
        if len(data) > limit:
            raise RefusedURL(f"{url!r} is larger than {settings.ANNOTATOR_URL_MAX_MB} MB.")
        etag = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
    return data, etag


def url_head(url: str) -> tuple[int | None, str]:
    """Size and ETag of an image URL, for a re-scan; raises like url_fetch."""
    with _open(url, "HEAD", {}) as response:
        declared = response.headers.get("Content-Length")
        etag = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
    return (int(declared) if declared and declared.isdigit() else None), etag
