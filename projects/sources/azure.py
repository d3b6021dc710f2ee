"""Azure Blob Storage sources: account URL + container + prefix, or a container SAS URL.

Credentials: a connection string, an account key or a SAS token typed by a user (stored
encrypted), the same read from a server environment variable, or DefaultAzureCredential
(environment, managed identity, CLI login) with its probe bounded in time.
"""

import base64
import binascii
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AzureSasCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContainerClient
from django.conf import settings
from django.core.exceptions import ValidationError

from projects.crypto import CredentialKeyError, decrypt
from projects.models import Credential, Source
from projects.sources.listing import (
    ImageUnavailable,
    Listed,
    SourceUnavailable,
    has_image_extension,
)
from projects.sources.web import bounded_detail, network_problem

# The SDK logs every request and response at INFO; one page view would flood the log.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)

AZURE_BLOB_DOMAINS = (
    ".blob.core.windows.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.core.usgovcloudapi.net",
    ".blob.storage.azure.net",
)
STORAGE_SCOPE = "https://storage.azure.com/.default"
# One retry after a second and short connect timeouts: an unreachable account is reported in
# seconds instead of after the storage SDK's default back-off (15 s, then more).
CLIENT_OPTIONS: dict[str, Any] = {
    "connection_timeout": 10,
    "read_timeout": 60,
    "retry_total": 1,
    "initial_backoff": 1,
    "increment_base": 1,
}


@dataclass(frozen=True)
class AzureLocation:
    account_url: str
    container: str
    prefix: str
    sas_token: str = ""  # only when the client gave a container SAS URL

    def as_json(self) -> dict:
        return {"account_url": self.account_url, "container": self.container, "prefix": self.prefix}


def azure_location_parse(
    *, account_url: str = "", container: str = "", prefix: str = "", sas_url: str = ""
) -> AzureLocation:
    """Check what a client typed; a container SAS URL gives account, container and token."""
    if sas_url:
        parts = urlsplit(sas_url.strip())
        segments = [s for s in parts.path.split("/") if s]
        if not segments or not parts.query:
            raise ValidationError(
                {
                    "sas_url": "A container SAS URL looks like https://<account>.blob.core."
                    "windows.net/<container>?sv=…&sig=…"
                }
            )
        account_url = f"{parts.scheme}://{parts.netloc}" + "".join(f"/{s}" for s in segments[:-1])
        container, sas = segments[-1], parts.query
    else:
        sas = ""
    account_url = (account_url or "").strip().rstrip("/")
    _check_account_url(account_url)
    container = (container or "").strip()
    if not container or "/" in container:
        raise ValidationError({"container": "Give the container's name (no slashes)."})
    return AzureLocation(account_url, container, (prefix or "").lstrip("/"), sas)


def _check_account_url(account_url: str) -> None:
    parts = urlsplit(account_url)
    if not parts.hostname:
        raise ValidationError(
            {"account_url": "Give the account URL: https://<account>.blob.core.windows.net"}
        )
    if settings.ANNOTATOR_AZURE_ALLOW_CUSTOM_ENDPOINTS:
        if parts.scheme not in {"http", "https"}:
            raise ValidationError({"account_url": "The account URL must be http(s)."})
        return
    if parts.scheme != "https" or not parts.hostname.endswith(AZURE_BLOB_DOMAINS):
        raise ValidationError(
            {
                "account_url": f"{account_url!r} is not an Azure Blob Storage URL "
                "(https://<account>.blob.core.windows.net)."
            }
        )


SECRET_KINDS = (
    Credential.Kind.SAS_TOKEN,
    Credential.Kind.CONNECTION_STRING,
    Credential.Kind.ACCOUNT_KEY,
)
SECRET_MAX_CHARS = 4000


def azure_needs_secret(source: Source) -> bool:
    """Whether the source's credential is one a person types and this server lacks its
    secret (a restored archive never carries one; a changed server key cannot read it)."""
    credential = source.credential
    if source.kind != Source.Kind.AZURE_BLOB or credential is None:
        return False
    if credential.kind not in SECRET_KINDS:
        return False
    if not credential.secret_encrypted:
        return True
    try:
        decrypt(credential.secret_encrypted)
    except CredentialKeyError:
        return True
    return False


def azure_secret_check(kind: str, secret: str) -> str:
    """The secret as it is stored, or ValidationError saying what a secret of `kind` looks
    like. Nothing is sent to Azure here: the re-scan that follows tries it."""
    secret = (secret or "").strip()
    if kind not in SECRET_KINDS:
        raise ValidationError(
            {"kind": "Choose a SAS token, a connection string or an account key."}
        )
    if not secret:
        raise ValidationError({"secret": "Enter the secret."})
    if len(secret) > SECRET_MAX_CHARS:
        raise ValidationError({"secret": f"A secret is at most {SECRET_MAX_CHARS} characters."})
    if kind == Credential.Kind.SAS_TOKEN and "sig=" not in secret:
        raise ValidationError(
            {"secret": "A SAS token looks like sv=…&sp=rl&sig=… (what follows the ? of a SAS URL)."}
        )
    if kind == Credential.Kind.CONNECTION_STRING:
        try:
            ContainerClient.from_connection_string(secret, "check", **CLIENT_OPTIONS)
        except ValueError:
            raise ValidationError(
                {
                    "secret": "A connection string looks like DefaultEndpointsProtocol=https;"
                    "AccountName=…;AccountKey=…;EndpointSuffix=core.windows.net"
                }
            ) from None
    if kind == Credential.Kind.ACCOUNT_KEY and not _is_base64(secret):
        raise ValidationError({"secret": "An account key is the base64 text Azure shows (…==)."})
    return secret.lstrip("?") if kind == Credential.Kind.SAS_TOKEN else secret


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def account_name(account_url: str) -> str:
    parts = urlsplit(account_url)
    segments = [s for s in parts.path.split("/") if s]
    # Emulators and custom endpoints put the account in the path: http://host:port/<account>.
    if segments:
        return segments[0]
    return (parts.hostname or "").split(".")[0]


def container_client(source: Source) -> ContainerClient:
    location = source.location
    url, container = location["account_url"], location["container"]
    credential = source.credential
    if credential is None:  # a public container
        return _client(url, container, None)
    secret = _secret(credential)
    kind = (
        _guess_kind(secret) if credential.kind == Credential.Kind.ENVIRONMENT else credential.kind
    )
    if kind == Credential.Kind.CONNECTION_STRING:
        try:
            return ContainerClient.from_connection_string(secret, container, **CLIENT_OPTIONS)
        except ValueError as error:
            raise SourceUnavailable(
                f"The connection string is not valid ({bounded_detail(error)}). Enter it again: "
                "it looks like DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…"
            ) from None
    if kind == Credential.Kind.ACCOUNT_KEY:
        return _client(url, container, {"account_name": account_name(url), "account_key": secret})
    if kind == Credential.Kind.SAS_TOKEN:
        return _client(url, container, AzureSasCredential(secret.lstrip("?")))
    return _client(url, container, default_credential())


def _client(url: str, container: str, credential) -> ContainerClient:
    return ContainerClient(url, container, credential=credential, **CLIENT_OPTIONS)


def _secret(credential: Credential) -> str:
    if credential.kind == Credential.Kind.ENVIRONMENT:
        value = os.environ.get(credential.env_var, "").strip()
        if not value:
            raise SourceUnavailable(
                f"The server's environment variable {credential.env_var} is not set."
            )
        return value
    if credential.kind == Credential.Kind.DEFAULT:
        return ""
    if not credential.secret_encrypted:
        raise SourceUnavailable(
            f"The credential {credential.name!r} has no secret on this server: enter it again."
        )
    try:
        return decrypt(credential.secret_encrypted)
    except CredentialKeyError as error:
        raise SourceUnavailable(str(error)) from None


def _guess_kind(secret: str) -> str:
    if "AccountName=" in secret or "BlobEndpoint=" in secret:
        return Credential.Kind.CONNECTION_STRING
    if "sig=" in secret:
        return Credential.Kind.SAS_TOKEN
    return Credential.Kind.ACCOUNT_KEY


_default = {"credential": None}
_default_lock = threading.Lock()


def default_credential():
    """DefaultAzureCredential, checked once with a bounded wait.

    Its managed-identity probe can hang for minutes on a machine that is not in Azure; the
    check runs in a daemon thread so the caller gets a clear answer within the timeout.
    """
    with _default_lock:
        if _default["credential"] is not None:
            return _default["credential"]
    from azure.identity import DefaultAzureCredential

    timeout = settings.ANNOTATOR_AZURE_CREDENTIAL_TIMEOUT_S
    credential = DefaultAzureCredential(process_timeout=timeout)
    outcome: dict = {}

    def probe():
        try:
            credential.get_token(STORAGE_SCOPE)
            outcome["ok"] = True
        except Exception as error:  # any failure means "no identity here"
            outcome["error"] = error

    thread = threading.Thread(target=probe, name="azure-identity-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if "ok" not in outcome:
        detail = (
            f"no identity answered within {timeout} s"
            if "error" not in outcome
            else bounded_detail(outcome["error"])
        )
        raise SourceUnavailable(
            "No Azure identity is available on this server (environment, managed identity or "
            f"CLI login): {detail}. Use a connection string, account key or SAS token instead."
        )
    with _default_lock:
        _default["credential"] = credential
    return credential


def azure_list(source: Source) -> Iterator[Listed]:
    extensions = source.location.get("extensions") or settings.ANNOTATOR_IMAGE_EXTENSIONS
    client = container_client(source)
    try:
        for blob in client.list_blobs(name_starts_with=source.location.get("prefix") or None):
            if has_image_extension(blob.name, extensions):
                yield Listed(path=blob.name, size=blob.size, etag=(blob.etag or "").strip('"'))
    except AzureError as error:
        raise SourceUnavailable(_reason(error, source.location["container"], client)) from None


def azure_read(source: Source, name: str) -> tuple[bytes, str]:
    client = None
    try:
        client = container_client(source)
        downloader = client.download_blob(name, max_concurrency=1)
        return downloader.readall(), (downloader.properties.etag or "").strip('"')
    except ResourceNotFoundError:
        raise ImageUnavailable(f"The blob {name!r} is gone.") from None
    except AzureError as error:
        raise ImageUnavailable(_reason(error, name, client)) from None
    except SourceUnavailable as error:
        raise ImageUnavailable(str(error)) from None


def _reason(error: AzureError, what: str, client: ContainerClient | None) -> str:
    """What an SDK error means for a person, without the SDK's text beyond one short line."""
    if isinstance(error, ResourceNotFoundError):
        return f"Azure says {what!r} does not exist."
    if isinstance(error, ClientAuthenticationError) or (
        isinstance(error, HttpResponseError) and error.status_code in {401, 403}
    ):
        return (
            "Azure refused the credential (expired, revoked or without read access): enter a "
            "valid one."
        )
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        parts = urlsplit(client.url if client is not None else "")
        return network_problem(error, parts.hostname or "the storage account", parts.port)
    message = bounded_detail(getattr(error, "message", "") or error)
    return f"Azure Blob Storage answered with an error: {message}."
