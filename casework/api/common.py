"""What every API view shares: who is asking for which organisation, permissions, throttles, pages."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from casework.access import STAFF, organization_ids
from casework.models import ApiToken, Membership, Organization
from casework.ratelimit import rate_limit_hit, window_left_s
from config.uploads import UploadTooLarge, upload_too_large_message

NO_ORGANIZATION = "Your account does not work for any organisation, so there is nothing here for it."
ORGANIZATION_REQUIRED = "You work for several organisations: name one with “organization” (its slug)."
ORGANIZATION_UNKNOWN = "You do not work for an organisation with this slug."
JSON_TOO_DEEP = "The JSON body is nested too deeply to read. Send a flatter document."
BODY_TOO_LARGE = (
    "The request body is larger than {limit:,} bytes, the limit for anything but a file upload. "
    "Send a file as multipart/form-data."
)

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

    Counted with one atomic increment in the shared cache (casework.ratelimit), not DRF's read-then-
    write history list, so two web workers answering at once cannot both let the same last request
    through: the limit holds exactly across workers. Reads the rates when asked, not when imported,
    so settings overrides (tests, a reload) apply.
    """

    @property
    def THROTTLE_RATES(self):  # DRF reads this name
        return api_settings.DEFAULT_THROTTLE_RATES

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return not rate_limit_hit(key=self.key, limit=self.num_requests, window_s=self.duration)

    def wait(self) -> float:
        return window_left_s(self.duration)


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with a body nested deeper than Python's recursion limit (100,000 "[") a 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(JSON_TOO_DEEP) from None


def api_exception_handler(exc, context):
    """DRF's handler, plus the over-size bodies Django refuses before DRF sees them: 413 in JSON."""
    from rest_framework.views import exception_handler  # its APIView reads these settings at import
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": BODY_TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, UploadTooLarge):  # a PUT or PATCH upload: parsed here, not in the middleware
        return Response({"detail": upload_too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return exception_handler(exc, context)


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
