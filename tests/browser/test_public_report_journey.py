"""A reporter on a phone: the public form, checking the answers, sending with an image, and the
status page opened with the reference and PIN."""

import re

from casework.models import Report, ReporterRole
from tests.browser.conftest import PHONE

URL = "https://images.example.com/posted/1234"


def test_a_reporter_on_a_phone_sends_a_report_and_checks_its_status(
    live_server, settings, org, images, new_page, screenshot
):
    settings.PUBLIC_REPORTS_ORGANIZATION = org.slug
    page = new_page(**PHONE)

    page.goto(f"{live_server.url}/report/")
    assert page.locator("h1").inner_text() == "Report intimate images shared without consent"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    page.check(f"input[name=reporter_role][value={ReporterRole.DEPICTED}]")
    page.check("input[name=under_18][value=no]")
    page.fill("#id_urls", URL)
    page.fill("#id_description", "Posted by an account called example_poster.")
    screenshot(page, "form")
    page.click("main button[type=submit]")

    page.wait_for_url(re.compile(r"/report/check$"))
    assert URL in page.locator("dl.answers").inner_text()
    page.set_input_files("#id_file", files=[{
        "name": "photo.jpg", "mimeType": "image/jpeg", "buffer": images["reported-coffee.jpg"],
    }])
    screenshot(page, "check-answers")
    page.click("main button[type=submit]")

    page.locator("h1", has_text="Your report is sent").wait_for()
    reference = page.locator("[data-reference]").inner_text().strip()
    pin = page.locator("[data-pin]").inner_text().strip()
    screenshot(page, "reference-and-pin")
    report = Report.objects.get(reference=reference)
    assert report.organization == org and URL in report.urls and report.media_items.count() == 1

    page.click("main a:has-text(\"Check your report's status\")")
    page.fill("#id_reference", reference)
    page.fill("#id_pin", pin)
    page.click("main button:has-text('Show my report')")
    page.locator("h1", has_text=f"Report {reference}").wait_for()
    assert page.locator("section.status").inner_text().strip()
    screenshot(page, "status")
