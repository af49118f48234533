"""Known videos registered by their frame hashes (one ``vpdq:`` line, beside the file's ``md5:``): made where
the video is (hash_files, or the browser), gated on consent to hash matching, purged with it, moved from a
public report's lines by a caseworker, and matched by scans: a re-encoded copy is a hash finding."""

import datetime as dt
import hashlib
from html import unescape
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose, Report, ReporterRole
from casework.services import reports
from casework.services.consent import consent_grant, consent_withdraw, subject_create
from casework.services.known_hashes import (
    BAD_LINES,
    NEEDS_CONSENT,
    REPORT_HAS_NO_HASHES,
    REPORT_OTHER_ORGANIZATION,
    VIDEO_TOO_PLAIN,
    KnownHashError,
    known_hashes_parse,
    known_hashes_register,
    report_hashes_move,
)
from casework.services.retention import subjects_due_for_retention
from detection.engine import hash_files
from detection.engine.video import vpdq
from detection.engine.video.scan import video_frame_hashes
from detection.models import Finding, KnownVideo
from tests.casework.test_takedowns import clock
from tests.detection.test_scan import scan
from tests.engine.test_video import reencoded, two_shot_frames, write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    from skimage import data

    folder = tmp_path_factory.mktemp("known-videos")
    original = write_video(folder / "original.mp4", two_shot_frames(data.astronaut(), data.coffee()))
    return {
        "original": original,
        "copy": reencoded(original, folder / "copy.avi"),  # smaller, MJPEG in AVI: other bytes, same pictures
        "other": write_video(folder / "other.mp4", two_shot_frames(data.chelsea(), data.rocket())),
    }


def lines_of(path: Path) -> str:
    lines, reason = hash_files.video_hash_lines(path, path.name)
    assert reason is None
    return "\n".join(lines)


def consenting_subject(org, consent_text, caseworker, name="Kim", purposes=(ConsentPurpose.HASH_MATCHING,)):
    subject = subject_create(organization=org, display_name=name, contact_email="kim@example.org")
    consent_grant(subject=subject, text=consent_text, purposes=list(purposes), method=ConsentMethod.PAPER_WITNESSED,
                  signature=name, by=caseworker)
    return subject


@pytest.fixture
def hash_subject(org, consent_text, caseworker):
    return consenting_subject(org, consent_text, caseworker)


def test_hash_files_prints_a_videos_md5_and_the_frame_hashes_a_scan_computes(videos, capsys):
    assert hash_files.main([str(videos["original"])]) == 0
    md5_line, vpdq_line = capsys.readouterr().out.splitlines()
    assert md5_line == f"md5:{hashlib.md5(videos['original'].read_bytes()).hexdigest()}  # original.mp4"
    assert vpdq_line.startswith("vpdq:") and vpdq_line.endswith("  # original.mp4")
    frames = vpdq.vpdq_parse(vpdq_line[len("vpdq:"):].split("#")[0])
    assert [f.pdq_hex for f in frames] == [f.pdq_hex for f in video_frame_hashes(videos["original"])]


def test_hash_files_still_prints_the_md5_of_a_video_whose_frames_cannot_be_read(tmp_path, capsys):
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)  # an MP4's first bytes, then noise
    assert hash_files.main([str(damaged)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"md5:{hashlib.md5(damaged.read_bytes()).hexdigest()}  # damaged.mp4"]
    assert f"{damaged}: frames not hashed: " in captured.err


def test_a_vpdq_line_is_read_whole_and_a_broken_one_is_named(videos):
    parsed = known_hashes_parse(lines_of(videos["original"]))
    assert [p.algorithm for p in parsed] == ["md5", "vpdq"]
    assert vpdq.vpdq_parse(parsed[1].value) == vpdq.vpdq_parse(lines_of(videos["original"]).splitlines()[1][5:]
                                                               .split("#")[0])
    broken = "vpdq:0.000," + "ab" * 32 + ",90;0.500,not-a-hash,90"
    with pytest.raises(KnownHashError) as error:
        known_hashes_parse(f"{broken}  # clip.mp4")
    assert error.value.reason == BAD_LINES.format(lines=f"1 ({broken[:40]})")


def test_a_video_is_registered_once_as_a_known_video_and_the_log_holds_counts(hash_subject, caseworker, videos):
    lines = lines_of(videos["original"])
    assert known_hashes_register(subject=hash_subject, text=lines, by=caseworker) == 2  # its MD5 and its frames
    assert known_hashes_register(subject=hash_subject, text=lines, by=caseworker) == 0
    known = KnownVideo.objects.get(subject=hash_subject)
    assert [f["pdq"] for f in known.frames] == [f.pdq_hex for f in video_frame_hashes(videos["original"])]
    first, again = AuditEvent.objects.filter(action="known_hashes.registered").order_by("pk")
    assert first.data == {"submitted": 2, "added": 2, "known_videos": 1}
    assert again.data == {"submitted": 2, "added": 0}
    assert known.frames[0]["pdq"] not in str(first.data)


def test_a_known_video_needs_consent_to_hash_matching(org, consent_text, caseworker, videos):
    subject = consenting_subject(org, consent_text, caseworker, purposes=[ConsentPurpose.LIKENESS_MATCHING])
    with pytest.raises(KnownHashError) as error:
        known_hashes_register(subject=subject, text=lines_of(videos["original"]), by=caseworker)
    assert error.value.reason == NEEDS_CONSENT.format(subject=subject)
    assert not KnownVideo.objects.exists()


def test_a_reencoded_copy_of_a_known_video_is_a_hash_finding_and_another_video_is_not(client, hash_subject,
                                                                                      caseworker, videos):
    known_hashes_register(subject=hash_subject, text=lines_of(videos["original"]), by=caseworker)
    copy = videos["copy"].read_bytes()
    assert hashlib.md5(copy).hexdigest() != hashlib.md5(videos["original"].read_bytes()).hexdigest()
    item = scan(copy, name="copy.avi")
    assert item.kind == "video"
    finding = item.findings.get()
    assert (finding.subject, finding.kind, finding.model_version) == (hash_subject, Finding.Kind.HASH, "vpdq")
    assert finding.distance <= finding.threshold == pytest.approx(1 - vpdq.SAME_VIDEO_SHARE)
    assert finding.organization_id == hash_subject.organization_id
    client.force_login(caseworker)
    page = unescape(client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode())
    unmatched = round(finding.distance * 100)
    assert f"{unmatched} % of the sampled frames of the scanned video or of the known video" in page
    assert "the same video is ≤ 20 %" in page and "bits of 256" not in page
    assert not scan(videos["other"].read_bytes(), name="other.mp4").findings.exists()


def test_withdrawing_consent_deletes_known_videos_and_their_pending_findings(hash_subject, caseworker, videos):
    known_hashes_register(subject=hash_subject, text=lines_of(videos["original"]), by=caseworker)
    scan(videos["copy"].read_bytes(), name="copy.avi")
    assert Finding.objects.filter(subject=hash_subject, model_version="vpdq").exists()
    summary = consent_withdraw(consent=hash_subject.consents.get(), by=caseworker)
    assert (summary.known_videos, summary.known_hashes, summary.pending_findings) == (1, 1, 1)
    assert summary.stored_items == 2
    assert not KnownVideo.objects.exists() and not Finding.objects.exists()
    assert AuditEvent.objects.get(action="consent.withdrawn").data["purged"]["known_videos"] == 1
    # And a copy scanned after the withdrawal is not found.
    assert not scan(videos["copy"].read_bytes(), name="copy-again.avi", url="https://example.org/v").findings.exists()


def test_a_subject_holding_only_a_known_video_is_purged_when_inactive(hash_subject, caseworker, videos):
    text = lines_of(videos["original"]).splitlines()[1]  # the frames alone, no MD5
    known_hashes_register(subject=hash_subject, text=text, by=caseworker)
    later = timezone.now() + dt.timedelta(days=400)
    assert list(subjects_due_for_retention(later)) == [hash_subject]
    assert not subjects_due_for_retention(timezone.now()).exists()


def test_registering_a_known_video_counts_as_activity_for_retention(hash_subject, caseworker, videos):
    text = lines_of(videos["original"]).splitlines()[1]  # the frames alone: only the known video is activity
    start = timezone.now()
    with clock(start + dt.timedelta(days=200)):
        known_hashes_register(subject=hash_subject, text=text, by=caseworker)
    assert not subjects_due_for_retention(start + dt.timedelta(days=366)).exists()
    assert list(subjects_due_for_retention(start + dt.timedelta(days=200 + 366))) == [hash_subject]


def test_a_video_too_plain_to_match_by_its_frames_is_refused_with_its_reason():
    frames = [vpdq.FrameHash(t / 2, "0" * 64, 10) for t in range(4)]  # quality 10: vPDQ would compare none
    with pytest.raises(KnownHashError) as refused:
        known_hashes_parse(vpdq.vpdq_line(frames, "blank.webm"))
    assert refused.value.reason == VIDEO_TOO_PLAIN.format(lines="1", quality=vpdq.VPDQ_QUALITY_MIN)


# A public report's lines, moved to a subject by a caseworker ------------------------------------------------


@pytest.fixture
def report_with_lines(org, videos, images):
    lines = lines_of(videos["original"]) + "\n" + "\n".join(hash_files.hash_lines(images["reference.jpg"], "me.jpg"))
    return reports.report_submit(organization=org, reporter_role=ReporterRole.DEPICTED, urls=[],
                                 depicts_minor=False, known_hashes=lines).report


def test_a_report_keeps_a_videos_frame_hashes_and_its_page_shows_them_as_a_count(client, caseworker,
                                                                                 report_with_lines, hash_subject):
    stored = report_with_lines.known_hashes.splitlines()
    assert [line.split(":")[0] for line in stored] == ["md5", "vpdq", "pdq", "phash"]
    assert "original.mp4" not in report_with_lines.known_hashes  # the file names stay with the reporter
    client.force_login(caseworker)
    page = unescape(client.get(reverse("casework:report_detail", args=[report_with_lines.pk])).content.decode())
    frames = stored[1].count(";") + 1
    assert f"vpdq: the hashes of {frames} frames of a video" in page and stored[1] not in page
    assert f'<option value="{hash_subject.pk}">Kim</option>' in page
    assert reverse("casework:report_hashes_move", args=[report_with_lines.pk]) in page


def test_a_caseworker_moves_a_reports_lines_to_a_consenting_subject(client, caseworker, report_with_lines,
                                                                    hash_subject, videos):
    client.force_login(caseworker)
    url = reverse("casework:report_hashes_move", args=[report_with_lines.pk])
    response = client.post(url, {"subject": hash_subject.pk}, follow=True)
    assert "4 new hashes registered" in unescape(response.content.decode())
    report_with_lines.refresh_from_db()
    assert report_with_lines.known_hashes == ""
    assert hash_subject.known_hashes.count() == 3 and hash_subject.known_videos.count() == 1
    moved = AuditEvent.objects.get(action="report.hashes_moved")
    assert moved.data == {"subject": hash_subject.pk, "lines": 4, "added": 4} and moved.actor == caseworker
    # Moved, not copied: a second press finds nothing left to move.
    again = unescape(client.post(url, {"subject": hash_subject.pk}, follow=True).content.decode())
    assert str(REPORT_HAS_NO_HASHES) in again
    assert scan(videos["copy"].read_bytes(), name="copy.avi").findings.get().subject == hash_subject


def test_lines_stay_on_the_report_when_the_subject_does_not_consent_to_hash_matching(org, consent_text, caseworker,
                                                                                     report_with_lines):
    subject = consenting_subject(org, consent_text, caseworker, purposes=[ConsentPurpose.LIKENESS_MATCHING])
    before = report_with_lines.known_hashes
    with pytest.raises(KnownHashError) as error:
        report_hashes_move(report=report_with_lines, subject=subject, by=caseworker)
    assert error.value.reason == NEEDS_CONSENT.format(subject=subject)
    report_with_lines.refresh_from_db()
    assert report_with_lines.known_hashes == before and not KnownVideo.objects.exists()
    assert not AuditEvent.objects.filter(action="report.hashes_moved").exists()


def test_a_reports_lines_go_only_to_a_subject_of_its_organisation(client, caseworker, other_org, consent_text,
                                                                  report_with_lines, outsider):
    elsewhere = consenting_subject(other_org, consent_text, outsider, name="Elsewhere")
    with pytest.raises(KnownHashError) as error:
        report_hashes_move(report=report_with_lines, subject=elsewhere, by=caseworker)
    assert error.value.reason == REPORT_OTHER_ORGANIZATION.format(subject=elsewhere)
    client.force_login(caseworker)
    url = reverse("casework:report_hashes_move", args=[report_with_lines.pk])
    assert client.post(url, {"subject": elsewhere.pk}).status_code == 404  # not this caseworker's to know of
    report_with_lines.refresh_from_db()
    assert report_with_lines.known_hashes and not elsewhere.known_videos.exists()


def test_legal_staff_may_read_a_reports_lines_but_not_move_them(client, legal, report_with_lines, hash_subject):
    client.force_login(legal)
    page = client.get(reverse("casework:report_detail", args=[report_with_lines.pk])).content.decode()
    assert reverse("casework:report_hashes_move", args=[report_with_lines.pk]) not in page
    response = client.post(reverse("casework:report_hashes_move", args=[report_with_lines.pk]),
                           {"subject": hash_subject.pk})
    assert response.status_code == 403
    assert Report.objects.get(pk=report_with_lines.pk).known_hashes
