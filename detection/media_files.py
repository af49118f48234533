"""A media item's file: the captured bytes, stored as a Fernet token (detection.encryption).

Reported and crawled media are intimate images, so a copied media folder must not show them any more
than it shows a reference photo. Files stored before media was encrypted are plaintext: they are
read as they are until ``manage.py rotate_encryption_keys`` encrypts them.
"""

from __future__ import annotations

from detection.encryption import stored_file_read
from detection.models import MediaItem


def media_item_read(item: MediaItem) -> bytes:
    """The bytes that were captured, whose SHA-256 is ``item.sha256``.

    Raises ``EncryptionError`` when no configured key opens the file. Videos are read whole: the
    scan needs them whole anyway, and a Fernet token cannot be opened in pieces.
    """
    return stored_file_read(item.file)
