"""Takedown requests of the caller's organisation: list (filter by state, regime), read, transition."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from casework.access import role_in
from casework.api.common import WRITE_SCOPE, ApiPagination, ApiView, ErrorSerializer, api_organization_ids
from casework.models import Notice, Regime, TakedownRequest
from casework.services.takedowns import (
    ACTIONS,
    TransitionRefused,
    TransitionRoleRefused,
    takedown_actions_available,
    takedown_transition,
)

NO_SUCH_TAKEDOWN_REQUEST = "No such takedown request."


def takedown_requests_for_request(request):
    # Filtered on the request's own organisation column and ordered as the (organization, -created_at, -id)
    # index is, so a deep page reads the index instead of sorting every request. ``has_notice`` answers
    # the "prepare" check for the whole page in this one query (takedown_actions_available), not per row.
    return (
        TakedownRequest.objects.filter(organization_id__in=api_organization_ids(request))
        .select_related("case")
        .annotate(has_notice=Exists(Notice.objects.filter(takedown_request=OuterRef("pk"))))
        .order_by("-created_at", "-id")
    )


def takedown_request_get_for_request(request, pk: int) -> TakedownRequest:
    found = takedown_requests_for_request(request).filter(pk=pk).first()
    if found is None:
        raise Http404(NO_SUCH_TAKEDOWN_REQUEST)
    return found


class TakedownFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=TakedownRequest.State.choices, required=False)
    regime = serializers.ChoiceField(choices=Regime.choices, required=False)


class TakedownOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    case = serializers.CharField(source="case.reference")
    platform = serializers.CharField()
    target_url = serializers.CharField()
    regime = serializers.ChoiceField(choices=Regime.choices)
    state = serializers.ChoiceField(choices=TakedownRequest.State.choices)
    created_at = serializers.DateTimeField()
    state_changed_at = serializers.DateTimeField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    deadline_at = serializers.DateTimeField(allow_null=True)
    actions = serializers.SerializerMethodField(help_text="What the caller may do with PATCH {\"action\": …} now.")

    def get_actions(self, obj) -> list[str]:
        role = self.context["roles"].get(obj.organization_id)
        return [action for action, _label in takedown_actions_available(request=obj, role=role)]


class TakedownTransitionInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(ACTIONS.items()))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


def _roles(request, requests) -> dict[int, str | None]:
    return {org_id: role_in(request.user, org_id) for org_id in {r.organization_id for r in requests}}


class TakedownListApi(ApiView, APIView):
    pagination_class = ApiPagination

    @extend_schema(
        operation_id="takedown_requests_list",
        summary="Takedown requests of the caller's organisation, newest first",
        parameters=[TakedownFilterSerializer],
        responses={200: TakedownOutputSerializer(many=True)},
        tags=["takedown requests"],
    )
    def get(self, request):
        filters = TakedownFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        requests = takedown_requests_for_request(request).filter(**filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(requests, request, view=self)
        output = TakedownOutputSerializer(page, many=True, context={"roles": _roles(request, page)})
        return paginator.get_paginated_response(output.data)


class TakedownDetailApi(ApiView, APIView):
    def get_throttles(self):
        # Reading one request is cheap; changing one is a write.
        self.throttle_scope = WRITE_SCOPE if self.request.method == "PATCH" else self.throttle_scope
        return super().get_throttles()

    @extend_schema(
        operation_id="takedown_request_retrieve",
        summary="One takedown request",
        responses={200: TakedownOutputSerializer, 404: OpenApiResponse(ErrorSerializer)},
        tags=["takedown requests"],
    )
    def get(self, request, pk: int):
        found = takedown_request_get_for_request(request, pk)
        return Response(TakedownOutputSerializer(found, context={"roles": _roles(request, [found])}).data)

    @extend_schema(
        operation_id="takedown_request_transition",
        summary="Move a takedown request along its states (casework.services.takedowns.TRANSITIONS)",
        request=TakedownTransitionInputSerializer,
        responses={
            200: TakedownOutputSerializer,
            403: OpenApiResponse(ErrorSerializer, description="The caller's role may not take this action."),
            404: OpenApiResponse(ErrorSerializer),
            409: OpenApiResponse(ErrorSerializer, description="The request's state does not allow this action."),
        },
        tags=["takedown requests"],
    )
    def patch(self, request, pk: int):
        found = takedown_request_get_for_request(request, pk)
        serializer = TakedownTransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            changed = takedown_transition(
                request=found, action=serializer.validated_data["action"], by=request.user,
                note=serializer.validated_data.get("note", ""),
            )
        except TransitionRoleRefused as exc:
            return Response({"detail": exc.reason}, status=status.HTTP_403_FORBIDDEN)
        except TransitionRefused as exc:
            return Response({"detail": exc.reason}, status=status.HTTP_409_CONFLICT)
        changed = takedown_request_get_for_request(request, changed.pk)
        return Response(TakedownOutputSerializer(changed, context={"roles": _roles(request, [changed])}).data)
