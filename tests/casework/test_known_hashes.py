"""Known images registered by their hashes alone: made where the images are (hash_files), pasted in
the portal or on the subject's desk page, gated on consent to hash matching, and matched by scans."""

import hashlib
import io
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.urls import reverse
from PIL import Image

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose
from casework.services.consent import consent_grant, subject_create
from casework.services.known_hashes import (
    BAD_LINES,
    NEEDS_CONSENT,
    NOTHING,
    KnownHashError,
    known_hashes_parse,
    known_hashes_register,
)
from detection.engine import hash_files
from detection.models import Finding
from tests.casework.test_portal import sign_in
from tests.detection.test_scan import scan

PDQ = "ab" * 32
PHASH = "cd" * 8
MD5 = "ef" * 16


def reupload(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.resize((image.width * 2 // 3, image.height * 2 // 3)).save(out, "JPEG", quality=60)
    return out.getvalue()


def small_video(seconds: float = 2, size: tuple[int, int] = (320, 240), fps: int = 10, seed: int = 0) -> bytes:
    """An MP4 (OpenCV's mp4v) of moving noise and gradients, made here so no test needs a video file."""
    generator = np.random.default_rng(seed)
    width, height = size
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        for number in range(int(seconds * fps)):
            noise = generator.integers(0, 60, (height, width, 3), dtype=np.uint8)
            frame = np.clip(np.roll(ramp, number * 7, axis=1) + noise, 0, 255).astype(np.uint8)
            writer.write(np.broadcast_to(frame, (height, width, 3)).copy())
        writer.release()
        return path.read_bytes()


@pytest.fixture
def hash_subject(org, consent_text, caseworker):
    subject = subject_create(organization=org, display_name="Kim", contact_email="kim@example.org")
    consent_grant(subject=subject, text=consent_text, purposes=[ConsentPurpose.HASH_MATCHING],
                  method=ConsentMethod.PAPER_WITNESSED, signature="Kim", by=caseworker)
    return subject


def test_lines_are_read_as_pdq_or_phash_with_notes_ignored():
    parsed = known_hashes_parse(f"{PDQ}\n\n  PDQ:{PDQ.upper()} 87  # holiday.jpg\nphash:{PHASH}\n{PHASH}")
    assert [(p.algorithm, p.value, p.quality) for p in parsed] == [
        ("pdq", PDQ, None), ("pdq", PDQ, 87), ("phash", PHASH, None), ("phash", PHASH, None)]


def test_a_video_is_read_from_its_md5_line_and_a_bare_or_rated_md5_is_not():
    parsed = known_hashes_parse(f"md5:{MD5}  # clip.mp4\nMD5={MD5.upper()}")
    assert [(p.algorithm, p.value, p.quality) for p in parsed] == [("md5", MD5, None), ("md5", MD5, None)]
    with pytest.raises(KnownHashError) as error:
        known_hashes_parse(f"{MD5}\nmd5:{MD5} 80\nmd5:{PDQ}")
    assert error.value.reason == BAD_LINES.format(lines=f"1 ({MD5}); 2 (md5:{MD5} 80); 3 (md5:{PDQ[:36]})")


def test_a_registered_video_md5_finds_the_same_file_but_not_another(hash_subject, caseworker):
    video = small_video()
    known_hashes_register(subject=hash_subject, text=f"md5:{hashlib.md5(video).hexdigest()}", by=caseworker)
    item = scan(video, name="reupload.mp4")
    assert item.kind == "video"
    finding = item.findings.get()
    assert finding.subject == hash_subject and finding.kind == Finding.Kind.HASH
    assert (finding.distance, finding.model_version) == (0, "md5")
    assert not scan(small_video(seed=1), name="other.mp4").findings.exists()


def test_every_bad_line_is_named_at_once():
    with pytest.raises(KnownHashError) as error:
        known_hashes_parse(f"{PDQ}\nnot a hash\npdq:{PHASH}\n{PDQ} 101")
    assert error.value.reason == BAD_LINES.format(lines=f"2 (not a hash); 3 (pdq:{PHASH}); 4 ({PDQ[:40]})")
    with pytest.raises(KnownHashError, match=str(NOTHING)):
        known_hashes_parse("  \n# only a note\n")


def test_hashes_need_consent_to_hash_matching(astronaut_subject, caseworker):
    with pytest.raises(KnownHashError) as error:
        known_hashes_register(subject=astronaut_subject, text=PDQ, by=caseworker)
    assert error.value.reason == NEEDS_CONSENT.format(subject=astronaut_subject)
    assert not astronaut_subject.known_hashes.exists()


def test_registering_counts_new_hashes_once_and_is_audited(hash_subject, caseworker):
    assert known_hashes_register(subject=hash_subject, text=f"{PDQ}\n{PHASH}", by=caseworker) == 2
    assert known_hashes_register(subject=hash_subject, text=PDQ, by=caseworker) == 0
    event = AuditEvent.objects.filter(action="known_hashes.registered").last()
    assert event.data == {"submitted": 1, "added": 0} and PDQ not in str(event.data)


def test_a_subject_pastes_hash_files_lines_in_the_portal_and_a_copy_is_found(client, hash_subject, images,
                                                                            tmp_path):
    original = tmp_path / "private.jpg"
    original.write_bytes(images["reference.jpg"])
    lines = hash_files.hash_lines(original.read_bytes(), original.name)
    assert lines[0].startswith("pdq:") and lines[0].endswith("# private.jpg") and lines[1].startswith("phash:")

    sign_in(client, hash_subject)
    page = client.post(reverse("casework:portal_hashes_add"), {"hashes": "\n".join(lines)}, follow=True)
    assert "2 new hashes registered" in page.content.decode()
    # A smaller, recompressed copy of the image, reported later, is found by its PDQ hash.
    finding = scan(reupload(images["reference.jpg"])).findings.get()
    assert finding.subject == hash_subject and finding.kind == Finding.Kind.HASH


def test_a_caseworker_registers_hashes_on_the_subjects_page(client, caseworker, hash_subject):
    client.force_login(caseworker)
    detail = reverse("casework:subject_detail", args=[hash_subject.pk])
    assert "Known images, by their hashes" in client.get(detail).content.decode()
    page = client.post(reverse("casework:subject_hashes_add", args=[hash_subject.pk]), {"hashes": "zz"}, follow=True)
    assert "are not hashes" in page.content.decode() and not hash_subject.known_hashes.exists()
    client.post(reverse("casework:subject_hashes_add", args=[hash_subject.pk]), {"hashes": PDQ})
    assert hash_subject.known_hashes.get().value == PDQ


def test_hash_files_names_a_file_it_cannot_read(tmp_path, capsys, images):
    good, bad = tmp_path / "a.jpg", tmp_path / "b.jpg"
    good.write_bytes(images["reference.jpg"])
    bad.write_bytes(b"not an image")
    assert hash_files.main([str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out.count("# a.jpg") == 2 and "b.jpg" in err and "b.jpg" not in out
