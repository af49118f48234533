"""Hashes of known intimate images, registered instead of the images themselves.

The subject (or their caseworker, with the subject's device) computes the hashes where the images
are (in the browser, or with `python -m detection.engine.hash_files FILE...`, which needs no server), so
the images never reach Reclaim. A video is registered by its file's MD5 and by its frame hashes (one
``vpdq:`` line), kept as a known video. A hash is registered only under an active consent to hash
matching; withdrawing it deletes them (casework.services.consent.consent_withdraw).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from casework.models import ConsentPurpose, FeedRecord, Report, Subject
from casework.services.audit import audit_record
from casework.services.consent import subject_consents_to
from casework.services.hash_feed import hash_feed_subject_sync
from detection import services as detection
from detection.engine.errors import ReadableError
from detection.engine.video import vpdq

MAX_HASHES = 500
# One per line: 64 hex digits is PDQ, 16 is pHash; "pdq:" or "phash:" may say so; a PDQ quality may follow.
# A video's whole-file MD5 (32 hex digits) must say "md5:", so that no stray 32-digit number passes as one.
_LINE = re.compile(r"^(?:(?P<algorithm>pdq|phash|md5)\s*[:=]\s*)?(?P<value>[0-9a-f]+)(?:[\s,;]+(?P<quality>\d{1,3}))?$")
_HEX_DIGITS = {"pdq": 64, "phash": 16, "md5": 32}
NEEDS_CONSENT = _("{subject} has no active consent to hash matching, so no hash can be registered.")
NOTHING = _("Paste at least one hash.")
TOO_MANY = _("At most {max} hashes at a time; split the list.")
BAD_LINES = _("These lines are not hashes (one per line: 64 hex digits for PDQ or 16 for pHash, optionally "
              "followed by the PDQ quality, or md5: and 32 hex digits for a video, or vpdq: and a video's frame "
              "hashes): {lines}")
VIDEO_TOO_PLAIN = _("On line {lines}, no frame of the video reaches quality {quality} of 100, so no copy could be "
                    "recognised by its frames: register its md5: line alone.")
REPORT_HAS_NO_HASHES = _("This report holds no hash lines: none were sent, or they were moved to a subject already.")
REPORT_OTHER_ORGANIZATION = _("{subject} is not a subject of the organisation this report was sent to.")


class KnownHashError(ReadableError):
    pass


@dataclass(frozen=True)
class ParsedHash:
    algorithm: str
    value: str  # for "vpdq", the line's body (vpdq_body): what a report keeps and duplicates are told by
    quality: int | None
    frames: tuple[vpdq.FrameHash, ...] = field(default=(), compare=False)  # "vpdq" only


def known_hashes_parse(text: str) -> list[ParsedHash]:
    """Every hash in ``text``; all bad lines are named at once, so the person fixes them in one go."""
    parsed, bad, plain = [], [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()  # after "#", a note (hash_files writes the file name there)
        if not line:
            continue
        if line.lower().startswith(vpdq.VPDQ_PREFIX):  # a video's frame hashes, all on one line
            try:
                frames = vpdq.vpdq_parse(line[len(vpdq.VPDQ_PREFIX):])
            except ValueError:
                bad.append(f"{number} ({line[:40]})")
                continue
            if not any(frame.quality >= vpdq.VPDQ_QUALITY_MIN for frame in frames):
                # vPDQ compares no frame under that quality: such a video could never be matched by its frames.
                plain.append(str(number))
                continue
            parsed.append(ParsedHash("vpdq", vpdq.vpdq_body(frames), None, tuple(frames)))
            continue
        match = _LINE.match(line.lower())
        algorithm = match and (match["algorithm"] or {64: "pdq", 16: "phash"}.get(len(match["value"])))
        quality = int(match["quality"]) if match and match["quality"] else None
        bad_quality = quality is not None and (quality > 100 or algorithm == "md5")  # an MD5 has no quality
        if not algorithm or len(match["value"]) != _HEX_DIGITS[algorithm] or bad_quality:
            bad.append(f"{number} ({line[:40]})")
            continue
        parsed.append(ParsedHash(algorithm, match["value"], quality))
    if plain:
        raise KnownHashError(VIDEO_TOO_PLAIN.format(lines=", ".join(plain[:10]), quality=vpdq.VPDQ_QUALITY_MIN))
    if bad:
        raise KnownHashError(BAD_LINES.format(lines="; ".join(bad[:10]) + ("…" if len(bad) > 10 else "")))
    if not parsed:
        raise KnownHashError(NOTHING)
    if len(parsed) > MAX_HASHES:
        raise KnownHashError(TOO_MANY.format(max=MAX_HASHES))
    return parsed


def known_hashes_register(*, subject: Subject, text: str, by) -> int:
    """Register the hashes in ``text`` for ``subject``; returns how many were new."""
    hashes = known_hashes_parse(text)
    with transaction.atomic():
        # The lock consent withdrawal takes: a withdrawal cannot slip between this check and the insert.
        Subject.objects.select_for_update().get(pk=subject.pk)
        if not subject_consents_to(subject, ConsentPurpose.HASH_MATCHING):
            raise KnownHashError(NEEDS_CONSENT.format(subject=subject))
        before = subject.known_hashes.count()
        videos = 0
        for known in hashes:
            if known.algorithm == "vpdq":
                videos += detection.known_video_add(subject_id=subject.pk, frames=list(known.frames))[1]
                continue
            detection.known_hash_add(subject_id=subject.pk, algorithm=known.algorithm, value=known.value,
                                     quality=known.quality)
        added = subject.known_hashes.count() - before + videos
        # Into the platforms' feed while the subject's consent covers sharing (casework.services.hash_feed).
        shared = hash_feed_subject_sync(subject=subject, gone=FeedRecord.Status.DELETED).joined
        data = ({"submitted": len(hashes), "added": added} | ({"known_videos": videos} if videos else {})
                | ({"shared": shared} if shared else {}))
        audit_record(action="known_hashes.registered", actor=by, organization=subject.organization, target=subject,
                     data=data)
    return added


def known_hash_remove(*, subject: Subject, known_hash_id: int, by) -> None:
    """A caseworker removes one of the subject's hashes (registered by mistake, or the subject asks): it is
    no longer matched, and platforms of the feed read it as Deleted."""
    with transaction.atomic():
        Subject.objects.select_for_update().get(pk=subject.pk)  # the lock registration and withdrawal take
        known = detection.known_hash_remove(subject_id=subject.pk, known_hash_id=known_hash_id)
        change = hash_feed_subject_sync(subject=subject, gone=FeedRecord.Status.DELETED)
        # The hash value itself is not kept in the log: it was the subject's to take back.
        audit_record(action="known_hash.removed", actor=by, organization=subject.organization, target=subject,
                     data={"known_hash": known_hash_id, "algorithm": known.algorithm, "unshared": change.left})


def report_hashes_move(*, report: Report, subject: Subject, by) -> int:
    """Register a public report's hash lines on ``subject`` and take them off the report: from then on
    they are the subject's, kept and purged under the subject's consent to hash matching (checked by
    known_hashes_register, under the subject's lock). Returns how many were new for the subject.

    The audit records counts, never the hashes: the lines the reporter sent, and how many were new."""
    if subject.organization_id != report.organization_id:
        raise KnownHashError(REPORT_OTHER_ORGANIZATION.format(subject=subject))
    with transaction.atomic():
        # Locked, so two caseworkers moving the same lines at once register them once.
        text = Report.objects.select_for_update().values_list("known_hashes", flat=True).get(pk=report.pk)
        if not text.strip():
            raise KnownHashError(REPORT_HAS_NO_HASHES)
        added = known_hashes_register(subject=subject, text=text, by=by)
        Report.objects.filter(pk=report.pk).update(known_hashes="")
        audit_record(action="report.hashes_moved", actor=by, organization=report.organization, target=report,
                     data={"subject": subject.pk, "lines": len(text.splitlines()), "added": added})
    report.known_hashes = ""
    return added
