"""A subject signs in to the portal with an e-mailed link, reads what withdrawing means, and withdraws;
and a subject on a phone turns on sign-in codes and is asked for one at the next sign-in."""

import base64
import re

from django.core import mail
from django_otp.oath import TOTP

from casework.models import ConsentMethod, ConsentPurpose
from casework.services.consent import subject_enroll
from tests.browser.conftest import PHONE

EMAIL = "alex@example.org"


def test_a_subject_signs_in_by_email_link_and_withdraws_consent(live_server, org, consent_text, images, new_page,
                                                                screenshot):
    subject = subject_enroll(
        organization=org, display_name="Alex Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Alex Example", photos=[("reference.jpg", images["reference.jpg"])],
        purposes=[ConsentPurpose.LIKENESS_MATCHING], contact_email=EMAIL,
    )
    consent = subject.consents.get()
    page = new_page()

    page.goto(f"{live_server.url}/portal/sign-in")
    page.fill("#link-email", EMAIL)
    page.click("main button:has-text('E-mail me a link')")
    page.locator("main .message", has_text="sign-in link is on its way").wait_for()
    screenshot(page, "link-sent")
    (message,) = mail.outbox
    link = re.search(r"https?://\S+/portal/link/\S+", message.body).group(0)
    assert link.startswith(live_server.url)

    page.goto(link)
    page.click("main button:has-text('Sign in')")
    page.locator("h1", has_text="Hello, Alex Example").wait_for()
    consents = page.locator("section[aria-labelledby=consents]")
    assert consent_text.title in consents.inner_text()
    assert "Given on" in consents.inner_text()
    screenshot(page, "consents")

    consents.locator("a:has-text('Withdraw this consent')").click()
    page.locator("h1", has_text="Withdraw your consent").wait_for()
    assert "reference photos and the face data made from them are deleted" in page.locator(".consequences").inner_text()
    screenshot(page, "withdraw-confirm")
    page.fill("#id_reason", "I no longer want this.")
    page.click("main button:has-text('Withdraw my consent')")

    page.locator("main .message", has_text="Your consent is withdrawn.").wait_for()
    assert "Withdrawn on" in page.locator("section[aria-labelledby=consents]").inner_text()
    screenshot(page, "withdrawn")
    consent.refresh_from_db()
    assert not consent.is_active and not subject.reference_photos.exists()


def _code(key_base32: str, steps_ahead: int = 0) -> str:
    key = base64.b32decode(key_base32 + "=" * (-len(key_base32) % 8))
    return f"{TOTP(key, drift=steps_ahead).token():06d}"


def _sign_in_by_link(page, base_url: str) -> None:
    page.goto(f"{base_url}/portal/sign-in")
    page.fill("#link-email", EMAIL)
    page.click("main button:has-text('E-mail me a link')")
    page.locator("main .message", has_text="sign-in link is on its way").wait_for()
    link = re.search(r"https?://\S+/portal/link/\S+", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.click("main button:has-text('Sign in')")


def test_a_subject_on_a_phone_turns_on_sign_in_codes_and_is_asked_at_the_next_sign_in(
    live_server, org, consent_text, images, new_page, screenshot
):
    subject_enroll(
        organization=org, display_name="Alex Example", text=consent_text, method=ConsentMethod.PAPER_WITNESSED,
        signature="Alex Example", photos=[("reference.jpg", images["reference.jpg"])],
        purposes=[ConsentPurpose.LIKENESS_MATCHING], contact_email=EMAIL,
    )
    page = new_page(**PHONE)
    _sign_in_by_link(page, live_server.url)
    page.click("main a:has-text('Turn on sign-in codes')")
    page.locator("h1", has_text="Turn on sign-in codes").wait_for()
    assert page.locator("main .qr svg").is_visible()
    screenshot(page, "codes-setup")
    key = page.inner_text("code.secret").strip()
    page.fill("#token", _code(key))
    page.click("main button:has-text('Turn on')")
    page.locator("main .message", has_text="Sign-in codes are on").wait_for()
    page.click("main button:has-text('Sign out')")

    _sign_in_by_link(page, live_server.url)
    page.locator("h1", has_text="Enter your code").wait_for()
    screenshot(page, "codes-asked")
    page.fill("#token", _code(key, steps_ahead=1))  # the first code was used up at setup
    page.click("main button:has-text('Continue')")
    page.locator("h1", has_text="Hello, Alex Example").wait_for()
