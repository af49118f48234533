"""A subject signs in to the portal with an e-mailed link, reads what withdrawing means, and withdraws."""

import re

from django.core import mail

from casework.models import ConsentMethod, ConsentPurpose
from casework.services.consent import subject_enroll

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
