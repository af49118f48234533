"""A person reads Reclaim in their own language (issue 16): the browser's language first, a switcher on
every page that works without script and is remembered, a subject's language kept for the e-mails sent
to them, dates in each language's order, and consent receipts in the language of the text consented to.

Expected texts come from the catalogues (``gettext`` under ``override``) and each is first checked to
differ from the English, so a test cannot pass on an untranslated page.
"""

import datetime as dt
import io
import re

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from pypdf import PdfReader

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose, Subject
from casework.services.consent import reference_photo_add, subject_enroll
from casework.services.receipts import consent_receipt_html, consent_receipt_pdf
from casework.services.retention import biometrics_retention_purge
from casework.services.two_factor import totp_device_create_confirmed
from config.uploads import upload_too_large_message
from detection.engine.media import NOT_AN_IMAGE
from detection.services import EnrolmentError
from tests import factories
from tests.casework.test_deadlines import at
from tests.casework.test_takedowns import clock

FORM = reverse("casework:public_report")
STATUS = reverse("casework:public_report_status")
SIGN_IN = reverse("casework:portal_sign_in")
HOME = reverse("casework:portal_home")
LANGUAGE_SET = reverse("casework:language_set")
HEADING = "Report intimate images shared without consent"
EMAIL = "noor@example.org"


def translated(text: str, language: str) -> str:
    with translation.override(language):
        result = gettext(text)
    assert result != text, f"{text!r} has no {language} translation: is the catalogue compiled?"
    return result


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


@pytest.fixture
def public_form(settings, org):
    settings.PUBLIC_REPORTS_ORGANIZATION = org.slug


@pytest.mark.parametrize("language", ["es", "de"])
def test_the_public_form_is_in_the_browsers_language(client, public_form, language):
    page = client.get(FORM, HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5").content.decode()
    assert html_lang(page) == language
    assert translated(HEADING, language) in page and HEADING not in page
    # The form's own labels and choices come from Python (gettext_lazy): in the same language.
    assert translated("Who are you?", language) in page


def test_without_a_language_the_page_is_in_english(client, public_form):
    page = client.get(FORM).content.decode()
    assert html_lang(page) == "en" and HEADING in page


@pytest.mark.parametrize("url", [FORM, STATUS, SIGN_IN, reverse("login")])
def test_every_public_portal_and_sign_in_page_has_a_switcher_that_needs_no_script(client, public_form, url):
    page = client.get(url).content.decode()
    switcher = re.search(r'<form class="language-switcher" method="post" action="([^"]+)".*?</form>', page, re.DOTALL)
    assert switcher and switcher.group(1) == LANGUAGE_SET
    buttons = re.findall(r'<button type="submit" name="language" value="(\w+)" lang="\w+"[^>]*>([^<]+)</button>',
                         switcher.group(0))
    # Each language named in itself, so a person who cannot read the page finds theirs.
    assert buttons == [("en", "English"), ("es", "Español"), ("de", "Deutsch")]
    assert f'name="next" value="{url}"' in switcher.group(0)


def test_the_choice_is_remembered_in_the_language_cookie(client, public_form):
    response = client.post(LANGUAGE_SET, {"language": "de", "next": FORM})
    assert response.status_code == 302 and response["Location"] == FORM
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "de" and cookie["httponly"] and int(cookie["max-age"]) == settings.LANGUAGE_COOKIE_AGE
    # The cookie outweighs the browser's language on every later page.
    page = client.get(FORM, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert html_lang(page) == "de" and translated(HEADING, "de") in page


def test_the_switcher_goes_back_only_to_this_site(client):
    response = client.post(LANGUAGE_SET, {"language": "es", "next": "https://elsewhere.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_language_the_site_does_not_offer_is_not_kept(client, public_form, subject):
    sign_in(client, subject)
    client.post(LANGUAGE_SET, {"language": "fr", "next": HOME})
    subject.refresh_from_db()
    assert subject.language == "en"
    assert html_lang(client.get(FORM).content.decode()) == "en"


def test_the_report_receipt_has_no_switcher_because_the_pin_is_shown_only_once(client, public_form):
    client.post(FORM, {"reporter_role": "depicted", "under_18": "no", "urls": "https://example.org/x"})
    page = client.post(reverse("casework:public_report_review"), {}).content.decode()
    assert "data-pin" in page and "language-switcher" not in page


def test_dates_are_written_in_each_languages_order(client, public_form, org):
    with clock(at("2025-03-05 10:00")):
        report = factories.ReportFactory(organization=org)
    session = client.session
    session["casework.public_report"] = report.pk
    session.save()
    expected = {"en": "5 March 2025", "es": "5 de marzo de 2025", "de": "5. März 2025"}
    for language, date in expected.items():
        assert date in client.get(STATUS, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_a_file_refused_as_too_large_is_explained_in_the_readers_language(client, public_form, settings):
    """LocaleMiddleware runs before the size limit, which answers before any view."""
    settings.MEDIA_MAX_BYTES = 10_000
    response = client.post(FORM, data=b"x" * 2_000_000, content_type="multipart/form-data; boundary=x",
                           HTTP_ACCEPT_LANGUAGE="de")
    page = response.content.decode()
    assert response.status_code == 413 and html_lang(page) == "de"
    with translation.override("de"):
        assert upload_too_large_message() in page and translated("File too large", "de") in page


# --- Subjects ------------------------------------------------------------------------------------

@pytest.fixture
def subject(org, consent_text, caseworker, images):
    return subject_enroll(
        organization=org, display_name="Noor", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Noor", photos=[("reference.jpg", images["reference.jpg"])], contact_email=EMAIL,
        purposes=[ConsentPurpose.LIKENESS_MATCHING], by=caseworker,
    )


def link_from_outbox() -> str:
    return re.search(r"https?://\S+", mail.outbox[-1].body).group(0)


def sign_in(client, subject, **headers):
    client.post(SIGN_IN, {"method": "link", "email": subject.contact_email}, **headers)
    return client.post(link_from_outbox(), **headers)


def test_a_subject_takes_the_language_of_the_consent_text_they_read(org, caseworker, images):
    text = factories.ConsentTextFactory(language="es", title="Consentimiento", body="Acepto…")
    subject = subject_enroll(organization=org, display_name="Lucía", text=text, method=ConsentMethod.PAPER_WITNESSED,
                             signature="Lucía", photos=[("reference.jpg", images["reference.jpg"])], by=caseworker)
    assert subject.language == "es"
    event = AuditEvent.objects.get(action="consent.granted", target_id=str(subject.consents.get().pk))
    assert event.data["text_language"] == "es" and event.data["text_version"] == text.version


def test_the_language_a_subject_chooses_is_kept_for_their_emails(client, subject):
    sign_in(client, subject)
    client.post(LANGUAGE_SET, {"language": "de", "next": HOME})
    subject.refresh_from_db()
    assert subject.language == "de"

    other_device = Client()  # English browser: the e-mail still goes out in German
    other_device.post(SIGN_IN, {"method": "link", "email": EMAIL}, HTTP_ACCEPT_LANGUAGE="en")
    message = mail.outbox[-1]
    assert message.subject == translated("Your sign-in link for Reclaim", "de")
    not_you = "If it wasn't you, ignore this e-mail: nobody can sign in without the link."
    assert translated(not_you, "de") in message.body


def test_before_their_sign_in_code_a_subject_cannot_change_their_language(client, subject):
    sign_in(client, subject)
    subject.refresh_from_db()
    totp_device_create_confirmed(user=subject.user)  # they turn sign-in codes on
    client.logout()
    sign_in(client, subject)  # by link: the code is still to be entered
    assert client.get(HOME).status_code == 302 and subject.language != "de"
    client.post(LANGUAGE_SET, {"language": "de", "next": HOME})
    subject.refresh_from_db()
    assert subject.language != "de"  # the cookie is this browser's to set; their record is not, yet


def test_a_photo_that_cannot_be_read_is_refused_in_the_readers_language(subject):
    # The engine's reason is English (gettext_noop); it is shown at once, so translated where it is raised.
    assert translated(NOT_AN_IMAGE, "es") != NOT_AN_IMAGE
    with translation.override("es"), pytest.raises(EnrolmentError) as refused:
        reference_photo_add(subject=subject, data=b"not an image", filename="photo.jpg")
    assert refused.value.reason == translated(NOT_AN_IMAGE, "es")


def test_signing_in_keeps_the_language_chosen_on_this_device(client, subject):
    client.post(LANGUAGE_SET, {"language": "es", "next": SIGN_IN})
    sign_in(client, subject)
    subject.refresh_from_db()
    assert subject.language == "es"
    page = client.get(HOME).content.decode()
    assert html_lang(page) == "es" and translated("Your consents", "es") in page


def test_signing_in_on_a_new_device_brings_back_the_subjects_language(subject):
    Subject.objects.filter(pk=subject.pk).update(language="de")
    device = Client()
    response = sign_in(device, subject, HTTP_ACCEPT_LANGUAGE="en")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    page = device.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html_lang(page) == "de" and translated("Your consents", "de") in page


def test_a_subject_of_unknown_language_is_written_to_in_the_language_of_the_page_they_asked_from(client, subject):
    Subject.objects.filter(pk=subject.pk).update(language="")
    client.post(SIGN_IN, {"method": "link", "email": EMAIL}, HTTP_ACCEPT_LANGUAGE="es")
    assert mail.outbox[-1].subject == translated("Your sign-in link for Reclaim", "es")


def test_the_retention_notice_is_written_in_the_subjects_language(org, consent_text, caseworker, images):
    with clock(at("2025-01-10 09:00")):
        subject = subject_enroll(
            organization=org, display_name="Noor", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
            signature="Noor", photos=[("reference.jpg", images["reference.jpg"])], contact_email=EMAIL, by=caseworker,
        )
    Subject.objects.filter(pk=subject.pk).update(language="es")
    biometrics_retention_purge(now=at("2025-01-10 09:00") + dt.timedelta(days=366))
    (message,) = mail.outbox
    with translation.override("es"):
        expected_subject = gettext("{organization}: your data for image matching will be deleted").format(
            organization=org.name)
    assert message.subject == expected_subject and "10 de enero de 2025" in message.body


# --- Consent receipts ----------------------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_receipt_follows_and_records_the_language_of_the_text_consented_to(org, caseworker, images):
    text = factories.ConsentTextFactory(version="2.0", language="de", title="Einwilligung zum Gesichtsabgleich",
                                        body="Ich willige ein, dass …")
    subject = subject_enroll(organization=org, display_name="Jonas", text=text, method=ConsentMethod.PAPER_WITNESSED,
                             signature="Jonas", photos=[("reference.jpg", images["reference.jpg"])], by=caseworker)
    consent = subject.consents.get()
    with translation.override("es"):  # whoever downloads it, in whatever language: the text's language
        html = consent_receipt_html(consent=consent)
        text_of_pdf = pdf_text(consent_receipt_pdf(consent=consent))
    assert html_lang(html) == "de" and "Deutsch (de)" in html
    for expected in (translated("Your consent receipt", "de"), translated("How to withdraw your consent", "de"),
                     translated("Match my face in reported and crawled media", "de"), text.title, text.body,
                     translated("Page {page} of {pages}", "de").format(page=1, pages=1)):
        assert expected in text_of_pdf, expected


def test_a_version_exists_once_per_language(consent_text):
    from django.db import IntegrityError, transaction

    factories.ConsentTextFactory(version=consent_text.version, language="es")
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ConsentTextFactory(version=consent_text.version, language="es")
