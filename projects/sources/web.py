"""URL sources: http(s) only, refusing internal addresses, with size, time and type limits."""

import ipaddress
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

USER_AGENT = "annotator/0.1 (image source)"
# Cloud metadata endpoints that are not in a private range everywhere.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}


class RefusedURL(Exception):
    """The URL may not be fetched by this server; the message says why."""


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
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise RefusedURL(f"{url!r}: only http and https URLs are accepted.")
    if not parts.hostname:
        raise RefusedURL(f"{url!r} names no host.")
    if parts.username or parts.password:
        raise RefusedURL(f"{url!r}: put credentials in a credential, not in the URL.")


def url_check_host(url: str) -> None:
    """Refuse a URL whose host resolves to an address the server must not reach."""
    if settings.ANNOTATOR_URL_ALLOW_PRIVATE:
        return
    host = urlsplit(url).hostname or ""
    for address in _addresses(host):
        if _is_internal(address):
            raise RefusedURL(
                f"{url!r} leads to the internal address {address}; this server does not fetch "
                "loopback, private, link-local or metadata addresses."
            )


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise RefusedURL(f"The host {host!r} cannot be found.") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


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


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Every hop of a redirect passes the same address check as the first URL."""

    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            url_check_syntax(newurl)
            url_check_host(newurl)
        except RefusedURL as error:
            raise urllib.error.URLError(f"redirect refused: {error}") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_opener = urllib.request.build_opener(_CheckedRedirects)


def url_fetch(url: str) -> tuple[bytes, str]:
    """The bytes behind an image URL and its ETag (or Last-Modified).

    Raises RefusedURL for an address the server may not reach and OSError subclasses
    (urllib.error.URLError, TimeoutError) for everything the network can do wrong.
    """
    url_check_syntax(url)
    url_check_host(url)
    limit = settings.ANNOTATOR_URL_MAX_MB * 1024 * 1024
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
    with _opener.open(request, timeout=settings.ANNOTATOR_URL_TIMEOUT_S) as response:
        kind = response.headers.get_content_type()
        if not (kind.startswith("image/") or kind == "application/octet-stream"):
            raise RefusedURL(f"{url!r} answered with {kind}, not an image.")
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise RefusedURL(f"{url!r} is larger than {settings.ANNOTATOR_URL_MAX_MB} MB.")
        data = response.read(limit + 1)
        if len(data) > limit:
            raise RefusedURL(f"{url!r} is larger than {settings.ANNOTATOR_URL_MAX_MB} MB.")
        etag = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
    return data, etag


def url_head(url: str) -> tuple[int | None, str]:
    """Size and ETag of an image URL, for a re-scan; raises like url_fetch."""
    url_check_syntax(url)
    url_check_host(url)
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
    with _opener.open(request, timeout=settings.ANNOTATOR_URL_TIMEOUT_S) as response:
        declared = response.headers.get("Content-Length")
        etag = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
    return (int(declared) if declared and declared.isdigit() else None), etag
