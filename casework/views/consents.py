"""Consent receipts, and withdrawals a subject asks staff to record (a call, a letter, in person)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from casework import access, selectors
from casework.forms import WithdrawalOnBehalfForm
from casework.services.consent import ConsentError, consent_withdraw
from casework.services.receipts import consent_receipt_pdf

WITHDRAWN = _("Consent withdrawn for {subject}: {deleted} stored item(s) deleted.")


@require_GET
@login_required
def consent_receipt(request, pk: int):
    consent = access.consent_get_for_user(request.user, pk)
    response = HttpResponse(consent_receipt_pdf(consent=consent), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{consent.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def consent_withdraw_view(request, pk: int):
    """Whoever takes the subject's request records it at once: withdrawal is the subject's right, and
    it purges their biometric data (casework.services.consent.consent_withdraw)."""
    consent = access.consent_get_for_user(request.user, pk)
    access.require_role(request.user, consent.subject.organization_id, access.STAFF)
    form = WithdrawalOnBehalfForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            summary = consent_withdraw(consent=consent, by=request.user, reason=form.cleaned_data["how"])
        except ConsentError as exc:
            messages.error(request, exc.reason)
        else:
            messages.success(request, WITHDRAWN.format(subject=consent.subject, deleted=summary.stored_items))
        return redirect("casework:subject_detail", pk=consent.subject_id)
    return render(request, "casework/consent_withdraw.html", {
        "consent": consent, "form": form,
        "consequences": selectors.consent_withdrawal_consequences(consent) if consent.is_active else [],
    }, status=400 if form.errors else 200)
