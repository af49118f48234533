"""A caseworker signs in with a password and an authenticator code, looks at a finding's media and
confirms it; a lawyer signs in, fills the TAKE IT DOWN notice and downloads its PDF."""

import re

from django_otp.oath import TOTP

from casework.models import Case, Notice, Regime
from casework.services.two_factor import totp_device_create_confirmed
from detection.models import Finding
from tests.detection.test_scan import scan
from tests.factories import PASSWORD

SOURCE_URL = "https://images.example.com/a/astronaut.jpg"


def _code(device) -> str:
    return f"{TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits).token():0{device.digits}d}"


def _sign_in(page, base_url: str, user, next_path: str) -> None:
    device = totp_device_create_confirmed(user=user)
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.locator("h1", has_text="Enter your code").wait_for()
    page.fill("input[name=token]", _code(device))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))


def _is_blurred(figure) -> bool:
    # The rendered filter, not only the class: the blur fades out over a CSS transition.
    return figure.locator("img").evaluate("image => getComputedStyle(image).filter !== 'none'")


def test_a_caseworker_confirms_a_finding_and_legal_downloads_the_notice(
    live_server, caseworker, legal, astronaut_subject, images, new_page, screenshot
):
    finding = scan(images["reported-astronaut.jpg"], url=SOURCE_URL).findings.get()
    assert finding.subject == astronaut_subject

    page = new_page()
    _sign_in(page, live_server.url, caseworker, "/review/")
    page.click(f"main a[href='/findings/{finding.pk}/']")
    page.wait_for_url(re.compile(rf"/findings/{finding.pk}/$"))
    media = page.locator("main figure[data-sensitive]").first
    assert _is_blurred(media)
    screenshot(page, "finding-blurred")
    media.locator("button:has-text('Show media')").click()
    media.locator("button:has-text('Blur media again')").wait_for()
    page.wait_for_function("image => getComputedStyle(image).filter === 'none'",
                           arg=media.locator("img").element_handle())
    assert not _is_blurred(media)
    assert media.locator("[data-reveal-state]").inner_text() == "Shown because you chose to look."
    screenshot(page, "finding-revealed")

    page.fill("#id_platform", "ExampleImages")
    assert page.input_value("#id_target_url") == SOURCE_URL
    page.select_option("#id_regime", Regime.TAKE_IT_DOWN)
    page.click("main button:has-text('Confirm and request removal')")
    page.locator("main .message", has_text="Finding confirmed").wait_for()
    screenshot(page, "case")
    finding.refresh_from_db()
    assert finding.status == Finding.Status.CONFIRMED
    case = Case.objects.get(subject=astronaut_subject)
    takedown = case.takedown_requests.get()

    page = new_page()
    _sign_in(page, live_server.url, legal, f"/cases/{case.pk}/")
    page.click(f"main a[href='/takedowns/{takedown.pk}/']")
    page.locator("h1", has_text="request to ExampleImages").wait_for()
    page.fill("#id_signer_name", "Jordan Advocate")
    page.fill("#id_signer_capacity", "The person depicted")
    page.check("#id_signature_consent")
    page.fill("#id_supporting_information", "The person depicted never agreed to its publication.")
    page.fill("#id_contact_email", "legal@support.example.org")
    screenshot(page, "notice-form")
    page.click("main button:has-text('Generate PDF notice')")
    page.locator("main .message", has_text="Notice generated").wait_for()
    screenshot(page, "notice")

    notice = Notice.objects.get(takedown_request=takedown)
    with page.expect_download() as download_info:
        page.click(f"main a[href='/notices/{notice.pk}.pdf']")
    download = download_info.value
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
