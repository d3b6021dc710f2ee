"""Encryption at rest for credentials typed into the UI (Fernet: AES-128-CBC + HMAC)."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class CredentialKeyError(Exception):
    """The stored secret cannot be decrypted with the server's current key."""


def _fernet() -> Fernet:
    key = settings.ANNOTATOR_CREDENTIALS_KEY
    if key:
        return Fernet(key.encode())
    digest = hashlib.sha256(b"annotator-credentials:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialKeyError(
            "The stored credential cannot be decrypted: the server's credentials key changed. "
            "Enter the credential again."
        ) from None
