"""Media item files are stored encrypted and read back as the captured bytes; a file stored before
media was encrypted is still read."""

import pytest
from cryptography.fernet import Fernet
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from detection import services
from detection.encryption import UNREADABLE, EncryptionError, data_decrypt, is_token
from detection.engine import hashes
from detection.media_files import media_item_read
from detection.models import MediaItem

pytestmark = pytest.mark.usefixtures("own_media_root")


def ingest(data: bytes, url: str = "") -> MediaItem:
    return services.media_ingest(data=data, source=MediaItem.Source.REPORT, original_name="reported.jpg", source_url=url)


def stored(item: MediaItem) -> bytes:
    with default_storage.open(item.file.name, "rb") as handle:
        return handle.read()


def store_as_before_encryption(item: MediaItem, data: bytes) -> None:
    """Put the plaintext file that media_ingest wrote before media item files were encrypted."""
    default_storage.delete(item.file.name)
    assert default_storage.save(item.file.name, ContentFile(data)) == item.file.name


def test_a_media_item_file_is_stored_as_a_token_without_the_image_bytes(db, images):
    image = images["reported-astronaut.jpg"]
    on_disk = stored(ingest(image))
    assert is_token(on_disk) and data_decrypt(token=on_disk) == image
    # Base64 has no byte above 0x7f: not the whole image, nor any run of its binary bytes, is there.
    assert image not in on_disk and max(on_disk) < 0x80


def test_reading_a_media_item_gives_the_captured_bytes(db, images):
    item = ingest(images["reported-astronaut.jpg"])
    data = media_item_read(item)
    assert data == images["reported-astronaut.jpg"] and hashes.sha256_hex(data) == item.sha256


def test_an_encrypted_media_item_is_scanned(astronaut_subject, images):
    item = ingest(images["reported-astronaut.jpg"])
    assert is_token(stored(item))
    outcome = services.media_scan(media_item_id=item.pk)
    assert outcome.item.status == MediaItem.Status.DONE and len(outcome.findings) == 1


def test_a_media_file_stored_before_encryption_is_still_read_and_scanned(astronaut_subject, images):
    item = ingest(images["reported-astronaut.jpg"])
    store_as_before_encryption(item, images["reported-astronaut.jpg"])
    assert media_item_read(item) == images["reported-astronaut.jpg"]
    outcome = services.media_scan(media_item_id=item.pk)
    assert outcome.item.status == MediaItem.Status.DONE and len(outcome.findings) == 1


def test_a_media_file_under_an_unknown_key_is_not_read_as_plaintext(db, images):
    item = ingest(images["reported-coffee.jpg"])
    other_key = [Fernet.generate_key().decode()]
    with override_settings(FIELD_ENCRYPTION_KEYS=other_key), pytest.raises(EncryptionError, match=UNREADABLE):
        media_item_read(item)


def test_a_file_gone_or_unreadable_fails_the_scan_with_its_reason(db, images):
    gone = ingest(images["reported-astronaut.jpg"])
    default_storage.delete(gone.file.name)
    assert services.media_scan(media_item_id=gone.pk).item.failure_reason == services.FILE_GONE

    locked = ingest(images["reported-coffee.jpg"])
    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        item = services.media_scan(media_item_id=locked.pk).item
    assert item.status == MediaItem.Status.FAILED and item.failure_reason == UNREADABLE
