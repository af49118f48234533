"""The consent receipt: what the subject agreed to, in the exact words, and how to take it back."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from casework.models import Consent, ConsentPurpose
from casework.services.notices import render_pdf


def consent_receipt_pdf(*, consent: Consent) -> bytes:
    """A PDF for the subject. It holds the consent record only: no photos, templates or hashes."""
    context = {
        "consent": consent,
        "subject": consent.subject,
        "organization": consent.subject.organization,
        "text": consent.text,
        "purposes": [ConsentPurpose(p).label for p in consent.purposes],
        "issued_at": timezone.now(),
    }
    return render_pdf(render_to_string("casework/consent_receipt.html", context))
