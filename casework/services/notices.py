"""Notices: one template and one checklist of required elements per regime (casework.notices), and
``notice_generate``, the one way a notice is issued."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from casework.models import Notice, TakedownRequest
from casework.notices import REGIMES, Element, NoticeDraft, RegimeNotice
from casework.notices.base import authority_consent_for
from casework.notices.take_it_down import GOOD_FAITH as TAKE_IT_DOWN_GOOD_FAITH
from casework.notices.text import html_to_text
from casework.services.audit import audit_record
from casework.services.takedowns import takedown_transition
from detection.encryption import stored_file_read
from detection.engine.errors import ReadableError
from detection.models import MediaItem

__all__ = [
    "TAKE_IT_DOWN_GOOD_FAITH", "Element", "NoticeDraft", "NoticeIncomplete", "notice_available",
    "notice_elements", "notice_generate", "notice_known_copies", "render_pdf",
]

NOTICE_LANGUAGE = "en"
# Said to the issuer on the takedown page, in their language; the elements keep the regime's words (English).
REGIME_NOT_AVAILABLE = gettext_lazy("Notices under {regime} are not available yet.")
MISSING_ELEMENTS = gettext_lazy("The notice cannot be issued; it is missing: {elements}.")


class NoticeIncomplete(ReadableError):
    def __init__(self, missing: list[str]):
        super().__init__(MISSING_ELEMENTS.format(elements="; ".join(missing)))
        self.missing = missing


_PREPARED_BY_NOTICE = {TakedownRequest.State.DRAFT, TakedownRequest.State.REOPENED}


def notice_available(regime: str) -> bool:
    return regime in REGIMES


def notice_regime(request: TakedownRequest) -> RegimeNotice:
    definition = REGIMES.get(request.regime)
    if definition is None:
        raise NoticeIncomplete([REGIME_NOT_AVAILABLE.format(regime=request.get_regime_display())])
    return definition


def notice_elements(request: TakedownRequest, draft: NoticeDraft) -> list[Element]:
    return notice_regime(request).elements(request, draft)


def notice_known_copies(request: TakedownRequest) -> list[dict]:
    """Other places the matcher found the subject's imagery in this case: URL and SHA-256 of each,
    so the platform can find copies the notice's own URL does not name."""
    case = request.case
    if case.subject_id is None:
        return []
    # One filter() call: the case's finding must also be a finding of its subject.
    items = MediaItem.objects.filter(findings__cases=case, findings__subject_id=case.subject_id).distinct()
    copies, seen = [], {request.target_url}
    for item in items.order_by("pk"):
        url = item.page_url or item.source_url
        if url and url not in seen:
            seen.add(url)
            copies.append({"url": url, "sha256": item.sha256, "media_item": item.pk})
    return copies


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy; only notice rendering needs it

    return HTML(string=html).write_pdf()


def notice_generate(*, request: TakedownRequest, draft: NoticeDraft, by) -> Notice:
    """Render and keep the notice if every element the regime requires is there; the request becomes
    ready to send. Raises NoticeIncomplete naming what is missing."""
    # Fresh from the database: what the case records (a minor, for DSA's exemption) decides elements.
    request = TakedownRequest.objects.select_related("case__organization", "case__subject").get(pk=request.pk)
    definition = notice_regime(request)
    missing = [e.label for e in definition.elements(request, draft) if not e.present]
    if missing:
        raise NoticeIncomplete(missing)
    if definition.withhold:
        draft = definition.withhold(request, draft)
    issued_at = timezone.now()
    authority = authority_consent_for(request) if draft.signer_is_representative else None
    authority_sha256 = hashlib.sha256(stored_file_read(authority.authority_document)).hexdigest() if authority else ""
    signed = bool(draft.signature_consent and draft.signer_name.strip())
    details = {name: getattr(draft, name) for name in definition.detail_fields}
    details = {k: list(v) if isinstance(v, tuple) else v for k, v in details.items()}  # as JSON stores it
    known_copies = notice_known_copies(request)
    context = {
        "request": request, "case": request.case, "draft": draft, "issued_at": issued_at,
        "urls": draft.urls(request), "known_copies": known_copies, "signed": signed,
        "authority": authority, "authority_sha256": authority_sha256,
        **(definition.context(request, draft) if definition.context else {}),
    }
    # Notices to platforms stay in the regime's language, English, whatever language the issuer reads
    # (README, "Languages"): no translated label may slip into one from a model or a form.
    with translation.override(NOTICE_LANGUAGE):
        html = render_to_string(definition.template, context)
    pdf = render_pdf(html)
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        notice = Notice(
            takedown_request=request,
            regime=request.regime,
            signer_name=draft.signer_name,
            signer_capacity=draft.signer_capacity,
            contact_email=draft.contact_email,
            statement=draft.statement if definition.statement_field else "",
            details=details,
            text=html_to_text(html),
            signed_at=issued_at if signed else None,
            signature_image=draft.signature_image if signed else "",
            signer_is_representative=draft.signer_is_representative,
            authority_consent=authority,
            authority_document_sha256=authority_sha256,
            known_copies=known_copies,
            pdf_sha256=digest,
            created_by=by,
        )
        notice.pdf.save(f"{request.case.reference}-{request.pk}-{digest[:12]}.pdf", ContentFile(pdf), save=False)
        notice.save()
        audit_record(
            action="notice.generated",
            actor=by,
            organization=request.case.organization,
            target=notice,
            data={"takedown_request": request.pk, "regime": request.regime, "pdf_sha256": digest,
                  "signed_at": issued_at.isoformat() if signed else None,
                  "authority_document_sha256": authority_sha256, "known_copies": len(known_copies)},
        )
        # A complete notice makes a draft (or re-opened) request ready to send. Read the state under the
        # lock: a notice generated for a request already sent must not move it back.
        state = TakedownRequest.objects.select_for_update().values_list("state", flat=True).get(pk=request.pk)
        if state in _PREPARED_BY_NOTICE:
            request = takedown_transition(request=request, action="prepare", by=by, note=f"notice {notice.pk}")
    return notice
