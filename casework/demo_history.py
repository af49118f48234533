"""A few months of demo casework, so the desk and the metrics page have something to show.

Replayed through the real services (case, takedown request, notice, transitions) under a clock set
back in time, so every row and audit event is what real use would have written, the audit chain
verifies, and the metrics page computes its charts from the same events as in production. Only the
clock is staged: each step runs at the moment it claims in its audit event.

The requests cover every takedown stage, four platforms with different habits (some remove within
hours, one refuses, one never answers), one request whose 48-hour clock is at risk now and one whose
clock ran out unanswered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from unittest import mock

from django.utils import timezone

from casework.models import Organization, Regime
from casework.services.cases import case_open, takedown_request_create
from casework.services.consent import subject_create
from casework.services.notices import TAKE_IT_DOWN_GOOD_FAITH, NoticeDraft, notice_generate
from casework.services.takedowns import takedown_transition

DEMO_NOTICE = {
    "signer_name": "Lee Legal (demo)",
    "signer_capacity": "Authorised representative of the person depicted",
    "contact_email": "legal@demo.example.org",
    "statement": TAKE_IT_DOWN_GOOD_FAITH,
    "supporting_information": "Demo data: the person depicted never agreed to its publication.",
    "signature_consent": True,
}


@dataclass(frozen=True)
class Story:
    """One request's life: sent ``days_ago``, then ``steps`` as (action, hours after sending)."""

    platform: str
    days_ago: float
    steps: tuple[tuple[str, float], ...] = ()


# In the order they happened: the audit chain is appended in time order. Platforms with habits, so the
# charts compare something: PicShare removes within hours, ExampleTube within a day or two, ChatBoard
# refuses or stays silent, ForumHost is slow.
STORIES = [
    Story("PicShare", 118, (("acknowledge", 1), ("record_removal", 5), ("verify_removal", 7), ("close", 8))),
    Story("ExampleTube", 112, (("record_removal", 30), ("verify_removal", 31))),
    Story("ChatBoard", 105, (("record_refusal", 20), ("escalate", 26))),
    Story("ForumHost", 97, (("acknowledge", 10), ("record_removal", 70))),
    Story("PicShare", 88, (("record_removal", 3), ("verify_removal", 4), ("close", 6))),
    Story("ChatBoard", 80, (("record_no_response", 49),)),
    Story("ExampleTube", 71, (("acknowledge", 4), ("record_removal", 22), ("verify_removal", 23), ("reopen", 200))),
    Story("ForumHost", 60, (("record_removal", 40), ("verify_removal", 41), ("close", 42))),
    Story("PicShare", 52, (("record_removal", 2), ("verify_removal", 3))),
    Story("ChatBoard", 46, (("acknowledge", 5), ("record_refusal", 30))),
    Story("ChatBoard", 41, (("record_refusal", 60), ("close", 70))),
    Story("ExampleTube", 33, (("record_removal", 18), ("verify_removal", 19), ("close", 20))),
    Story("ForumHost", 24, (("acknowledge", 30), ("record_removal", 52))),
    Story("PicShare", 16, (("record_removal", 6),)),
    Story("ChatBoard", 9, (("record_no_response", 49), ("escalate", 60))),
    Story("ExampleTube", 4, (("acknowledge", 2), ("record_removal", 26))),
    Story("ChatBoard", 60 / 24),  # sent 60 hours ago, unanswered: its clock ran out 12 hours ago
    Story("ForumHost", 40 / 24),  # sent 40 hours ago, unanswered: 8 of its 48 hours left, at risk
    Story("PicShare", 5 / 24, (("acknowledge", 1),)),  # on track
]


@contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def demo_history_seed(*, organization: Organization, caseworker, legal, now: dt.datetime | None = None) -> int:
    """Write the stories above (and one draft, one ready request) for ``organization``; returns how many
    requests were written. The caller makes it run once."""
    now = now or timezone.now()
    draft = NoticeDraft.from_fields(DEMO_NOTICE)
    written = 0
    for number, story in enumerate(STORIES, start=1):
        sent_at = now - dt.timedelta(days=story.days_ago)
        request = _request_new(organization, number, story.platform, caseworker, at=sent_at - dt.timedelta(hours=2))
        with clock(sent_at - dt.timedelta(hours=1)):
            notice_generate(request=request, draft=draft, by=legal)  # makes it ready to send
        with clock(sent_at):
            request = takedown_transition(request=request, action="send", by=legal)
        for action, hours in story.steps:
            with clock(sent_at + dt.timedelta(hours=hours)):
                by = legal if action in {"escalate", "close"} and story.platform == "ChatBoard" else caseworker
                request = takedown_transition(request=request, action=action, by=by)
        written += 1
    # Two requests that have not been sent yet: a draft waiting for its notice, one ready to send.
    number = len(STORIES) + 1
    _request_new(organization, number, "PicShare", caseworker, at=now - dt.timedelta(hours=3))
    ready = _request_new(organization, number + 1, "ExampleTube", caseworker, at=now - dt.timedelta(hours=2))
    with clock(now - dt.timedelta(hours=1)):
        notice_generate(request=ready, draft=draft, by=legal)
    return written + 2


def _request_new(organization: Organization, number: int, platform: str, caseworker, *, at: dt.datetime):
    with clock(at):
        subject = subject_create(organization=organization, display_name=f"Demo person {number}", by=caseworker)
        case = case_open(subject=subject, by=caseworker)
        return takedown_request_create(
            case=case, platform=platform, regime=Regime.TAKE_IT_DOWN, by=caseworker,
            target_url=f"https://{platform.lower()}.example/posts/{number}",
            recipient_email=f"abuse@{platform.lower()}.example",
        )
