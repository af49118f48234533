"""On a phone, in Spanish and in German (issue 16): a reporter whose browser asks for the language reads
the public form, the check page, the receipt and the status page in it; a subject switches language with
the switcher (no script involved) and reads the portal, the sign-in e-mail and the withdrawal in it.
Every step is a screenshot, and no page is wider than the phone (German words are long)."""

import re

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext, ngettext

from casework.models import ConsentMethod, ConsentPurpose, ReporterRole
from casework.services.consent import subject_enroll
from tests import factories
from tests.browser.conftest import PHONE

URL = "https://images.example.com/posted/1234"
LOCALES = {"es": "es-ES", "de": "de-DE"}
CONSENT_TITLES = {"es": "Consentimiento para la búsqueda por rostro", "de": "Einwilligung in den Gesichtsabgleich"}


def _(text: str, language: str) -> str:
    with translation.override(language):
        result = gettext(text)
    assert result != text, f"{text!r} is not translated into {language}"
    return result


def fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["viewport"]["width"]


@pytest.mark.parametrize("language", ["es", "de"])
def test_a_reporter_on_a_phone_reports_in_their_browsers_language(
    live_server, settings, org, new_page, screenshot, language
):
    settings.PUBLIC_REPORTS_ORGANIZATION = org.slug
    page = new_page(**PHONE, locale=LOCALES[language])

    page.goto(f"{live_server.url}/report/")
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator("h1").inner_text() == _("Report intimate images shared without consent", language)
    assert _("Leave this site", language) in page.locator("header").inner_text()
    assert fits_the_phone(page)
    page.check(f"input[name=reporter_role][value={ReporterRole.DEPICTED}]")
    page.check("input[name=under_18][value=no]")
    page.fill("#id_urls", URL)
    screenshot(page, f"{language}-form")
    page.click("main button[type=submit]")

    page.wait_for_url(re.compile(r"/report/check$"))
    assert page.locator("h1").inner_text() == _("Check your answers", language)
    assert _("The person depicted", language) in page.locator("dl.answers").inner_text()
    assert fits_the_phone(page)
    screenshot(page, f"{language}-check-answers")
    page.click("main button[type=submit]")

    page.locator("h1", has_text=_("Your report is sent", language)).wait_for()
    assert page.locator(".language-switcher").count() == 0  # the PIN is shown once: nothing reloads this page
    reference = page.locator("[data-reference]").inner_text().strip()
    pin = page.locator("[data-pin]").inner_text().strip()
    assert fits_the_phone(page)
    screenshot(page, f"{language}-reference-and-pin")

    check_status = _("Check your report's status", language)
    page.click(f'main a:has-text("{check_status}")')
    page.fill("#id_reference", reference)
    page.fill("#id_pin", pin)
    page.click("main button[type=submit]")
    status = page.locator("section.status")
    status.wait_for()
    assert _("We have your report. A caseworker will read it; nothing else is needed from you now.",
             language) in status.inner_text()
    assert fits_the_phone(page)
    screenshot(page, f"{language}-status")


@pytest.mark.parametrize("language", ["es", "de"])
def test_a_subject_on_a_phone_switches_language_and_withdraws_consent_in_it(
    live_server, org, caseworker, images, new_page, screenshot, language
):
    text = factories.ConsentTextFactory(version="1.0", language=language, title=CONSENT_TITLES[language],
                                        purposes=[ConsentPurpose.LIKENESS_MATCHING])
    subject = subject_enroll(
        organization=org, display_name="Alex", text=text, method=ConsentMethod.PAPER_WITNESSED, signature="Alex",
        photos=[("reference.jpg", images["reference.jpg"])], contact_email="alex@example.org", by=caseworker,
    )
    subject.language = ""  # not known yet: the switcher and the sign-in decide it
    subject.save(update_fields=["language"])
    page = new_page(**PHONE)  # an English browser

    page.goto(f"{live_server.url}/portal/sign-in")
    assert page.locator("html").get_attribute("lang") == "en"
    screenshot(page, f"{language}-sign-in-english")
    page.click(f".language-switcher button[value={language}]")  # a plain form post: no script involved
    page.locator("html[lang=%s]" % language).wait_for()
    assert page.locator("h1").inner_text() == _("Sign in", language)
    assert fits_the_phone(page)
    screenshot(page, f"{language}-sign-in")

    page.fill("#link-email", "alex@example.org")
    page.click("main form:has(input[value=link]) button[type=submit]")
    page.locator("main .message").wait_for()
    (message,) = mail.outbox
    assert message.subject == _("Your sign-in link for Reclaim", language)
    link = re.search(r"https?://\S+/portal/link/\S+", message.body).group(0)
    page.goto(link)
    page.click("main button[type=submit]")

    page.locator("h1", has_text=_("Hello, %(name)s", language) % {"name": "Alex"}).wait_for()
    consents = page.locator("section[aria-labelledby=consents]")
    assert text.title in consents.inner_text()
    assert _("Match my face in reported and crawled media", language) in consents.inner_text()
    assert fits_the_phone(page)
    screenshot(page, f"{language}-home")
    subject.refresh_from_db()
    assert subject.language == language

    consents.locator("a[href$=withdraw]").click()
    page.locator("h1", has_text=_("Withdraw your consent", language)).wait_for()
    assert fits_the_phone(page)
    screenshot(page, f"{language}-withdraw-confirm")
    page.click("main button.danger")
    with translation.override(language):
        withdrawn = ngettext("Your consent is withdrawn. {count} stored item about you was deleted.",
                             "Your consent is withdrawn. {count} stored items about you were deleted.", 2)
    page.locator("main .message", has_text=withdrawn.split(".")[0]).wait_for()
    screenshot(page, f"{language}-withdrawn")
