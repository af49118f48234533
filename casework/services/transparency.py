"""Transparency export: what notices were sent, to whom, under which law and with what outcome, in a
shape close to the Lumen database's notices (lumendatabase.org), with nothing that identifies a victim.

Left out on purpose: the subject, signer and data subject, contact details, statements and
explanations, case references, notice texts and PDFs. URLs are reduced to their host and a SHA-256 of
the full URL: a path often carries a person's name or handle, and a published URL of content that is
still up would point people to it. The hash still lets a platform or researcher match a URL they hold.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import urlsplit

from django.db.models.functions import Coalesce
from django.utils import timezone, translation

from casework.models import Notice, Organization, Regime, TakedownRequest

EXPORT_FORMAT = "reclaim-transparency/1"
S = TakedownRequest.State
# The outcome a reader of a transparency report asks about, from the request's state.
OUTCOMES = {
    S.SENT: "pending", S.ACKNOWLEDGED: "pending", S.READY: "pending", S.DRAFT: "pending",
    S.REMOVED: "removed", S.REMOVAL_VERIFIED: "removed", S.REFUSED: "refused",
    S.NO_RESPONSE: "no_response", S.ESCALATED: "escalated", S.REOPENED: "reappeared", S.CLOSED: "closed",
}
# Lumen's notice types, where one fits; the regime says the rest.
LUMEN_TYPES = {
    Regime.DMCA: "DMCA", Regime.DSA: "Other", Regime.GDPR: "DataProtection",
    Regime.DELISTING: "DataProtection", Regime.TAKE_IT_DOWN: "Other",
}


def _url(url: str) -> dict:
    return {"host": urlsplit(url).hostname or "", "url_sha256": hashlib.sha256(url.encode()).hexdigest()}


def transparency_export(*, since: dt.date, organization: Organization | None = None) -> dict:
    """Notices sent on or after ``since`` (recorded sending, or the request's), oldest first."""
    start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
    notices = (
        Notice.objects.annotate(sent=Coalesce("sent_at", "takedown_request__sent_at"))
        .filter(sent__gte=start)
        .select_related("takedown_request")
        .order_by("sent", "pk")
    )
    if organization is not None:
        notices = notices.filter(takedown_request__case__organization=organization)
    # A record for the public in the regimes' own words (English, as the notices), whoever exports it.
    with translation.override(None):
        regime_names = {value: str(label) for value, label in Regime.choices}
    entries = []
    for notice in notices:
        request = notice.takedown_request
        urls = [request.target_url, *notice.details.get("additional_urls", "").split()]
        entries.append({
            "id": notice.pk,
            "type": LUMEN_TYPES.get(notice.regime, "Other"),
            "regime": notice.regime,
            "regime_name": regime_names[notice.regime],
            "sender_type": "authorised_representative" if notice.signer_is_representative else "person_depicted",
            "sender_organization_type": "victim_support_organisation",
            "recipient_name": request.platform,
            "date_generated": notice.created_at.date().isoformat(),
            "date_sent": notice.sent.date().isoformat(),
            "sent_via": notice.sent_via or "recorded_as_sent",
            "works": [{"infringing_urls": [_url(u) for u in urls if u]}],
            "known_copies": len(notice.known_copies),
            "action_taken": OUTCOMES.get(request.state, "pending"),
            "outcome_date": request.state_changed_at.date().isoformat() if request.state_changed_at else None,
        })
    return {
        "format": EXPORT_FORMAT,
        "generated_at": timezone.now().isoformat(),
        "since": since.isoformat(),
        "organization": organization.name if organization else None,
        "notices": entries,
    }
