"""What every API view shares: who is asking for which organisation, permissions, throttles, pages."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions, permissions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from casework.access import STAFF, organization_ids
from casework.models import ApiToken, Membership, Organization

NO_ORGANIZATION = "Your account does not work for any organisation, so there is nothing here for it."
ORGANIZATION_REQUIRED = "You work for several organisations: name one with “organization” (its slug)."
ORGANIZATION_UNKNOWN = "You do not work for an organisation with this slug."

READ_SCOPE = "api_read"
WRITE_SCOPE = "api_write"


def token_of(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def api_organization_ids(request) -> list[int]:
    """A partner token acts for its own organisation only; a staff member for each of theirs."""
    token = token_of(request)
    if token is not None:
        return [token.organization_id]
    return organization_ids(request.user)


def api_organization_for_write(request, slug: str | None) -> Organization:
    token = token_of(request)
    if token is not None:
        if slug and slug != token.organization.slug:
            raise Http404(ORGANIZATION_UNKNOWN)
        return token.organization
    memberships = Membership.objects.filter(user=request.user, role__in=STAFF).select_related("organization")
    if slug:
        membership = memberships.filter(organization__slug=slug).first()
        if membership is None:
            raise Http404(ORGANIZATION_UNKNOWN)
        return membership.organization
    found = list(memberships[:2])
    if len(found) != 1:
        raise exceptions.ValidationError({"organization": [ORGANIZATION_REQUIRED]})
    return found[0].organization


class IsOrganizationMember(permissions.BasePermission):
    """Signed in (token or session) and working for at least one organisation in a staff role."""

    message = NO_ORGANIZATION

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if token_of(request) is not None:
            return True
        return Membership.objects.filter(user=request.user, role__in=STAFF).exists()


class ApiRateThrottle(ScopedRateThrottle):
    """ScopedRateThrottle keyed by user (each token has its own service account) or address.

    Reads the rates when asked, not when imported, so settings overrides (tests, a reload) apply.
    """

    @property
    def THROTTLE_RATES(self):  # DRF reads this name
        return api_settings.DEFAULT_THROTTLE_RATES


class ApiPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ApiView:
    """Mixin of the settings every /api/v1/ view shares (kept explicit so the schema shows them)."""

    permission_classes = [permissions.IsAuthenticated, IsOrganizationMember]
    throttle_classes = [ApiRateThrottle]
    throttle_scope = READ_SCOPE
