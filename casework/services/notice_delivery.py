"""Getting a notice to the platform: by e-mail through Django's e-mail backend (the Message-ID is
kept, so a reply or a dispute can be matched to what was sent), or by hand through the platform's
web form, recorded here. Either way the takedown request is sent through its state machine."""

from __future__ import annotations

from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.models import Notice
from casework.notices import REGIMES
from casework.services.audit import audit_record
from casework.services.takedowns import takedown_transition
from detection.engine.errors import ReadableError

NO_RECIPIENT = _(
    "This request has no recipient e-mail address: submit the notice through the platform's web form, "
    "then record the submission here."
)
ALREADY_SENT = _("This notice was already sent ({via}, {at:%Y-%m-%d %H:%M} UTC).")
NOT_NEWEST = _("A newer notice exists for this request; send that one.")
SUBMISSION_NEEDS_REFERENCE = _(
    "Say where the notice was submitted and the confirmation or ticket number the platform gave."
)


class NoticeDeliveryError(ReadableError):
    pass


def _message_id(notice: Notice) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or str(DNS_NAME)
    return make_msgid(idstring=f"notice-{notice.pk}", domain=domain)


def notice_email(*, notice: Notice, message_id: str = "") -> EmailMessage:
    """The notice as an e-mail: its copy-ready text as the body, its PDF attached. A sent notice keeps
    the Message-ID it was sent with, so its .eml is the message the platform received."""
    request = notice.takedown_request
    reference = f"{request.case.reference}-{request.pk}"
    message = EmailMessage(
        subject=REGIMES[notice.regime].subject.format(reference=reference),
        body=notice.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[request.recipient_email] if request.recipient_email else [],
        reply_to=[notice.contact_email] if notice.contact_email else [],
        headers={"Message-ID": message_id or notice.message_id or _message_id(notice)},
    )
    with notice.pdf.open("rb") as pdf:
        message.attach(f"notice-{reference}.pdf", pdf.read(), "application/pdf")
    return message


def notice_eml(*, notice: Notice) -> bytes:
    return notice_email(notice=notice).message().as_bytes()


def _lock_unsent(notice: Notice) -> Notice:
    locked = Notice.objects.select_for_update().select_related("takedown_request__case__organization").get(
        pk=notice.pk
    )
    if locked.sent_at is not None:
        raise NoticeDeliveryError(ALREADY_SENT.format(via=locked.get_sent_via_display(), at=locked.sent_at))
    newest = locked.takedown_request.notices.order_by("-created_at", "-pk").values_list("pk", flat=True).first()
    if newest != locked.pk:
        raise NoticeDeliveryError(NOT_NEWEST)
    return locked


def notice_send(*, notice: Notice, by) -> Notice:
    """E-mail the notice to the request's recipient, record its Message-ID, and send the request.

    Sending is legal staff's (the "send" transition): it commits the organisation and starts the
    platform's legal clock. Raises NoticeDeliveryError, TransitionRefused or TransitionRoleRefused.
    """
    with transaction.atomic():
        # The lock makes a double click send one e-mail: the second sees sent_at and is refused.
        locked = _lock_unsent(notice)
        request = locked.takedown_request
        if not request.recipient_email:
            raise NoticeDeliveryError(NO_RECIPIENT)
        message_id = _message_id(locked)
        # The state machine first: it refuses a role or state before anything leaves the building.
        takedown_transition(
            request=request, action="send", by=by,
            note=f"notice {locked.pk} e-mailed to {request.recipient_email}, Message-ID {message_id}",
        )
        # Inside the transaction: a failed send raises and nothing is recorded as sent. (A commit that
        # failed after a successful send would lose the record of a sent e-mail; that is the rarer harm.)
        notice_email(notice=locked, message_id=message_id).send(fail_silently=False)
        locked.sent_via, locked.sent_at, locked.sent_by = Notice.Channel.EMAIL, timezone.now(), by
        locked.message_id = message_id
        locked.save(update_fields=["sent_via", "sent_at", "sent_by", "message_id"])
        audit_record(
            action="notice.sent", actor=by, organization=request.case.organization, target=locked,
            data={"via": Notice.Channel.EMAIL, "to": request.recipient_email, "message_id": message_id,
                  "pdf_sha256": locked.pdf_sha256},
        )
    return locked


def notice_submission_record(*, notice: Notice, by, reference: str) -> Notice:
    """Record that the notice was submitted by hand through the platform's web form, and send the request."""
    reference = reference.strip()
    if not reference:
        raise NoticeDeliveryError(SUBMISSION_NEEDS_REFERENCE)
    with transaction.atomic():
        locked = _lock_unsent(notice)
        request = locked.takedown_request
        takedown_transition(
            request=request, action="send", by=by, note=f"notice {locked.pk} submitted by web form: {reference}"
        )
        locked.sent_via, locked.sent_at, locked.sent_by = Notice.Channel.WEB_FORM, timezone.now(), by
        locked.submission_reference = reference
        locked.save(update_fields=["sent_via", "sent_at", "sent_by", "submission_reference"])
        audit_record(
            action="notice.sent", actor=by, organization=request.case.organization, target=locked,
            data={"via": Notice.Channel.WEB_FORM, "reference": reference, "pdf_sha256": locked.pdf_sha256},
        )
    return locked
