"""Consent receipts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from casework import access
from casework.services.receipts import consent_receipt_pdf


@require_GET
@login_required
def consent_receipt(request, pk: int):
    consent = access.consent_get_for_user(request.user, pk)
    response = HttpResponse(consent_receipt_pdf(consent=consent), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{consent.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
