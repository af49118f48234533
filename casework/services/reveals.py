"""Sensitive media is blurred until a person chooses to look; each choice is on the record."""

from __future__ import annotations

from casework.models import AuditEvent
from casework.services.audit import audit_record
from detection.models import Finding

# What on a finding's page can be revealed: the reported media, and the two faces of a likeness match.
REVEALABLE = {"media", "probe_face", "reference_face"}
UNKNOWN_MEDIA = "There is no such media on this finding."


class RevealError(Exception):
    pass


def media_reveal(*, finding: Finding, what: str, by) -> AuditEvent:
    """Record that ``by`` chose to see ``what`` of ``finding``; the page unblurs only after this."""
    if what not in REVEALABLE:
        raise RevealError(UNKNOWN_MEDIA)
    return audit_record(
        action="media.revealed", actor=by, organization=finding.subject.organization,
        target=finding, data={"finding": finding.pk, "what": what},
    )
