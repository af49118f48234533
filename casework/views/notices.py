"""A notice's page and its ways out: PDF, .eml, e-mail through the backend, and the
record of a web-form submission. Thin: fetch-and-authorise, call a service, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from casework import access
from casework.forms import NoticeSubmissionForm
from casework.notices import REGIMES
from casework.services.notice_delivery import (
    NoticeDeliveryError,
    notice_eml,
    notice_send,
    notice_submission_record,
)
from casework.services.takedowns import TransitionRefused, TransitionRoleRefused
from casework.views.files import private_file

NOTICE_EMAILED = _("Notice e-mailed to {email}; the request is sent.")
SUBMISSION_RECORDED = _("Web-form submission recorded; the request is sent.")


@require_GET
@login_required
def notice_detail(request, pk: int):
    notice = access.notice_get_for_user(request.user, pk)
    takedown = notice.takedown_request
    role = access.role_in(request.user, takedown.case.organization_id)
    directory = getattr(takedown, "directory_platform", None)
    context = {
        "notice": notice,
        "takedown": takedown,
        "case": takedown.case,
        "regime": REGIMES.get(notice.regime),
        "may_send": role in access.NOTICE_ISSUERS and notice.sent_at is None,
        "web_form_url": getattr(directory, "web_form_url", ""),
        "submission_form": NoticeSubmissionForm(),
    }
    return render(request, "casework/notice_detail.html", context)


@require_GET
@login_required
def notice_eml_download(request, pk: int):
    notice = access.notice_get_for_user(request.user, pk)
    response = HttpResponse(notice_eml(notice=notice), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="notice-{notice.pk}.eml"'
    response["Cache-Control"] = "private, no-store"
    return response


def _deliver(request, notice, deliver, success: str):
    # Sending commits the organisation: legal staff only, like the "send" transition it makes.
    access.require_role(request.user, notice.takedown_request.case.organization_id, access.NOTICE_ISSUERS)
    try:
        deliver()
    except TransitionRoleRefused as exc:
        raise PermissionDenied(exc.reason) from None
    except (NoticeDeliveryError, TransitionRefused) as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, success)
    return redirect("casework:notice_detail", pk=notice.pk)


@require_POST
@login_required
def notice_send_view(request, pk: int):
    notice = access.notice_get_for_user(request.user, pk)
    return _deliver(
        request, notice, lambda: notice_send(notice=notice, by=request.user),
        NOTICE_EMAILED.format(email=notice.takedown_request.recipient_email),
    )


@require_POST
@login_required
def notice_submission_view(request, pk: int):
    notice = access.notice_get_for_user(request.user, pk)
    form = NoticeSubmissionForm(request.POST)
    reference = form.cleaned_data["reference"] if form.is_valid() else ""
    return _deliver(
        request, notice, lambda: notice_submission_record(notice=notice, by=request.user, reference=reference),
        SUBMISSION_RECORDED,
    )


@require_GET
@login_required
def notice_pdf(request, pk: int):
    notice = access.notice_get_for_user(request.user, pk)
    return private_file(notice.pdf, attachment=True)
