"""A case's evidence: what was captured for each media item, and the evidence pack download."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from casework import access
from casework.models import Notice
from casework.services.evidence import case_audit_events, evidence_pack_export
from casework.services.minors import case_media_items


@require_GET
@login_required
def case_evidence(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    context = {
        "case": case,
        "media_items": case_media_items(case).order_by("pk"),
        "takedown_requests": case.takedown_requests.order_by("pk"),
        "notices": Notice.objects.filter(takedown_request__case=case).order_by("pk"),
        "audit_events": case_audit_events(case).count(),
    }
    return render(request, "casework/case_evidence.html", context)


@require_POST  # the export is written to the audit log
@login_required
def case_evidence_export(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    access.require_role(request.user, case.organization_id, access.STAFF)
    response = HttpResponse(evidence_pack_export(case=case, by=request.user), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="evidence-{case.reference}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response
