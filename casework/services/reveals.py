"""Sensitive media is blurred until a person chooses to look; each choice is on the record.

The blur is the server's, not the page's: until ``media_reveal`` has recorded the choice, the media
views send a blurred rendering (``detection.crops.media_blurred_jpeg``) and never the original, so a
page whose stylesheet or script did not load shows nothing. The proof that the choice was recorded
is kept in the viewer's session, for this finding and this media only, and only for REVEAL_MINUTES:
another finding, another person (another session) or the same person tomorrow starts blurred again.
"""

from __future__ import annotations

import time

from django.utils.translation import gettext_lazy

from casework.models import AuditEvent
from casework.services.audit import audit_record
from detection.models import Finding

# What on a finding's page can be revealed: the reported media, and the two faces of a likeness match.
REVEALABLE = {"media", "probe_face", "reference_face"}
UNKNOWN_MEDIA = gettext_lazy("There is no such media on this finding.")
REVEAL_SESSION_KEY = "casework.reveals"
# Long enough to review a finding and write a case note; short enough that a screen left open does
# not keep showing someone's face to whoever walks past next.
REVEAL_MINUTES = 30


class RevealError(Exception):
    pass


def _now() -> float:
    return time.time()


def _key(finding: Finding, what: str) -> str:
    return f"{finding.pk}:{what}"


def media_reveal(*, finding: Finding, what: str, by, session=None) -> AuditEvent:
    """Record that ``by`` chose to see ``what`` of ``finding``; the original is served only after this.

    With the viewer's ``session``, the record is also what lets that session fetch the original (see
    ``media_revealed``)."""
    if what not in REVEALABLE:
        raise RevealError(UNKNOWN_MEDIA)
    event = audit_record(
        action="media.revealed", actor=by, organization=finding.subject.organization,
        target=finding, data={"finding": finding.pk, "what": what},
    )
    if session is not None:
        reveals = {key: grant for key, grant in session.get(REVEAL_SESSION_KEY, {}).items()
                   if grant.get("until", 0) > _now()}
        reveals[_key(finding, what)] = {"user": by.pk, "event": event.pk, "until": _now() + 60 * REVEAL_MINUTES}
        session[REVEAL_SESSION_KEY] = reveals
    return event


def media_reveal_end(*, finding: Finding, what: str, session) -> None:
    """The viewer blurred the media again: the next page or fetch sends the blurred rendering."""
    if what not in REVEALABLE:
        raise RevealError(UNKNOWN_MEDIA)
    reveals = session.get(REVEAL_SESSION_KEY, {})
    if reveals.pop(_key(finding, what), None) is not None:
        session[REVEAL_SESSION_KEY] = reveals


def media_revealed(*, finding: Finding, what: str, session, user) -> bool:
    """Whether ``user`` recorded a reveal of ``what`` of ``finding`` in this session, recently enough."""
    grant = session.get(REVEAL_SESSION_KEY, {}).get(_key(finding, what))
    return bool(grant) and grant.get("user") == user.pk and grant.get("until", 0) > _now()
