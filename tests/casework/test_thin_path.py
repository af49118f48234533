"""The whole thin path through the product, as its users walk it: a finding appears, a caseworker
confirms it, a case and a takedown request exist, legal staff issue a TAKE IT DOWN Act notice."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from casework.models import AuditEvent, Case, Notice, Regime, TakedownRequest
from casework.services import notices
from casework.services.audit import audit_verify
from detection.models import Finding
from tests.detection.test_scan import scan

URL = "https://video.example.com/watch/abc123"


@pytest.fixture
def finding(astronaut_subject, images):
    return scan(images["reported-astronaut.jpg"], url=URL).findings.get()


def confirm(client, finding, **overrides):
    data = {"platform": "ExampleTube", "target_url": URL, "regime": Regime.TAKE_IT_DOWN, **overrides}
    return client.post(reverse("casework:finding_confirm", args=[finding.pk]), data)


NOTICE = {
    "signer_name": "Jordan Advocate",
    "signer_capacity": "Authorised representative of the person depicted",
    "contact_email": "legal@support.example.org",
    "statement": notices.TAKE_IT_DOWN_GOOD_FAITH,
    "supporting_information": "The person depicted never agreed to its publication; a former partner posted it.",
    "signature_consent": True,
}


def test_match_to_notice(client, caseworker, legal, finding, django_capture_on_commit_callbacks):
    client.force_login(caseworker)
    queue = client.get(reverse("casework:review_queue"))
    assert queue.status_code == 200 and reverse("casework:finding_detail", args=[finding.pk]) in queue.content.decode()

    page = client.get(reverse("casework:finding_detail", args=[finding.pk])).content.decode()
    assert 'class="blurred"' in page and URL in page  # blurred until someone chooses to look
    assert "Signs of manipulation" in page
    assert finding.media_item.indicators.count() >= 5
    for indicator in finding.media_item.indicators.all():  # every measured signal is shown, with its meaning
        assert indicator.name in page and indicator.meaning[:40] in page
    media = client.get(reverse("casework:finding_media", args=[finding.pk]))
    assert media.status_code == 200 and media["Cache-Control"] == "private, no-store"

    response = confirm(client, finding)
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("casework:case_detail", args=[case.pk])
    finding.refresh_from_db()
    assert finding.status == Finding.Status.CONFIRMED and finding.reviewed_by == caseworker
    takedown = TakedownRequest.objects.get(case=case)
    assert (takedown.platform, takedown.target_url, takedown.regime) == ("ExampleTube", URL, Regime.TAKE_IT_DOWN)
    assert list(case.findings.all()) == [finding]

    client.force_login(legal)
    incomplete = client.post(reverse("casework:notice_create", args=[takedown.pk]), {**NOTICE, "contact_email": ""})
    assert incomplete.status_code == 400
    assert "contact information for the person making the request" in incomplete.content.decode()
    assert not Notice.objects.exists()

    response = client.post(reverse("casework:notice_create", args=[takedown.pk]), NOTICE)
    assert response.status_code == 302
    notice = Notice.objects.get()
    takedown.refresh_from_db()
    assert takedown.state == TakedownRequest.State.READY

    pdf = client.get(reverse("casework:notice_pdf", args=[notice.pk]))
    body = b"".join(pdf.streaming_content)
    assert pdf["Content-Disposition"].startswith("attachment")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    for element in (URL, "Jordan Advocate", "Authorised representative", "legal@support.example.org",
                    "good faith belief", "48 hours", case.reference):
        assert element in " ".join(text.split()), element

    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "subject.created", "consent.granted", "reference_photo.added",
        "finding.confirmed", "case.opened", "takedown_request.created", "notice.generated",
        "takedown_request.prepare",
    ]
    assert audit_verify() == []


def test_a_second_finding_joins_the_open_case(client, caseworker, enrol, finding, images):
    client.force_login(caseworker)
    confirm(client, finding)
    other = scan(images["reported-astronaut.jpg"], url="https://mirror.example.net/x").findings.get()
    confirm(client, other, target_url="https://mirror.example.net/x")
    case = Case.objects.get()
    assert case.findings.count() == 2 and case.takedown_requests.count() == 2


def test_rejecting_needs_a_reason(client, caseworker, finding):
    client.force_login(caseworker)
    assert client.post(reverse("casework:finding_reject", args=[finding.pk]), {"reason": ""}).status_code == 400
    response = client.post(reverse("casework:finding_reject", args=[finding.pk]), {"reason": "a different person"})
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.status == Finding.Status.REJECTED and finding.review_reason == "a different person"
    assert not Case.objects.exists()


def test_a_decided_finding_cannot_be_decided_again(client, caseworker, finding):
    client.force_login(caseworker)
    confirm(client, finding)
    response = confirm(client, finding, target_url="https://other.example/1")
    assert response.status_code == 302
    assert TakedownRequest.objects.count() == 1


def test_roles_are_enforced(client, caseworker, legal, finding):
    client.force_login(legal)
    assert confirm(client, finding).status_code == 403
    client.force_login(caseworker)
    confirm(client, finding)
    takedown = TakedownRequest.objects.get()
    assert client.post(reverse("casework:notice_create", args=[takedown.pk]), NOTICE).status_code == 403
    assert not Notice.objects.exists()


def test_each_regime_has_its_own_form_and_checklist(client, caseworker, legal, finding):
    client.force_login(caseworker)
    confirm(client, finding, regime=Regime.DMCA)
    client.force_login(legal)
    takedown = TakedownRequest.objects.get()
    page = client.get(reverse("casework:takedown_detail", args=[takedown.pk])).content.decode()
    assert 'name="copyrighted_work"' in page and 'name="supporting_information"' not in page
    response = client.post(reverse("casework:notice_create", args=[takedown.pk]), NOTICE)  # TAKE IT DOWN's fields
    assert response.status_code == 400
    assert "identification of the copyrighted work" in response.content.decode()
    assert not Notice.objects.exists()
