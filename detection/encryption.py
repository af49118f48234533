"""Data at rest that shows a face or identifies someone: reference photo files, face-template
embeddings, media item files (the reported, uploaded and crawled images and videos,
``detection.media_files``) and consent authority documents (casework) are Fernet tokens (AES-128-CBC
with HMAC-SHA256), keyed from ``FIELD_ENCRYPTION_KEYS`` (README, "Encryption at rest").

The first key encrypts; every key decrypts, so a new key can be put in front of the old one and
``manage.py rotate_encryption_keys`` re-encrypts every row and file before the old key is dropped; it
also encrypts files stored before their kind was encrypted, which are read as they are until then.
A database dump or a copied media folder alone then reveals no face.

Not encrypted: notice PDFs (no imagery of the person depicted, but personal data), and the hashes and
file names (the SHA-256 of the original bytes) that matching and evidence need.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

UNREADABLE = "This encrypted data cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS."


class EncryptionError(Exception):
    pass


@cache
def _keys(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    # Keyed on the setting's value, so override_settings in tests (and rotation) take effect at once.
    return _keys(tuple(settings.FIELD_ENCRYPTION_KEYS))


def data_encrypt(*, data: bytes) -> bytes:
    return _fernet().encrypt(bytes(data))


def data_decrypt(*, token: bytes) -> bytes:
    try:
        return _fernet().decrypt(bytes(token))
    except InvalidToken:
        raise EncryptionError(UNREADABLE) from None


def data_rotate(*, token: bytes) -> bytes:
    """The same data under the first key; a value stored before encryption existed is encrypted."""
    token = bytes(token)
    try:
        return _fernet().rotate(token)
    except InvalidToken:
        if is_token(token):
            raise EncryptionError(UNREADABLE) from None
        return data_encrypt(data=token)


def stored_file_read(field) -> bytes:
    """The plaintext of a file stored through ``data_encrypt``; a file stored before its kind was
    encrypted is returned as it is (``rotate_encryption_keys`` encrypts it)."""
    with field.open("rb") as handle:
        stored = handle.read()
    return data_decrypt(token=stored) if is_token(stored) else stored


def is_token(data: bytes) -> bool:
    # Every Fernet token starts with version byte 0x80, which base64 writes as "gAAAAA".
    return bytes(data[:6]) == b"gAAAAA"
