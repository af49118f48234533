"""Subjects on the desk: caseworkers enrol a subject (consent, then a reference photo, all or
nothing), every member of staff sees their consents and cases, and a caseworker turns off the portal
sign-in codes of a subject who lost their phone, with the reason audited."""

from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose, Subject
from casework.services.two_factor import totp_device_create_confirmed
from detection.models import FaceTemplate, ReferencePhoto
from detection.services import NO_FACE_IN_REFERENCE
from tests import factories

ENROL = reverse("casework:subject_enrol")


def enrolment(org, consent_text, photo: bytes, **overrides):
    return {
        "organization": org.pk, "display_name": "Robin", "contact_email": "robin@example.org",
        "consent_text": consent_text.pk, "purposes": [ConsentPurpose.LIKENESS_MATCHING],
        "method": ConsentMethod.PAPER_WITNESSED, "signature": "Robin", "photo": SimpleUploadedFile("me.jpg", photo),
        **overrides,
    }


def test_a_caseworker_enrols_a_subject_from_the_desk(client, caseworker, org, consent_text, images):
    client.force_login(caseworker)
    response = client.post(ENROL, enrolment(org, consent_text, images["reference.jpg"]), follow=True)
    subject = Subject.objects.get(display_name="Robin")
    assert response.redirect_chain[-1][0] == reverse("casework:subject_detail", args=[subject.pk])
    page = unescape(response.content.decode())
    assert "Enrolled Robin with consent and one reference photo." in page and "1 reference photo " in page
    assert subject.organization == org and subject.consents.get().is_active
    assert ReferencePhoto.objects.filter(subject=subject).count() == 1
    assert AuditEvent.objects.filter(action="consent.granted", actor=caseworker).exists()


def test_a_photo_without_a_face_keeps_nothing_and_says_why(client, caseworker, org, consent_text, images):
    client.force_login(caseworker)
    response = client.post(ENROL, enrolment(org, consent_text, images["reported-coffee.jpg"]))
    assert response.status_code == 400 and str(NO_FACE_IN_REFERENCE) in unescape(response.content.decode())
    assert not Subject.objects.exists()


def test_only_the_caseworkers_own_organisations_are_offered(client, caseworker, org, other_org, consent_text,
                                                            images):
    client.force_login(caseworker)
    page = client.get(ENROL).content.decode()
    assert org.name in page and other_org.name not in page
    response = client.post(ENROL, enrolment(other_org, consent_text, images["reference.jpg"]))
    assert response.status_code == 400 and not Subject.objects.exists()


def test_legal_staff_see_subjects_but_do_not_enrol(client, legal, astronaut_subject):
    client.force_login(legal)
    page = client.get(reverse("casework:subject_list")).content.decode()
    assert "Astronaut" in page and ENROL not in page
    assert client.get(ENROL).status_code == 403


def test_the_list_is_the_organisations_searchable_and_counted(client, caseworker, other_org, astronaut_subject):
    Subject.objects.create(organization=other_org, display_name="Elsewhere")
    client.force_login(caseworker)
    page = client.get(reverse("casework:subject_list")).content.decode()
    assert "Astronaut" in page and "Elsewhere" not in page and "1 subject." in page
    assert "<td>1</td>" in page  # one active consent, one reference photo
    assert "Astronaut" not in client.get(reverse("casework:subject_list"), {"text": "robin"}).content.decode()


@pytest.fixture
def subject_with_codes(astronaut_subject):
    astronaut_subject.user = factories.UserFactory()
    astronaut_subject.save()
    totp_device_create_confirmed(user=astronaut_subject.user)
    return astronaut_subject


def test_a_caseworker_turns_off_a_subjects_codes_with_a_reason(client, caseworker, subject_with_codes):
    url = reverse("casework:subject_codes_reset", args=[subject_with_codes.pk])
    client.force_login(caseworker)
    assert "Turn their sign-in codes off" in client.get(
        reverse("casework:subject_detail", args=[subject_with_codes.pk])).content.decode()
    client.post(url, {"reason": ""})
    assert TOTPDevice.objects.filter(user=subject_with_codes.user).exists()  # no reason, no change
    client.post(url, {"reason": "Called her back on the number in the file; phone stolen."})
    assert not TOTPDevice.objects.filter(user=subject_with_codes.user).exists()
    event = AuditEvent.objects.get(action="two_factor.devices_reset")
    assert event.actor == caseworker and event.data["reason"].startswith("Called her back")


def test_legal_staff_cannot_turn_off_a_subjects_codes(client, legal, subject_with_codes):
    client.force_login(legal)
    url = reverse("casework:subject_codes_reset", args=[subject_with_codes.pk])
    assert client.post(url, {"reason": "asked"}).status_code == 403
    assert TOTPDevice.objects.filter(user=subject_with_codes.user).exists()


def test_staff_record_a_withdrawal_the_subject_asked_for_and_it_purges_at_once(client, legal, astronaut_subject):
    consent = astronaut_subject.consents.get()
    url = reverse("casework:consent_withdraw", args=[consent.pk])
    client.force_login(legal)  # whoever takes the call records it
    page = unescape(client.get(url).content.decode())
    assert "Tell them what withdrawing does" in page and "Your reference photos and the face data" in page
    assert client.post(url, {"how": ""}).status_code == 400
    assert ReferencePhoto.objects.filter(subject=astronaut_subject).exists()  # nothing without saying how

    response = client.post(url, {"how": "Phone call from her usual number, 10:05."}, follow=True)
    assert "Consent withdrawn for Astronaut: 1 stored item(s) deleted." in unescape(response.content.decode())
    consent.refresh_from_db()
    assert consent.withdrawn_by == legal and consent.withdrawal_reason.startswith("Phone call")
    assert not ReferencePhoto.objects.filter(subject=astronaut_subject).exists()
    assert not FaceTemplate.objects.filter(subject=astronaut_subject).exists()
    assert AuditEvent.objects.filter(action="consent.withdrawn", actor=legal).exists()
    assert "record a withdrawal" not in response.content.decode()  # nothing left to withdraw


def test_a_caseworker_adds_a_reference_photo_for_a_subject(client, caseworker, astronaut_subject, images):
    url = reverse("casework:subject_photo_add", args=[astronaut_subject.pk])
    client.force_login(caseworker)
    page = client.post(url, {"photo": SimpleUploadedFile("coffee.jpg", images["reported-coffee.jpg"])}, follow=True)
    assert str(NO_FACE_IN_REFERENCE) in unescape(page.content.decode())
    page = client.post(url, {"photo": SimpleUploadedFile("again.jpg", images["reported-astronaut.jpg"])}, follow=True)
    assert "Reference photo added for Astronaut." in page.content.decode()
    assert ReferencePhoto.objects.filter(subject=astronaut_subject).count() == 2
    assert AuditEvent.objects.filter(action="reference_photo.added", actor=caseworker).exists()
