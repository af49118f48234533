"""Media: submit by URL (fetched by a task) or upload (queued for scanning), read a media item's status and
its findings."""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from casework.api.common import (
    WRITE_SCOPE,
    ApiPagination,
    ApiView,
    BoundedJSONParser,
    ErrorSerializer,
    api_organization_for_write,
    api_organization_ids,
)
from casework.services.submissions import media_submit_upload, media_submit_url
from detection.models import Finding, MediaItem

URL_OR_FILE = "Send either a URL (JSON {\"url\": …}) or a file (multipart field “file”), not both."
NO_SUCH_MEDIA_ITEM = "No such media item."


def media_item_get_for_request(request, pk: int) -> MediaItem:
    """A media item that one of the caller's organisations submitted, or that a URL it submitted gave;
    any other is missing (404)."""
    organizations = api_organization_ids(request)
    item = MediaItem.objects.filter(
        Q(submissions__organization_id__in=organizations)
        # A URL's captures are the organisation's own (captures are one per organisation), read through
        # the submitted item that found them.
        | Q(found_by__submissions__organization_id__in=organizations, organization_id__in=organizations),
        pk=pk,
    ).first()
    if item is None:
        raise Http404(NO_SUCH_MEDIA_ITEM)
    return item


class MediaSubmitUrlInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    organization = serializers.SlugField(required=False, help_text="Staff of several organisations: which one.")


class MediaSubmitUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    organization = serializers.SlugField(required=False, help_text="Staff of several organisations: which one.")


class MediaSubmitOutputSerializer(serializers.Serializer):
    media_items = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The submitted media item's id: an upload queued for scanning, or a URL being fetched.",
    )
    status = serializers.ChoiceField(
        choices=MediaItem.Status.choices,
        help_text="The item's status now: “fetching” for a URL (poll the item), “received” for an upload queued "
                  "for scanning, “failed” for a file refused at once (the item says why).",
    )


class MediaItemOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=MediaItem.Status.choices)
    failure_reason = serializers.CharField()
    kind = serializers.ChoiceField(choices=MediaItem.Kind.choices)
    source_url = serializers.CharField()
    page_url = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    received_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)
    found_media_items = serializers.SerializerMethodField(
        help_text="For a submitted URL, once fetched: the media items it gave, in page order: this item itself "
                  "(an image or a video), or (status “fetched”) the earlier capture of the same file at the same "
                  "address, or a page's media. Empty while “fetching” and for uploads."
    )

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_found_media_items(self, item: MediaItem) -> list[int]:
        found = MediaItem.found_media_items.through.objects.filter(from_mediaitem=item)
        return list(found.order_by("pk").values_list("to_mediaitem_id", flat=True))


class FindingFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Finding.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Finding.Kind.choices, required=False)


class FindingOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Finding.Kind.choices)
    status = serializers.ChoiceField(choices=Finding.Status.choices)
    subject = serializers.IntegerField(source="subject_id")
    distance = serializers.FloatField()
    threshold = serializers.FloatField()
    created_at = serializers.DateTimeField()
    reviewed_at = serializers.DateTimeField(allow_null=True)


class MediaSubmitApi(ApiView, APIView):
    throttle_scope = WRITE_SCOPE
    parser_classes = [BoundedJSONParser, MultiPartParser]

    @extend_schema(
        operation_id="media_submit",
        summary="Submit media by URL (JSON) or as a file (multipart)",
        description="A URL is answered at once (202) with a media item “fetching”: a worker fetches it, and the "
                    "item's `found_media_items` then lists what it gave, each queued for scanning; a URL that "
                    "cannot be fetched makes the item “failed” with the reason. A file is stored and queued for "
                    "scanning (201).",
        request={
            "application/json": MediaSubmitUrlInputSerializer,
            "multipart/form-data": MediaSubmitUploadInputSerializer,
        },
        responses={
            201: OpenApiResponse(MediaSubmitOutputSerializer, description="A file, stored and queued for scanning."),
            202: OpenApiResponse(MediaSubmitOutputSerializer, description="A URL, to be fetched by a worker."),
            400: OpenApiResponse(ErrorSerializer),
        },
        tags=["media"],
    )
    def post(self, request):
        has_file = "file" in request.FILES
        # A JSON body may be any JSON value (a list, a string); only an object can carry "url".
        if not isinstance(request.data, Mapping) or has_file == bool(request.data.get("url")):
            return Response({"detail": URL_OR_FILE}, status=status.HTTP_400_BAD_REQUEST)
        serializer_class = MediaSubmitUploadInputSerializer if has_file else MediaSubmitUrlInputSerializer
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        organization = api_organization_for_write(request, data.get("organization"))
        if has_file:
            upload = data["file"]
            [item] = media_submit_upload(
                organization=organization, data=upload.read(), filename=upload.name or "", by=request.user
            )
            answer = status.HTTP_201_CREATED
        else:
            # Not fetched here: a slow server would hold this web worker past its timeout.
            item = media_submit_url(organization=organization, url=data["url"], by=request.user)
            answer = status.HTTP_202_ACCEPTED
        output = MediaSubmitOutputSerializer({"media_items": [item.pk], "status": item.status})
        return Response(output.data, status=answer)


class MediaItemDetailApi(ApiView, APIView):
    @extend_schema(
        operation_id="media_item_retrieve",
        summary="A media item's scanning status",
        responses={200: MediaItemOutputSerializer, 404: OpenApiResponse(ErrorSerializer)},
        tags=["media"],
    )
    def get(self, request, pk: int):
        item = media_item_get_for_request(request, pk)
        return Response(MediaItemOutputSerializer(item).data)


class MediaItemFindingsApi(ApiView, APIView):
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="media_item_findings_list",
        summary="Findings in a media item of the caller's own subjects (never another organisation's)",
        parameters=[FindingFilterSerializer],
        responses={200: FindingOutputSerializer(many=True), 404: OpenApiResponse(ErrorSerializer)},
        tags=["media"],
    )
    def get(self, request, pk: int):
        item = media_item_get_for_request(request, pk)
        filters = FindingFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        findings = Finding.objects.filter(
            media_item=item, organization_id__in=api_organization_ids(request), **filters.validated_data
        ).order_by("id")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(findings, request, view=self)
        return paginator.get_paginated_response(FindingOutputSerializer(page, many=True).data)
