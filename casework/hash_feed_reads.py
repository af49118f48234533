"""What staff pages show of the hash feed: the platforms admitted to it, and their feedback (SubmitFeedback)
on a subject's case, on the desk ("ExamplePlatform blocked 3 uploads") and in the metrics."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext

from casework import access
from casework.models import FeedCase, FeedFeedback, FeedPlatform, FeedRecord, Subject
from detection.models import KnownImageHash

DESK_FEEDBACK_DAYS = 30
Value = FeedFeedback.Value


@dataclass(frozen=True)
class PlatformFeedback:
    """One platform's feedback, counted."""

    platform: str
    blocked: int = 0
    not_blocked: int = 0
    pending_review: int = 0

    @property
    def total(self) -> int:
        return self.blocked + self.not_blocked + self.pending_review

    def sentences(self) -> list[str]:
        said = []
        if self.blocked:
            said.append(ngettext("%(platform)s blocked %(count)d upload",
                                 "%(platform)s blocked %(count)d uploads",
                                 self.blocked) % {"platform": self.platform, "count": self.blocked})
        if self.pending_review:
            said.append(ngettext("%(platform)s is reviewing %(count)d match",
                                 "%(platform)s is reviewing %(count)d matches",
                                 self.pending_review) % {"platform": self.platform, "count": self.pending_review})
        if self.not_blocked:
            said.append(ngettext("%(platform)s reviewed %(count)d match and did not block it",
                                 "%(platform)s reviewed %(count)d matches and did not block them",
                                 self.not_blocked) % {"platform": self.platform, "count": self.not_blocked})
        return said


def _counted(feedbacks: QuerySet[FeedFeedback]) -> list[PlatformFeedback]:
    """Per platform name (a platform admitted again after a revocation counts as the same), most blocks first."""
    rows = feedbacks.order_by().values("platform__name").annotate(
        blocked=Count("pk", filter=Q(value=Value.BLOCKED)),
        not_blocked=Count("pk", filter=Q(value=Value.NOT_BLOCKED)),
        pending_review=Count("pk", filter=Q(value=Value.PENDING_REVIEW)),
    )
    found = [PlatformFeedback(platform=row["platform__name"], blocked=row["blocked"], not_blocked=row["not_blocked"],
                              pending_review=row["pending_review"]) for row in rows]
    return sorted(found, key=lambda f: (-f.blocked, -f.total, f.platform))


def feedback_for_subject(subject: Subject | None) -> list[PlatformFeedback]:
    """Platforms' feedback on the hashes the subject shares now (a hash that left the feed is no longer
    theirs to show: its tombstone forgot whose it was)."""
    if subject is None:
        return []
    return _counted(FeedFeedback.objects.filter(
        record__cases__subject=subject, record__cases__status=FeedRecord.Status.ACTIVE).distinct())


def feedback_for_desk(user, *, now: dt.datetime | None = None) -> list[PlatformFeedback]:
    """The user's organisations' feedback of the last DESK_FEEDBACK_DAYS days."""
    since = (now or timezone.now()) - dt.timedelta(days=DESK_FEEDBACK_DAYS)
    return _counted(FeedFeedback.objects.filter(organization_id__in=access.organization_ids(user),
                                                received_at__gte=since))


def feedback_for_metrics(user) -> list[PlatformFeedback]:
    """All feedback the user's organisations received, per platform (blocks per platform)."""
    return _counted(FeedFeedback.objects.filter(organization_id__in=access.organization_ids(user)))


def feed_platforms_for_user(user) -> QuerySet[FeedPlatform]:
    """The platforms admitted to the user's organisations' feeds, live ones first, with their feedback counted."""
    return (
        FeedPlatform.objects.filter(organization_id__in=access.organization_ids(user))
        .select_related("organization")
        .annotate(blocked=Count("feedbacks", filter=Q(feedbacks__value=Value.BLOCKED)),
                  feedback_count=Count("feedbacks"))
        .order_by(F("revoked_at").asc(nulls_first=True), "name", "pk")
    )


def shared_hash_count(organization_ids: list[int]) -> int:
    return FeedRecord.objects.filter(organization_id__in=organization_ids, status=FeedRecord.Status.ACTIVE).count()


def subject_known_hashes(subject: Subject) -> QuerySet[KnownImageHash]:
    """The subject's known hashes, newest first, each with whether platforms read it in the feed now."""
    shared = FeedCase.objects.filter(known_hash=OuterRef("pk"), status=FeedRecord.Status.ACTIVE)
    return subject.known_hashes.annotate(shared=Exists(shared)).order_by("-created_at", "-pk")
