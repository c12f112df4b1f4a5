"""Secrets at rest: Fernet with key rotation (the first key encrypts, every key decrypts)."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    pass


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        # Development and tests only (settings refuse to start without keys otherwise).
        derived = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
        keys = (derived.decode(),)
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.WHARF_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with WHARF_ENCRYPTION_KEYS; "
            "was a key removed before its secrets were re-encrypted?"
        ) from None


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the first key (after a new key was listed first)."""
    if not ciphertext:
        return ""
    return fernet().rotate(ciphertext.encode()).decode()
