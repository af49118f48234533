"""Fetch-and-authorise: every page and endpoint gets its objects through these functions.

An object of another organisation is reported as missing (404), not forbidden, so its existence is
not revealed; a role without the right gets 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from casework.models import Case, Consent, Membership, Notice, Report, Role, TakedownRequest
from detection.models import Finding

REVIEWERS = {Role.CASEWORKER, Role.ADMIN}
NOTICE_ISSUERS = {Role.LEGAL, Role.ADMIN}
STAFF = {Role.CASEWORKER, Role.LEGAL, Role.ADMIN}  # case triage and notes: everyone who works the case
ROLE_REQUIRED = "Your role in this organisation does not allow this."


def organization_ids(user) -> list[int]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def role_in(user, organization_id: int) -> str | None:
    membership = Membership.objects.filter(user=user, organization_id=organization_id).first()
    return membership.role if membership else None


def require_role(user, organization_id: int, allowed: set[str]) -> None:
    if role_in(user, organization_id) not in allowed:
        raise PermissionDenied(ROLE_REQUIRED)


def findings_for_user(user) -> QuerySet[Finding]:
    return Finding.objects.filter(subject__organization_id__in=organization_ids(user)).select_related(
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
    requests = TakedownRequest.objects.filter(case__organization_id__in=organization_ids(user)).select_related(
        "case__subject", "case__organization"
    )
    return _one_or_404(requests, pk, "takedown request")


def notice_get_for_user(user, pk: int) -> Notice:
    notices = Notice.objects.filter(takedown_request__case__organization_id__in=organization_ids(user))
    return _one_or_404(notices.select_related("takedown_request__case"), pk, "notice")


def consent_get_for_user(user, pk: int) -> Consent:
    consents = Consent.objects.filter(subject__organization_id__in=organization_ids(user))
    return _one_or_404(consents.select_related("subject__organization", "text"), pk, "consent")


def report_get_for_user(user, pk: int) -> Report:
    return _one_or_404(Report.objects.filter(organization_id__in=organization_ids(user)), pk, "report")
