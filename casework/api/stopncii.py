"""StopNCII's hash API, served for an organisation's admitted platforms (README, "For platforms").

Endpoints, parameters, headers, JSON and enum spellings are those python-threatexchange's client
(``threatexchange.exchanges.clients.stopncii.api.StopNCIIAPI``) uses, so a platform running HMA or
python-threatexchange points its StopNCII collaboration's base URL here and needs no new code:

- ``GET {base}/FetchHashes?startTimestamp=&pageSize=&nextPageToken=`` answers
  ``{count, nextPageToken, nextSetTimestamp, hasMoreRecords, hashRecords: [{lastModtimestamp, signalType,
  hashValue, hashStatus, caseNumbers, CSPFeedbacks}]}``; timestamps are Unix seconds (casework.feed_pages).
- ``POST {base}/SubmitFeedback`` takes ``{count, hashFeedbacks: [{hashValue, feedbackValue, tags}]}``.

Both take the headers ``x-functions-key`` and ``Ocp-Apim-Subscription-Key``: the platform's two keys
(casework.services.feed_platforms), which say whose feed it is. Throttled per platform at the partner
API's rates (API_READ_RATE for fetching, API_WRITE_RATE for feedback).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, permissions, serializers, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from casework import feed_pages
from casework.api.common import READ_SCOPE, WRITE_SCOPE, ApiRateThrottle, BoundedJSONParser, ErrorSerializer
from casework.models import FeedFeedback, FeedPlatform, FeedRecord
from casework.services.feed_platforms import feed_platform_authenticate, feed_platform_fetched
from casework.services.hash_feed import FeedbackIn, hash_feed_feedback_record

FUNCTION_KEY_HEADER = "x-functions-key"
SUBSCRIPTION_KEY_HEADER = "Ocp-Apim-Subscription-Key"
KEYS_INVALID = _("These keys are not valid, or the platform's access has been revoked.")
NOT_A_NUMBER = _("{name} must be a whole number.")
NUMBER_OUT_OF_RANGE = _("{name} must be a whole number from {least} to {most}.")
# The last second of the year 9999 (Unix seconds): datetime's range, and no timestamp sent is later.
LARGEST_NUMBER = 253402300799
MAX_FEEDBACKS = 1000
FEEDBACK_VALUE_INVALID = _("feedbackValue must be one of: Blocked, NotBlocked, PendingReview.")


class PlatformCaller(AnonymousUser):
    """The request's user while a platform calls: no account, but authenticated by its keys (DRF's
    IsAuthenticated); everything else about it is an anonymous visitor's, so no staff page opens to it."""

    def __init__(self, platform: FeedPlatform):
        self.platform = platform

    @property
    def is_authenticated(self):
        return True


class PlatformKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        function_key = request.headers.get(FUNCTION_KEY_HEADER, "")
        subscription_key = request.headers.get(SUBSCRIPTION_KEY_HEADER, "")
        if not function_key and not subscription_key:
            return None  # answered 401 with the keys' names (authenticate_header)
        platform = feed_platform_authenticate(function_key=function_key, subscription_key=subscription_key)
        if platform is None:
            raise exceptions.AuthenticationFailed(KEYS_INVALID)
        return PlatformCaller(platform), platform

    def authenticate_header(self, request):
        return f'{FUNCTION_KEY_HEADER} realm="hash feed", {SUBSCRIPTION_KEY_HEADER} realm="hash feed"'


class PlatformKeyScheme(OpenApiAuthenticationExtension):
    target_class = "casework.api.stopncii.PlatformKeyAuthentication"
    name = ["platformFunctionKey", "platformSubscriptionKey"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": FUNCTION_KEY_HEADER,
             "description": "The platform's function key (shown once when an organisation admin admits it)."},
            {"type": "apiKey", "in": "header", "name": SUBSCRIPTION_KEY_HEADER,
             "description": "The platform's subscription key (shown with the function key)."},
        ]


class PlatformRateThrottle(ApiRateThrottle):
    """The partner API's throttle, counted per platform."""

    def get_cache_key(self, request, view):
        return f"throttle_{self.scope}_feed_platform_{request.auth.pk}"


class PlatformView(APIView):
    authentication_classes = [PlatformKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [PlatformRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [BoundedJSONParser]  # StopNCII's calls are JSON


# --- Serializers: the schema's description of StopNCII's JSON (the page itself is built as a dict) ----

class CSPFeedbackSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The platform that sent it.")
    feedbackValue = serializers.ChoiceField(choices=FeedFeedback.Value.values)
    tags = serializers.ListField(child=serializers.CharField())


class HashRecordSerializer(serializers.Serializer):
    lastModtimestamp = serializers.IntegerField(help_text="When the record last changed, Unix seconds.")
    signalType = serializers.ChoiceField(choices=FeedRecord.SignalType.values)
    hashValue = serializers.CharField(help_text="64 hex digits (PDQ) or 32 (a video's MD5).")
    hashStatus = serializers.ChoiceField(
        choices=FeedRecord.Status.values, help_text="Withdrawn or Deleted: delete the hash you hold.")
    caseNumbers = serializers.DictField(
        child=serializers.ChoiceField(choices=FeedRecord.Status.values),
        help_text="Random per-record case identifiers and each case's status; they identify no one.")
    CSPFeedbacks = CSPFeedbackSerializer(many=True)


class FetchHashesSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Records on this page.")
    nextPageToken = serializers.CharField(allow_null=True)
    nextSetTimestamp = serializers.IntegerField(help_text="Store as your checkpoint; send as startTimestamp next.")
    hasMoreRecords = serializers.BooleanField()
    hashRecords = HashRecordSerializer(many=True)


class FeedbackInputSerializer(serializers.Serializer):
    hashValue = serializers.RegexField(r"^[0-9a-fA-F]{32}$|^[0-9a-fA-F]{64}$")
    feedbackValue = serializers.ChoiceField(choices=FeedFeedback.Value.values,
                                            error_messages={"invalid_choice": FEEDBACK_VALUE_INVALID})
    tags = serializers.ListField(child=serializers.CharField(max_length=100), max_length=20, required=False,
                                 default=list)


class SubmitFeedbackInputSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=0, required=False)
    hashFeedbacks = serializers.ListField(child=FeedbackInputSerializer(), min_length=1, max_length=MAX_FEEDBACKS)


class SubmitFeedbackOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Feedbacks recorded.")
    unknownHashValues = serializers.ListField(child=serializers.CharField(),
                                              help_text="Hash values not in this feed, not recorded.")


def _whole_number(request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        number = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: [NOT_A_NUMBER.format(name=name)]}) from None
    if not 0 <= number <= LARGEST_NUMBER:
        # Else a timestamp in milliseconds, or longer, fails in datetime.fromtimestamp (a 500).
        raise exceptions.ValidationError(
            {name: [NUMBER_OUT_OF_RANGE.format(name=name, least=0, most=LARGEST_NUMBER)]})
    return number


class FetchHashesApi(PlatformView):
    throttle_scope = READ_SCOPE

    @extend_schema(
        operation_id="stopncii_fetch_hashes",
        summary="StopNCII FetchHashes: the organisation's shared hashes changed since a time",
        parameters=[
            OpenApiParameter("startTimestamp", int, description="Unix seconds; the records changed at or after it."),
            OpenApiParameter("pageSize", int, description=f"Records per page, at most {feed_pages.MAX_PAGE_SIZE} "
                             f"(default {feed_pages.DEFAULT_PAGE_SIZE})."),
            OpenApiParameter("nextPageToken", str, description="The previous page's nextPageToken."),
        ],
        responses={200: FetchHashesSerializer, 400: ErrorSerializer, 401: ErrorSerializer},
    )
    def get(self, request):
        platform = request.auth
        start = _whole_number(request, "startTimestamp", 0)
        page_size = _whole_number(request, "pageSize", feed_pages.DEFAULT_PAGE_SIZE)
        try:
            page = feed_pages.feed_page(platform=platform, start_timestamp=start, page_size=page_size,
                                        token=request.query_params.get("nextPageToken", ""))
        except feed_pages.PageTokenError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        feed_platform_fetched(platform=platform)
        return Response({
            "count": len(page.records),
            "nextPageToken": page.next_token,
            "nextSetTimestamp": page.next_set_timestamp,
            "hasMoreRecords": page.has_more,
            "hashRecords": page.records,
        })


class SubmitFeedbackApi(PlatformView):
    throttle_scope = WRITE_SCOPE

    @extend_schema(
        operation_id="stopncii_submit_feedback",
        summary="StopNCII SubmitFeedback: what the platform did with a hash of the feed",
        request=SubmitFeedbackInputSerializer,
        responses={200: SubmitFeedbackOutputSerializer, 400: OpenApiResponse(description="Malformed feedback."),
                   401: ErrorSerializer},
    )
    def post(self, request):
        given = SubmitFeedbackInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        feedbacks = [FeedbackIn(hash_value=f["hashValue"], value=f["feedbackValue"], tags=tuple(f["tags"]))
                     for f in given.validated_data["hashFeedbacks"]]
        summary = hash_feed_feedback_record(platform=request.auth, feedbacks=feedbacks)
        return Response({"count": summary.accepted, "unknownHashValues": summary.unknown})
