"""The subject portal: e-mail link (once, time-limited) or password sign-in; consents withdrawn with the
consequences stated first; reference photos added and removed; receipts; cases in plain words; and a
subject who sees only their own data and no staff page."""

import re
import time
from html import unescape

import pytest
from django.core import mail, signing
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from casework.access import NOT_STAFF
from casework.models import AuditEvent, Consent, ConsentMethod, ConsentPurpose, Regime
from casework.services import portal as portal_services
from casework.services.cases import case_open, takedown_request_create
from casework.services.consent import NO_ACTIVE_CONSENT, subject_enroll
from casework.views.portal import LINK_SENT, PASSWORD_WRONG
from detection.models import FaceTemplate, MatchIndexState, ReferencePhoto
from tests import factories

EMAIL = "alex@example.org"
SIGN_IN = reverse("casework:portal_sign_in")
HOME = reverse("casework:portal_home")


@pytest.fixture
def enrol_subject(org, consent_text, caseworker, images):
    def make(name: str, email: str):
        return subject_enroll(
            organization=org, display_name=name, text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
            signature=name, photos=[("reference.jpg", images["reference.jpg"])], contact_email=email,
            purposes=[ConsentPurpose.LIKENESS_MATCHING, ConsentPurpose.HASH_MATCHING], by=caseworker,
        )

    return make


@pytest.fixture
def subject(enrol_subject):
    return enrol_subject("Alex", EMAIL)


@pytest.fixture
def other_subject(enrol_subject):
    return enrol_subject("Sam", "sam@example.org")


def match_index_generation() -> int:
    return MatchIndexState.objects.get().generation


def link_from_outbox() -> str:
    return re.search(r"https?://\S+", mail.outbox[-1].body).group(0)


def sign_in(client, subject) -> None:
    """Through the real e-mail link."""
    client.post(SIGN_IN, {"method": "link", "email": subject.contact_email})
    assert client.post(link_from_outbox()).status_code == 302
    subject.refresh_from_db()


def test_a_sign_in_link_is_emailed_and_signs_the_subject_in(client, subject):
    response = client.post(SIGN_IN, {"method": "link", "email": EMAIL.upper()}, follow=True)
    assert unescape(LINK_SENT.format(email=EMAIL.upper(), minutes=30)) in unescape(response.content.decode())
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    link = link_from_outbox()
    # Opening the link (as a mail scanner would) signs nobody in: the button does.
    assert "Sign in" in client.get(link).content.decode()
    assert client.get(HOME).status_code == 302
    assert client.post(link).url == HOME
    subject.refresh_from_db()
    assert subject.user is not None and not subject.user.has_usable_password()
    assert AuditEvent.objects.filter(action="subject.portal_account_created", target_id=str(subject.pk)).count() == 1
    page = client.get(HOME).content.decode()
    assert "Alex" in page and "<img" not in page


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, subject):
    response = client.post(SIGN_IN, {"method": "link", "email": "nobody@example.org"}, follow=True)
    assert unescape(LINK_SENT.format(email="nobody@example.org", minutes=30)) in unescape(response.content.decode())
    assert mail.outbox == []


def test_a_link_works_once(client, subject):
    client.post(SIGN_IN, {"method": "link", "email": EMAIL})
    link = link_from_outbox()
    client.post(link)
    client.post(reverse("casework:portal_sign_out"))
    response = client.post(link, follow=True)
    assert unescape(str(portal_services.LINK_INVALID)) in unescape(response.content.decode())
    assert client.get(HOME).status_code == 302


def test_the_email_link_expires(client, subject, settings, monkeypatch):
    with monkeypatch.context() as past:
        then = time.time() - (settings.PORTAL_LINK_MINUTES * 60 + 5)
        past.setattr(signing.time, "time", lambda: then)
        token = portal_services.portal_link_token(subject=subject)
    response = client.get(reverse("casework:portal_link", args=[token]), follow=True)
    expected = portal_services.LINK_EXPIRED.format(minutes=settings.PORTAL_LINK_MINUTES)
    assert unescape(expected) in unescape(response.content.decode())
    assert client.post(reverse("casework:portal_link", args=[token])).url == SIGN_IN
    subject.refresh_from_db()
    assert subject.user is None


def test_a_tampered_link_is_refused(client, subject, other_subject):
    token = portal_services.portal_link_token(subject=subject)
    forged = signing.dumps({"s": other_subject.pk, "v": "x"}, salt="another-salt", compress=True)
    for bad in (token[:-2] + "xx", forged):
        assert client.post(reverse("casework:portal_link", args=[bad])).url == SIGN_IN
    assert client.get(HOME).status_code == 302


def test_a_subject_may_set_a_password_and_sign_in_with_it(client, subject):
    sign_in(client, subject)
    new = "a long passphrase nobody guesses"
    response = client.post(reverse("casework:portal_password"), {"new_password1": new, "new_password2": new})
    assert response.url == HOME and client.get(HOME).status_code == 200  # still signed in
    assert AuditEvent.objects.filter(action="subject.portal_password_set").count() == 1
    client.post(reverse("casework:portal_sign_out"))
    wrong = client.post(SIGN_IN, {"method": "password", "email": EMAIL, "password": "not it"}, follow=True)
    assert unescape(str(PASSWORD_WRONG)) in unescape(wrong.content.decode())
    assert client.post(SIGN_IN, {"method": "password", "email": EMAIL, "password": new}).url == HOME
    assert client.get(HOME).status_code == 200


def test_withdrawal_states_the_consequences_first_then_purges_biometrics(client, subject):
    sign_in(client, subject)
    consent = subject.consents.get()
    url = reverse("casework:portal_consent_withdraw", args=[consent.pk])
    page = client.get(url).content.decode()
    assert "reference photos and the face data made from them are deleted now" in page
    assert "fingerprints (hashes) of known images" in page
    assert FaceTemplate.objects.filter(subject=subject).count() == 1  # nothing happens on looking

    assert client.post(url, {"reason": "I feel safer now"}).url == HOME
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.withdrawn_by == subject.user
    assert not FaceTemplate.objects.filter(subject=subject).exists()
    assert not ReferencePhoto.objects.filter(subject=subject).exists()
    event = AuditEvent.objects.get(action="consent.withdrawn")
    assert event.actor == subject.user and event.data["purged"]["face_templates"] == 1
    home = client.get(HOME).content.decode()
    assert "Withdrawn on" in home and "Adding photos needs your consent" in home


def test_without_consent_no_photo_can_be_added(client, subject, images):
    sign_in(client, subject)
    client.post(reverse("casework:portal_consent_withdraw", args=[subject.consents.get().pk]))
    photo = SimpleUploadedFile("me.jpg", images["reference.jpg"], content_type="image/jpeg")
    page = unescape(client.post(reverse("casework:portal_photo_add"), {"photo": photo}, follow=True).content.decode())
    assert NO_ACTIVE_CONSENT.format(subject=subject) in page
    assert not ReferencePhoto.objects.filter(subject=subject).exists()


def test_reference_photos_are_removed_and_added(client, subject, images, django_capture_on_commit_callbacks):
    sign_in(client, subject)
    photo = subject.reference_photos.get()
    name, generation = photo.image.name, match_index_generation()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("casework:portal_photo_remove", args=[photo.pk])).url == HOME
    assert not ReferencePhoto.objects.filter(pk=photo.pk).exists()
    assert not FaceTemplate.objects.filter(subject=subject).exists() and not default_storage.exists(name)
    assert match_index_generation() > generation
    removed = AuditEvent.objects.get(action="reference_photo.removed")
    assert removed.actor == subject.user and removed.data == {"reference_photo": photo.pk, "sha256": photo.sha256}
    assert subject.consents.get().is_active  # removing a photo is not withdrawing consent

    upload = SimpleUploadedFile("new.jpg", images["reference.jpg"], content_type="image/jpeg")
    assert client.post(reverse("casework:portal_photo_add"), {"photo": upload}).url == HOME
    assert FaceTemplate.objects.filter(subject=subject).count() == 1
    assert AuditEvent.objects.filter(action="reference_photo.added", actor=subject.user).count() == 1


def test_the_consent_receipt_downloads(client, subject):
    sign_in(client, subject)
    response = client.get(reverse("casework:portal_consent_receipt", args=[subject.consents.get().pk]))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert "no-store" in response["Cache-Control"]


def test_cases_are_followed_in_plain_words(client, subject, caseworker):
    case = case_open(subject=subject, by=caseworker)
    takedown_request_create(case=case, platform="ExampleTube", target_url="https://v.example.com/1",
                            regime=Regime.TAKE_IT_DOWN, by=caseworker)
    sign_in(client, subject)
    page = client.get(HOME).content.decode()
    assert case.reference in page and "Your caseworker is working on this case." in page
    assert "preparing 1 request" in page and "ExampleTube" not in page


def test_a_subject_never_sees_another_subjects_data(client, subject, other_subject, caseworker):
    other_case = case_open(subject=other_subject, by=caseworker)
    sign_in(client, subject)
    consent, photo = other_subject.consents.get(), other_subject.reference_photos.get()
    assert client.get(reverse("casework:portal_consent_withdraw", args=[consent.pk])).status_code == 404
    assert client.post(reverse("casework:portal_consent_withdraw", args=[consent.pk])).status_code == 404
    assert client.get(reverse("casework:portal_consent_receipt", args=[consent.pk])).status_code == 404
    assert client.post(reverse("casework:portal_photo_remove", args=[photo.pk])).status_code == 404
    assert Consent.objects.get(pk=consent.pk).is_active and ReferencePhoto.objects.filter(pk=photo.pk).exists()
    page = client.get(HOME).content.decode()
    assert "Sam" not in page and other_case.reference not in page


def test_staff_pages_refuse_a_subject_user(client, subject, caseworker):
    case = case_open(subject=subject, by=caseworker)
    report = factories.ReportFactory(organization=subject.organization)
    sign_in(client, subject)
    # A subject has no Membership: to every staff page they are an outsider, even for their own case.
    for url in (reverse("casework:case_detail", args=[case.pk]),
                reverse("casework:consent_receipt", args=[subject.consents.get().pk]),
                reverse("casework:report_detail", args=[report.pk])):
        assert client.get(url).status_code == 404, url
    refused = client.get(reverse("casework:review_queue"))
    assert refused.status_code == 403 and str(NOT_STAFF) in refused.content.decode()


def test_staff_and_anonymous_users_have_no_portal(client, caseworker, subject):
    assert client.get(HOME).url.startswith(SIGN_IN)
    client.force_login(caseworker)
    assert client.get(HOME).status_code == 404
    assert client.get(reverse("casework:portal_consent_receipt", args=[subject.consents.get().pk])).status_code == 404
