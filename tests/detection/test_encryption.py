"""Reference photos, face templates and media item files are encrypted at rest, readable with any
configured key, and re-encrypted under a new key by `rotate_encryption_keys`."""

import io

import numpy as np
import pytest
from cryptography.fernet import Fernet
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import override_settings

from detection import crops, services
from detection.encryption import UNREADABLE, EncryptionError, data_decrypt, data_encrypt, is_token
from detection.index import match_index
from detection.media_files import media_item_read
from detection.models import FaceTemplate, Finding, MediaItem, ReferencePhoto
from tests.config.test_settings import PRODUCTION, manage
from tests.detection.test_media_files import ingest, store_as_before_encryption, stored

pytestmark = pytest.mark.usefixtures("own_media_root")


@pytest.fixture
def template(astronaut_subject):
    return FaceTemplate.objects.get(subject=astronaut_subject)


def test_a_face_template_is_stored_encrypted(template):
    stored = bytes(template.embedding)
    assert is_token(stored) and len(stored) != 128 * 8
    assert template.vector().shape == (128,)


def test_a_reference_photo_file_is_stored_encrypted(astronaut_subject, images):
    photo = ReferencePhoto.objects.get(subject=astronaut_subject)
    with default_storage.open(photo.image.name, "rb") as handle:
        stored = handle.read()
    assert is_token(stored) and images["reference.jpg"] not in stored
    assert data_decrypt(token=stored) == images["reference.jpg"]


def test_the_match_index_reads_encrypted_templates(template):
    assert match_index().faces.size == 1


def test_the_reference_crop_is_cut_from_the_decrypted_photo(template):
    finding = Finding(subject_id=template.subject_id, template_id=template.pk)
    assert crops.finding_reference_crop(finding)[:2] == b"\xff\xd8"  # a JPEG


def test_a_wrong_key_cannot_read_the_data(template):
    other_key = [Fernet.generate_key().decode()]
    with override_settings(FIELD_ENCRYPTION_KEYS=other_key), pytest.raises(EncryptionError, match=UNREADABLE):
        template.vector()


def test_rotation_reencrypts_under_the_new_key_and_the_old_key_can_then_go(settings, template, astronaut_subject):
    before = template.vector().copy()
    new, old = Fernet.generate_key().decode(), settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new]
    template.refresh_from_db()
    assert np.array_equal(template.vector(), before)
    photo = ReferencePhoto.objects.get(subject=astronaut_subject)
    with default_storage.open(photo.image.name, "rb") as handle:
        assert data_decrypt(token=handle.read())[:2] == b"\xff\xd8"


def test_rotation_reencrypts_media_item_files_and_the_old_key_can_then_go(settings, db, images):
    item = ingest(images["reported-astronaut.jpg"])
    new, old = Fernet.generate_key().decode(), settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_encryption_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert media_item_read(item) == images["reported-astronaut.jpg"]


def test_rotation_encrypts_a_media_file_stored_before_encryption(db, images):
    item = ingest(images["reported-astronaut.jpg"])
    store_as_before_encryption(item, images["reported-astronaut.jpg"])
    call_command("rotate_encryption_keys")
    assert is_token(stored(item)) and media_item_read(item) == images["reported-astronaut.jpg"]


def test_rotation_counts_what_it_rewrote(astronaut_subject, images):
    ingest(images["reported-astronaut.jpg"])
    ingest(images["reported-astronaut.jpg"], url="https://example.org/a.jpg")  # another item, the same file
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert out.getvalue().strip() == (
        "Re-encrypted 1 face templates, 1 reference photo files, 1 media item files and 0 consent authority "
        "documents."
    )


def test_rotation_does_not_bring_back_a_file_purged_while_it_was_rewritten(db, images, monkeypatch):
    item = ingest(images["reported-astronaut.jpg"])
    rotate = services.data_rotate

    def purge_meanwhile(*, token):
        # What a minor's case does (casework.services.minors): the row forgets the file, and the
        # file is deleted after commit, here before the rotation saves its rewrite.
        MediaItem.objects.filter(pk=item.pk).update(file="")
        default_storage.delete(item.file.name)
        return rotate(token=token)

    monkeypatch.setattr(services, "data_rotate", purge_meanwhile)
    assert services.encrypted_data_reencrypt().media_files == 0
    assert not default_storage.exists(item.file.name)


def test_rotation_encrypts_a_template_stored_before_encryption(template):
    plain = template.vector().astype("<f8").tobytes()
    FaceTemplate.objects.filter(pk=template.pk).update(embedding=plain)
    call_command("rotate_encryption_keys")
    template.refresh_from_db()
    assert is_token(bytes(template.embedding)) and template.vector().tobytes() == plain


def test_encryption_round_trips():
    assert data_decrypt(token=data_encrypt(data=b"face")) == b"face"


def test_the_app_refuses_to_start_without_an_encryption_key_outside_debug():
    environ = {k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = manage("check", **environ)
    assert result.returncode != 0 and "FIELD_ENCRYPTION_KEY is required" in result.stderr


def test_a_malformed_encryption_key_stops_start_up():
    result = manage("check", **{**PRODUCTION, "FIELD_ENCRYPTION_KEY": "not-a-key"})
    assert result.returncode != 0 and "is not a Fernet key" in result.stderr
