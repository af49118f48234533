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
from casework.views.paging import ListPages

# Each list is paginated on its own parameter, as on the case page: a heavy case has hundreds of media items
# and takedown requests, and the page costs the same queries and about the same bytes whatever their number.
# The counts come from the paginators (SQL COUNT); the evidence pack, not this page, holds all of it.
EVIDENCE_LIST_PAGE_SIZE = 25
PAGE_PARAMS = {"media": "media_page", "requests": "requests_page", "notices": "notices_page"}


@require_GET
@login_required
def case_evidence(request, pk: int):
    case = access.case_get_for_user(request.user, pk)

    lists = ListPages(request, PAGE_PARAMS, EVIDENCE_LIST_PAGE_SIZE)
    page_of = lists.page

    # Scoped by the request's organisation column as every organisation's list is (issue 17), besides the case.
    notices = Notice.objects.filter(takedown_request__organization_id=case.organization_id,
                                    takedown_request__case=case)
    context = {
        "case": case,
        "media_items": page_of("media", case_media_items(case).order_by("pk")),
        "takedown_requests": page_of("requests", case.takedown_requests.order_by("pk")),
        # The list shows a notice's number, regime and PDF hash: not its text, drafted elements or signature.
        "notices": page_of("notices", notices.only("pk", "regime", "pdf_sha256").order_by("pk")),
        "audit_events": case_audit_events(case).count(),
        **lists.context(),
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
