"""The security baseline: staff need a second factor, repeated wrong passwords lock the login, and no
page runs inline script. Who may use each route is tests/casework/test_route_access.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.middleware import TWO_FACTOR_REQUIRED
from casework.models import AuditEvent
from casework.services.two_factor import TOO_MANY_TRIES, WRONG_CODE
from tests.conftest import REPO


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, caseworker):
    client.force_login(caseworker, otp=False)
    response = client.get(reverse("casework:review_queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_setup"))


def test_staff_set_up_a_device_with_a_code_and_the_confirmation_is_audited(client, caseworker):
    client.force_login(caseworker, otp=False)
    queue = reverse("casework:review_queue")
    page = client.get(reverse("two_factor_setup"), {"next": queue})
    assert page.status_code == 200 and "otpauth://totp/" in page.content.decode()
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    wrong = client.post(reverse("two_factor_setup"), {"token": "000000" if _code(device) != "000000" else "111111"})
    assert str(WRONG_CODE) in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above started django-otp's back-off
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(reverse("two_factor_setup"), {"token": _code(device), "next": queue})
    assert response.status_code == 302 and response["Location"] == queue
    assert client.get(queue).status_code == 200
    assert AuditEvent.objects.filter(action="two_factor.device_confirmed", actor=caseworker).exists()


def test_staff_with_a_device_enter_a_code_at_each_sign_in(client, caseworker):
    device = TOTPDevice.objects.create(user=caseworker, name="Phone", confirmed=True)
    client.force_login(caseworker, otp=False)
    response = client.get(reverse("casework:review_queue"))
    assert response["Location"].startswith(reverse("two_factor_verify"))
    response = client.post(reverse("two_factor_verify"), {"token": _code(device), "next": "/review/"})
    assert response.status_code == 302 and client.get("/review/").status_code == 200


def test_an_api_call_from_an_unverified_staff_session_is_refused(client, caseworker):
    client.force_login(caseworker, otp=False)
    response = client.get("/api/schema/")
    assert response.status_code == 403 and response.json()["detail"] == TWO_FACTOR_REQUIRED


def test_a_right_code_refused_by_the_back_off_says_to_wait_not_that_it_is_wrong(client, caseworker):
    from django.utils import timezone

    device = TOTPDevice.objects.create(user=caseworker, name="Phone", confirmed=True)
    client.force_login(caseworker, otp=False)
    wrong = "000000" if _code(device) != "000000" else "111111"
    assert str(WRONG_CODE) in client.post(reverse("two_factor_verify"), {"token": wrong}).content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # Four wrong codes in a row: django-otp now waits 8 seconds before it checks any code.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=4,
                                                   throttling_failure_timestamp=timezone.now())
    page = client.post(reverse("two_factor_verify"), {"token": _code(device), "next": "/review/"}).content.decode()
    assert str(WRONG_CODE) not in page
    assert any(TOO_MANY_TRIES.format(seconds=seconds) in page for seconds in (7, 8))
    assert client.get("/review/").status_code == 302  # still not verified


def test_setting_up_a_device_during_the_back_off_says_to_wait(client, caseworker):
    from django.utils import timezone

    client.force_login(caseworker, otp=False)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=3, throttling_failure_timestamp=timezone.now())
    page = client.post(reverse("two_factor_setup"), {"token": _code(device)}).content.decode()
    assert any(TOO_MANY_TRIES.format(seconds=seconds) in page for seconds in (3, 4)) and str(WRONG_CODE) not in page


def _code(device) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_wrong_passwords_lock_the_login(client, caseworker):
    caseworker.set_password("the-right-password-1234")
    caseworker.save()
    login = reverse("login")
    for _ in range(3):
        client.post(login, {"username": caseworker.username, "password": "wrong"})
    response = client.post(login, {"username": caseworker.username, "password": "the-right-password-1234"})
    assert response.status_code == 429 and "Signing in is paused" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_right_password_before_the_limit_signs_in(client, caseworker):
    caseworker.set_password("the-right-password-1234")
    caseworker.save()
    client.post(reverse("login"), {"username": caseworker.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": caseworker.username, "password": "the-right-password-1234"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_every_page_sends_a_content_security_policy_without_inline_script(client, db):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy


PDF_TEMPLATES = {"consent_receipt.html"}
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted(
    p for root in ("templates", "casework/templates", "detection/templates") for p in (REPO / root).rglob("*.html")
    # e-mails and PDFs (rendered by WeasyPrint, never served as pages) may carry their own styles
    if "emails" not in p.parts and "notices" not in p.parts and p.name not in PDF_TEMPLATES
), ids=lambda p: str(p.relative_to(REPO)))
def test_no_template_has_inline_script_or_style(template: Path):
    found = INLINE.findall(template.read_text())
    assert not found, found


def test_the_setup_page_shows_the_key_as_a_qr_code_an_app_can_scan(client, caseworker):
    client.force_login(caseworker, otp=False)
    page = client.get(reverse("two_factor_setup")).content.decode()
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    assert _qr_decode(page) == device.config_url


def _qr_decode(page: str) -> str:
    """Rasterise the page's SVG QR code (one square path per module) and read it with OpenCV."""
    import cv2
    import numpy as np

    svg = re.search(r"<svg.*?</svg>", page, re.DOTALL).group(0)
    squares = [tuple(map(float, m)) for m in re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V[\d.]+H[\d.]+z", svg)]
    side = squares[0][2] - squares[0][0]
    quiet = 4  # modules of white around the code, as the QR standard asks of a printed one
    modules = {(round(y / side) + quiet, round(x / side) + quiet) for x, y, _ in squares}
    size = max(max(row, col) for row, col in modules) + quiet + 1
    grid = np.full((size, size), 255, np.uint8)
    for row, col in modules:
        grid[row, col] = 0
    image = cv2.resize(grid, (size * 8, size * 8), interpolation=cv2.INTER_NEAREST)
    # The ArUco-based detector: OpenCV's classic one missed 14 of 200 valid codes drawn like this.
    text, _, _ = cv2.QRCodeDetectorAruco().detectAndDecode(image)
    return text
