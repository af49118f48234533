"""A new caseworker's first day: signs in, scans the two-factor QR code (the key is read from the page,
as an authenticator app would), lands on the desk, finds the new public report in the inbox and opens
a case from it."""

import base64
import re

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.models import Case, Report
from tests import factories
from tests.factories import PASSWORD


def _code_for_key(key_base32: str) -> str:
    key = base64.b32decode(key_base32 + "=" * (-len(key_base32) % 8))
    return f"{TOTP(key).token():06d}"


def test_a_caseworker_sets_up_two_factor_and_opens_a_case_from_a_new_report(
    live_server, org, caseworker, new_page, screenshot
):
    report = factories.ReportFactory(organization=org, reference="RP-BROWSER1")
    factories.ReportFactory(organization=org, status=Report.Status.CLOSED)

    page = new_page()
    page.goto(f"{live_server.url}/accounts/login/?next=/")
    page.fill("input[name=username]", caseworker.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.locator("h1", has_text="Set up two-factor sign-in").wait_for()
    assert page.locator("main .qr svg").is_visible()
    screenshot(page, "two-factor-setup")
    page.fill("input[name=token]", _code_for_key(page.inner_text("code.secret").strip()))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert TOTPDevice.objects.get(user=caseworker).confirmed

    tile = page.locator("main a.tile", has_text="new report")
    assert re.fullmatch(r"1\s+new report from the public", tile.inner_text().strip())
    screenshot(page, "desk")
    tile.click()
    page.locator("main td a", has_text=report.reference).wait_for()
    assert page.locator("main tbody tr").count() == 1  # the closed report is filtered out
    screenshot(page, "reports")
    page.click(f"main a:has-text('{report.reference}')")
    page.click("main button:has-text('Open a case for this report')")
    page.wait_for_url(re.compile(r"/cases/\d+/$"))
    case = Case.objects.get(report=report)
    assert case.reference in page.inner_text("main h1") or case.reference in page.inner_text("main")
    screenshot(page, "case")
