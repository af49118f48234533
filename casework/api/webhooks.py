"""The webhook Reclaim sends, documented in the OpenAPI schema (SPECTACULAR_SETTINGS["WEBHOOKS"]).

Sending is casework.services.webhooks; this module only describes it to partners.
"""

from drf_spectacular.utils import OpenApiWebhook, extend_schema
from rest_framework import serializers


class FindingConfirmedDataSerializer(serializers.Serializer):
    finding = serializers.IntegerField()
    kind = serializers.CharField()
    subject = serializers.IntegerField()
    media_item = serializers.IntegerField()
    case = serializers.CharField(help_text="The case reference.")
    takedown_request = serializers.IntegerField()
    confirmed_at = serializers.DateTimeField()


class FindingConfirmedEventSerializer(serializers.Serializer):
    event = serializers.CharField(help_text="finding.confirmed")
    delivery = serializers.IntegerField(help_text="Unique per delivery: ignore one you have already handled.")
    data = FindingConfirmedDataSerializer()


finding_confirmed_webhook = OpenApiWebhook(
    name="finding.confirmed",
    decorator=extend_schema(
        summary="A finding of one of your organisation's subjects was confirmed by a reviewer",
        description=(
            "POSTed as JSON to each active webhook of the organisation. Verify it: "
            "`X-Reclaim-Signature` is `sha256=` and the hex HMAC-SHA256, keyed with the webhook's secret, of "
            "`<X-Reclaim-Timestamp>.<raw body>`; refuse old timestamps. Any 2xx answer is success; anything "
            "else is retried with exponential backoff (30 s doubling, six retries). Redirects are not followed."
        ),
        request=FindingConfirmedEventSerializer,
        responses={200: None},
    ),
)
