"""Notices: one template and one checklist of statutory elements per regime."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from casework.models import Notice, Regime, TakedownRequest
from casework.services.audit import audit_record
from casework.services.takedowns import takedown_transition
from detection.engine.errors import ReadableError

TAKE_IT_DOWN_GOOD_FAITH = (
    "I have a good faith belief that the intimate visual depiction identified in this request is not "
    "consensual: it was published without the consent of the person depicted."
)
REGIME_NOT_AVAILABLE = "Notices under {regime} are not available yet."
MISSING_ELEMENTS = "The notice cannot be issued; it is missing: {elements}."


@dataclass(frozen=True)
class NoticeDraft:
    signer_name: str
    signer_capacity: str
    contact_email: str
    statement: str


@dataclass(frozen=True)
class Element:
    label: str
    present: bool


class NoticeIncomplete(ReadableError):
    def __init__(self, missing: list[str]):
        super().__init__(MISSING_ELEMENTS.format(elements="; ".join(missing)))
        self.missing = missing


def take_it_down_elements(request: TakedownRequest, draft: NoticeDraft) -> list[Element]:
    """The four elements of a valid removal request (TAKE IT DOWN Act, Pub. L. 119-12, § 3(a)(1)(B))."""
    return [
        Element("a physical or electronic signature of the person depicted or their authorised representative",
                bool(draft.signer_name.strip() and draft.signer_capacity.strip())),
        Element("identification of the depiction and information to locate it (its URL)", bool(request.target_url)),
        Element("a brief statement of good faith belief that the depiction is not consensual",
                bool(draft.statement.strip())),
        Element("contact information for the person making the request", bool(draft.contact_email.strip())),
    ]


_PREPARED_BY_NOTICE = {TakedownRequest.State.DRAFT, TakedownRequest.State.REOPENED}
_CHECKLISTS = {Regime.TAKE_IT_DOWN: take_it_down_elements}
_TEMPLATES = {Regime.TAKE_IT_DOWN: "notices/take_it_down.html"}


def notice_available(regime: str) -> bool:
    return regime in _CHECKLISTS


def notice_elements(request: TakedownRequest, draft: NoticeDraft) -> list[Element]:
    checklist = _CHECKLISTS.get(request.regime)
    if checklist is None:
        raise NoticeIncomplete([REGIME_NOT_AVAILABLE.format(regime=request.get_regime_display())])
    return checklist(request, draft)


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML  # heavy; only notice rendering needs it

    return HTML(string=html).write_pdf()


def notice_generate(*, request: TakedownRequest, draft: NoticeDraft, by) -> Notice:
    missing = [e.label for e in notice_elements(request, draft) if not e.present]
    if missing:
        raise NoticeIncomplete(missing)
    issued_at = timezone.now()
    html = render_to_string(
        _TEMPLATES[request.regime],
        {"request": request, "case": request.case, "draft": draft, "issued_at": issued_at},
    )
    pdf = render_pdf(html)
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        notice = Notice(
            takedown_request=request,
            regime=request.regime,
            signer_name=draft.signer_name,
            signer_capacity=draft.signer_capacity,
            contact_email=draft.contact_email,
            statement=draft.statement,
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
            data={"takedown_request": request.pk, "regime": request.regime, "pdf_sha256": digest},
        )
        # A complete notice makes a draft (or re-opened) request ready to send. Read the state under the
        # lock: a notice generated for a request already sent must not move it back.
        state = TakedownRequest.objects.select_for_update().values_list("state", flat=True).get(pk=request.pk)
        if state in _PREPARED_BY_NOTICE:
            request = takedown_transition(request=request, action="prepare", by=by, note=f"notice {notice.pk}")
    return notice
