"""A notice reaches the platform by e-mail (Message-ID kept) or by hand through a web form (recorded);
either way the takedown request is sent through its state machine, by legal staff only."""

import email
import hashlib
import smtplib
from email import policy
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse

from casework.models import AuditEvent, Notice, Regime, TakedownRequest
from casework.services import notice_delivery
from casework.services.audit import audit_verify
from casework.services.cases import case_open, takedown_request_create
from casework.services.consent import subject_create
from casework.services.notice_delivery import NoticeDeliveryError, notice_send, notice_submission_record
from casework.services.notices import NoticeDraft, notice_generate
from casework.services.takedowns import TransitionRoleRefused
from tests.casework.conftest import TARGET_URL
from tests.casework.test_notices import COMPLETE

S = TakedownRequest.State
RECIPIENT = "abuse@exampletube.example"


@pytest.fixture
def make_notice(org, caseworker, legal):
    def make(recipient: str = RECIPIENT, regime: str = Regime.TAKE_IT_DOWN) -> Notice:
        case = case_open(subject=subject_create(organization=org, display_name="Subject"), by=caseworker)
        request = takedown_request_create(case=case, platform="ExampleTube", target_url=TARGET_URL, regime=regime,
                                          recipient_email=recipient, by=caseworker)
        return notice_generate(request=request, draft=NoticeDraft.from_fields(COMPLETE[regime]), by=legal)

    return make


def state_of(notice: Notice) -> str:
    return TakedownRequest.objects.get(pk=notice.takedown_request_id).state


def test_sending_emails_the_pdf_records_the_message_id_and_sends_the_request(make_notice, legal):
    notice = make_notice()
    sent = notice_send(notice=notice, by=legal)
    [message] = mail.outbox
    assert message.to == [RECIPIENT] and message.reply_to == ["legal@support.example.org"]
    assert "TAKE IT DOWN Act" in message.subject and message.body == notice.text
    [(filename, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and hashlib.sha256(content).hexdigest() == notice.pdf_sha256
    assert message.message()["Message-ID"] == sent.message_id and sent.message_id.startswith("<")
    assert (sent.sent_via, sent.sent_by) == (Notice.Channel.EMAIL, legal) and sent.sent_at is not None
    assert state_of(notice) == S.SENT
    send_event, notice_event = AuditEvent.objects.order_by("-id")[:2][::-1]
    assert send_event.action == "takedown_request.send" and sent.message_id in send_event.data["note"]
    assert notice_event.action == "notice.sent" and notice_event.data["message_id"] == sent.message_id
    assert audit_verify() == []


def test_a_caseworker_may_not_send(make_notice, caseworker):
    notice = make_notice()
    with pytest.raises(TransitionRoleRefused):
        notice_send(notice=notice, by=caseworker)
    assert mail.outbox == [] and state_of(notice) == S.READY
    notice.refresh_from_db()
    assert notice.sent_at is None and notice.message_id == ""


def test_a_notice_is_sent_once(make_notice, legal):
    notice = make_notice()
    notice_send(notice=notice, by=legal)
    with pytest.raises(NoticeDeliveryError) as refused:
        notice_send(notice=notice, by=legal)
    assert refused.value.reason.startswith("This notice was already sent (E-mail,")
    assert len(mail.outbox) == 1


def test_a_failed_send_records_nothing(make_notice, legal):
    notice = make_notice()
    events = AuditEvent.objects.count()
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone")):
        with pytest.raises(smtplib.SMTPServerDisconnected):
            notice_send(notice=notice, by=legal)
    notice.refresh_from_db()
    assert notice.sent_at is None and state_of(notice) == S.READY
    assert AuditEvent.objects.count() == events


def test_without_a_recipient_address_it_says_to_use_the_web_form(make_notice, legal):
    notice = make_notice(recipient="")
    with pytest.raises(NoticeDeliveryError) as refused:
        notice_send(notice=notice, by=legal)
    assert refused.value.reason == notice_delivery.NO_RECIPIENT
    assert state_of(notice) == S.READY


def test_only_the_newest_notice_of_a_request_is_sent(make_notice, legal):
    older = make_notice()
    notice_generate(request=older.takedown_request, draft=NoticeDraft.from_fields(COMPLETE[Regime.TAKE_IT_DOWN]),
                    by=legal)
    with pytest.raises(NoticeDeliveryError) as refused:
        notice_send(notice=older, by=legal)
    assert refused.value.reason == notice_delivery.NOT_NEWEST


def test_a_web_form_submission_is_recorded_and_sends_the_request(make_notice, legal):
    notice = make_notice(recipient="")
    with pytest.raises(NoticeDeliveryError) as refused:
        notice_submission_record(notice=notice, by=legal, reference="  ")
    assert refused.value.reason == notice_delivery.SUBMISSION_NEEDS_REFERENCE
    recorded = notice_submission_record(notice=notice, by=legal, reference="exampletube.example/report, ticket 4711")
    assert (recorded.sent_via, recorded.submission_reference) == (Notice.Channel.WEB_FORM,
                                                                  "exampletube.example/report, ticket 4711")
    assert state_of(notice) == S.SENT and mail.outbox == []
    assert AuditEvent.objects.filter(action="notice.sent", data__via="web_form").count() == 1


def test_the_eml_download_is_the_message_that_was_sent(client, make_notice, legal):
    notice = make_notice()
    sent = notice_send(notice=notice, by=legal)
    client.force_login(legal)
    response = client.get(reverse("casework:notice_eml", args=[notice.pk]))
    assert response["Content-Type"] == "message/rfc822" and response["Content-Disposition"].startswith("attachment")
    parsed = email.message_from_bytes(response.content, policy=policy.default)
    assert parsed["Message-ID"] == sent.message_id and parsed["To"] == RECIPIENT
    [attachment] = list(parsed.iter_attachments())
    assert hashlib.sha256(attachment.get_content()).hexdigest() == notice.pdf_sha256
    assert TARGET_URL in parsed.get_body(("plain",)).get_content()


def test_the_notice_page_offers_sending_to_legal_staff_only(client, make_notice, legal, caseworker):
    notice = make_notice()
    url = reverse("casework:notice_detail", args=[notice.pk])
    client.force_login(caseworker)
    page = client.get(url).content.decode()
    assert "Copy-ready text" in page and "good faith belief" in page
    assert reverse("casework:notice_send", args=[notice.pk]) not in page
    assert client.post(reverse("casework:notice_send", args=[notice.pk])).status_code == 403
    assert client.post(reverse("casework:notice_submission", args=[notice.pk]), {"reference": "x"}).status_code == 403

    client.force_login(legal)
    assert reverse("casework:notice_send", args=[notice.pk]) in client.get(url).content.decode()
    response = client.post(reverse("casework:notice_send", args=[notice.pk]))
    assert response.status_code == 302 and response.url == url
    assert len(mail.outbox) == 1 and state_of(notice) == S.SENT
    assert "Message-ID" in client.get(url).content.decode()


def test_a_web_form_submission_through_the_page(client, make_notice, legal):
    notice = make_notice(recipient="")
    client.force_login(legal)
    page = client.get(reverse("casework:notice_detail", args=[notice.pk])).content.decode()
    assert "no recipient e-mail address" in page and "Send by e-mail" not in page
    response = client.post(reverse("casework:notice_submission", args=[notice.pk]), {"reference": "ticket 99"})
    assert response.status_code == 302 and state_of(notice) == S.SENT
