"""Hashes of known intimate images, registered instead of the images themselves.

The subject (or their caseworker, with the subject's device) computes the hashes where the images
are (`python -m detection.engine.hash_files IMAGE...` needs no server), so the images never reach
Reclaim. A hash is registered only under an active consent to hash matching; withdrawing it deletes
them (casework.services.consent.consent_withdraw).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from casework.models import ConsentPurpose, Subject
from casework.services.audit import audit_record
from casework.services.consent import subject_consents_to
from detection import services as detection
from detection.engine.errors import ReadableError

MAX_HASHES = 500
# One per line: 64 hex digits is PDQ, 16 is pHash; "pdq:" or "phash:" may say so; a PDQ quality may follow.
# A video's whole-file MD5 (32 hex digits) must say "md5:", so that no stray 32-digit number passes as one.
_LINE = re.compile(r"^(?:(?P<algorithm>pdq|phash|md5)\s*[:=]\s*)?(?P<value>[0-9a-f]+)(?:[\s,;]+(?P<quality>\d{1,3}))?$")
_HEX_DIGITS = {"pdq": 64, "phash": 16, "md5": 32}
NEEDS_CONSENT = "{subject} has no active consent to hash matching, so no hash can be registered."
NOTHING = "Paste at least one hash."
TOO_MANY = "At most {max} hashes at a time; split the list."
BAD_LINES = ("These lines are not hashes (one per line: 64 hex digits for PDQ or 16 for pHash, optionally "
             "followed by the PDQ quality, or md5: and 32 hex digits for a video): {lines}")


class KnownHashError(ReadableError):
    pass


@dataclass(frozen=True)
class ParsedHash:
    algorithm: str
    value: str
    quality: int | None


def known_hashes_parse(text: str) -> list[ParsedHash]:
    """Every hash in ``text``; all bad lines are named at once, so the person fixes them in one go."""
    parsed, bad = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()  # after "#", a note (hash_files writes the file name there)
        if not line:
            continue
        match = _LINE.match(line.lower())
        algorithm = match and (match["algorithm"] or {64: "pdq", 16: "phash"}.get(len(match["value"])))
        quality = int(match["quality"]) if match and match["quality"] else None
        bad_quality = quality is not None and (quality > 100 or algorithm == "md5")  # an MD5 has no quality
        if not algorithm or len(match["value"]) != _HEX_DIGITS[algorithm] or bad_quality:
            bad.append(f"{number} ({line[:40]})")
            continue
        parsed.append(ParsedHash(algorithm, match["value"], quality))
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
        for known in hashes:
            detection.known_hash_add(subject_id=subject.pk, algorithm=known.algorithm, value=known.value,
                                     quality=known.quality)
        added = subject.known_hashes.count() - before
        audit_record(action="known_hashes.registered", actor=by, organization=subject.organization, target=subject,
                     data={"submitted": len(hashes), "added": added})
    return added
