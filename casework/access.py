"""Fetch-and-authorise: every page and endpoint gets its objects through these functions.

An object of another organisation is reported as missing (404), not forbidden, so its existence is
not revealed; a role without the right gets 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django_otp import user_has_device

from casework.models import Case, Consent, FeedPlatform, Membership, Notice, Report, Role, Subject, TakedownRequest
from detection.models import CrawlRun, Finding, KnownImageHash, MediaItem, ReferencePhoto, Watch

REVIEWERS = {Role.CASEWORKER, Role.ADMIN}
NOTICE_ISSUERS = {Role.LEGAL, Role.ADMIN}
STAFF = {Role.CASEWORKER, Role.LEGAL, Role.ADMIN}  # case triage and notes: everyone who works the case
ROLE_REQUIRED = _("Your role in this organisation does not allow this.")
NOT_STAFF = _("These pages are for the staff of an organisation using Reclaim.")


def organization_ids(user) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def staff_organization_ids(user) -> list[int]:
    """The organisations of a member of staff, for pages about all of their work (desk, queue, lists).
    Anyone else signed in (a subject, the platform operator without a membership) is refused (403)."""
    found = organization_ids(user)
    if not found:
        raise PermissionDenied(NOT_STAFF)
    return found


def is_staff(user) -> bool:
    """Works for an organisation, or runs the platform (Django's admin): who needs a second factor."""
    if not user.is_authenticated:
        return False
    if getattr(user, "_reclaim_is_staff", None) is None:
        user._reclaim_is_staff = user.is_staff or Membership.objects.filter(user=user).exists()
    return user._reclaim_is_staff


def role_in(user, organization_id: int) -> str | None:
    membership = Membership.objects.filter(user=user, organization_id=organization_id).first()
    return membership.role if membership else None


def require_role(user, organization_id: int, allowed: set[str]) -> None:
    if role_in(user, organization_id) not in allowed:
        raise PermissionDenied(ROLE_REQUIRED)


def findings_for_user(user) -> QuerySet[Finding]:
    # On the finding's own organisation column (its subject's, copied when written): one organisation's
    # queue reads its rows from the (organization, status, created_at) index, never another's.
    return Finding.objects.filter(organization_id__in=organization_ids(user)).select_related(
        "media_item", "subject"
    )


def _one_or_404(queryset: QuerySet, pk: int, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404(f"No such {what}.")
    return found


def finding_get_for_user(user, pk: int) -> Finding:
    return _one_or_404(findings_for_user(user), pk, "finding")


def case_get_for_user(user, pk: int) -> Case:
    cases = Case.objects.filter(organization_id__in=organization_ids(user)).select_related("subject")
    return _one_or_404(cases, pk, "case")


def takedown_request_get_for_user(user, pk: int) -> TakedownRequest:
    requests = TakedownRequest.objects.filter(organization_id__in=organization_ids(user)).select_related(
        "case__subject", "case__organization"
    )
    return _one_or_404(requests, pk, "takedown request")


def notice_get_for_user(user, pk: int) -> Notice:
    notices = Notice.objects.filter(takedown_request__organization_id__in=organization_ids(user))
    return _one_or_404(notices.select_related("takedown_request__case"), pk, "notice")


def consent_get_for_user(user, pk: int) -> Consent:
    consents = Consent.objects.filter(subject__organization_id__in=organization_ids(user))
    return _one_or_404(consents.select_related("subject__organization", "text"), pk, "consent")


def subject_get_for_user(user, pk: int) -> Subject:
    subjects = Subject.objects.filter(organization_id__in=organization_ids(user)).select_related("organization", "user")
    return _one_or_404(subjects, pk, "subject")


def report_get_for_user(user, pk: int) -> Report:
    return _one_or_404(Report.objects.filter(organization_id__in=organization_ids(user)), pk, "report")


def watches_for_user(user) -> QuerySet[Watch]:
    return Watch.objects.filter(organization_id__in=organization_ids(user)).select_related("organization")


def watch_get_for_user(user, pk: int) -> Watch:
    return _one_or_404(watches_for_user(user).select_related("created_by", "robots_override_by"), pk, "watch")


def crawl_run_get_for_user(user, pk: int) -> CrawlRun:
    """A crawl run for one of the user's organisations: a watch's, or the command line's run for it."""
    runs = CrawlRun.objects.filter(organization_id__in=organization_ids(user)).select_related("watch", "organization")
    return _one_or_404(runs, pk, "crawl run")


def known_hash_get_for_user(user, pk: int) -> KnownImageHash:
    hashes = KnownImageHash.objects.filter(subject__organization_id__in=organization_ids(user))
    return _one_or_404(hashes.select_related("subject__organization"), pk, "known-image hash")


def feed_platform_get_for_user(user, pk: int) -> FeedPlatform:
    """A platform admitted to one of the user's organisations' hash feeds."""
    platforms = FeedPlatform.objects.filter(organization_id__in=organization_ids(user))
    return _one_or_404(platforms.select_related("organization"), pk, "platform")


def media_items_of(organization_ids: list[int]) -> QuerySet[MediaItem]:
    """Media items the organisations hold: captured or submitted by them, in one of their cases or
    reports, or found for one of their subjects."""
    return MediaItem.objects.filter(
        Q(organization_id__in=organization_ids)
        | Q(submissions__organization_id__in=organization_ids)
        | Q(cases__organization_id__in=organization_ids)
        | Q(reports__organization_id__in=organization_ids)
        | Q(findings__organization_id__in=organization_ids)
    ).distinct()


def media_item_get_for_user(user, pk: int, allowed: set[str]) -> tuple[MediaItem, int]:
    """A media item of the user's organisations, and the one in which their role is ``allowed`` (the
    organisation an action on it is recorded for); 404 if none holds it, 403 if no role there allows."""
    item = _one_or_404(media_items_of(organization_ids(user)), pk, "media item")
    for organization_id in (
        Membership.objects.filter(user=user, role__in=allowed).order_by("organization_id")
        .values_list("organization_id", flat=True)
    ):
        if media_items_of([organization_id]).filter(pk=item.pk).exists():
            return item, organization_id
    raise PermissionDenied(ROLE_REQUIRED)


# --- Pages without staff membership: the public report form and the subject portal -------------

REPORTER_SESSION_KEY = "casework.public_report"


def public(view):
    """Mark a view as meant for anyone, signed in or not (the public report form and its status page,
    the portal's sign-in): the URL-wide authorisation checks skip what carries this mark."""
    view.public_page = True
    return view


def report_get_for_reporter(session) -> Report:
    """The report whose reference and PIN were entered in this browser session (casework.views.public)."""
    pk = session.get(REPORTER_SESSION_KEY)
    report = Report.objects.filter(pk=pk).first() if pk else None
    if report is None:
        raise Http404("No report is open in this session.")
    return report


def code_pending(user) -> bool:
    """A subject who turned sign-in codes on and has not entered one in this session: signed in by password or
    link only, which is not yet enough to use the portal or change their record."""
    # django_otp's middleware gives request.user is_verified; a user just passed to login() has none yet (unverified).
    return user_has_device(user, confirmed=True) and not getattr(user, "is_verified", lambda: False)()


def portal_subject(user) -> Subject | None:
    """The subject ``user`` is, signed in with every step their sign-in asks for; else None."""
    if not user.is_authenticated or code_pending(user):
        return None
    return Subject.objects.filter(user=user).first()


def subject_for_user(user) -> Subject:
    """The subject a portal user is. Staff and anonymous users are none (404), so the portal never shows
    anyone's data to them; a subject user has no Membership, so every staff page is 404 to them."""
    subject = None
    if user.is_authenticated:
        subject = Subject.objects.filter(user=user).select_related("organization").first()
    if subject is None:
        raise Http404("No such subject.")
    return subject


def consent_get_for_subject(subject: Subject, pk: int) -> Consent:
    return _one_or_404(Consent.objects.filter(subject=subject).select_related("subject__organization", "text"),
                       pk, "consent")


def reference_photo_get_for_subject(subject: Subject, pk: int) -> ReferencePhoto:
    return _one_or_404(ReferencePhoto.objects.filter(subject=subject), pk, "reference photo")


def cases_for_subject(subject: Subject) -> QuerySet[Case]:
    return Case.objects.filter(subject=subject).prefetch_related("takedown_requests").order_by("-created_at")
