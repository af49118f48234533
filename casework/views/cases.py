"""Case pages: the case, its media, the minors path, triage, notes and reports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from casework import access, deadlines, hash_feed_reads, selectors
from casework.forms import (
    CaseMediaForm,
    CaseNoteForm,
    CaseTriageForm,
)
from casework.services import minors
from casework.services.cases import case_media_add
from casework.views.paging import ListPages
from detection.services import media_items_mark_scan_again

# Each list of the case page is paginated on its own parameter: a heavy case has hundreds of requests and
# findings and thousands of timeline entries, and the page costs the same queries whatever their number.
CASE_LIST_PAGE_SIZE = 25
PAGE_PARAMS = {"requests": "requests_page", "media": "media_page", "findings": "findings_page",
               "timeline": "timeline_page"}
MINOR_RECORDED = _("Recorded: the person depicted is a minor. Its imagery is deleted; the hashes stay.")
CHOOSE_A_FILE = _("Choose a file to upload.")
FILE_ADDED = _("File added to the case; it is being scanned.")


@require_GET
@login_required
def case_detail(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    now = timezone.now()

    lists = ListPages(request, PAGE_PARAMS, CASE_LIST_PAGE_SIZE)
    page_of = lists.page

    requests_page = page_of("requests", case.takedown_requests.order_by("created_at", "pk"))
    context = {
        "case": case,
        "findings": page_of("findings", case.findings.select_related("media_item").order_by("pk")),
        "requests_page": requests_page,
        "takedown_requests": [(t, deadlines.deadline_state(t, now)) for t in requests_page],
        "consents": case.subject.consents.select_related("text").order_by("-granted_at") if case.subject else [],
        "media_items": page_of("media", media_items_mark_scan_again(minors.case_media_items(case).order_by("pk"))),
        "media_form": CaseMediaForm(),
        "take_it_down_url": minors.TAKE_IT_DOWN_URL,
        "iwf_url": minors.IWF_URL,
        "timeline": selectors.case_timeline_page(case, request.GET.get(PAGE_PARAMS["timeline"])),
        **lists.context(),
        "triage_form": CaseTriageForm(
            organization=case.organization,
            initial={"assignee": case.assignee_id, "priority": case.priority, "tags": ", ".join(case.tags)},
        ),
        "note_form": CaseNoteForm(),
        # What the hash feed's platforms reported on the subject's shared hashes (casework.hash_feed_reads).
        "platform_feedback": hash_feed_reads.feedback_for_subject(case.subject),
    }
    return render(request, "casework/case_detail.html", context)


@require_POST
@login_required
def case_minor_record_view(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    minors.case_minor_record(case=case, by=request.user)
    messages.success(request, MINOR_RECORDED)
    return redirect("casework:case_detail", pk=case.pk)


@require_POST
@login_required
def case_media_upload(request, pk: int):
    case = access.case_get_for_user(request.user, pk)
    access.require_role(request.user, case.organization_id, access.REVIEWERS)
    form = CaseMediaForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, CHOOSE_A_FILE)
        return redirect("casework:case_detail", pk=case.pk)
    upload = form.cleaned_data["file"]
    try:
        case_media_add(case=case, data=upload.read(), filename=upload.name, by=request.user)
    except minors.MinorImageryRefused as exc:
        messages.error(request, exc.reason)
        return redirect("casework:case_detail", pk=case.pk)
    messages.success(request, FILE_ADDED)
    return redirect("casework:case_detail", pk=case.pk)
