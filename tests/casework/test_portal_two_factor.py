"""A subject may turn on sign-in codes (an authenticator app): then every sign-in to the portal, by
e-mail link or password, also asks for a code; turning them off needs a current code."""

import re

from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.models import AuditEvent
from casework.services.two_factor import WRONG_CODE, totp_device_create_confirmed
from casework.views.portal_two_factor import CODES_OFF, CODES_ON
from tests.casework.test_portal import HOME, enrol_subject, sign_in, subject

SETUP = reverse("casework:portal_two_factor_setup")
VERIFY = reverse("casework:portal_two_factor_verify")
OFF = reverse("casework:portal_two_factor_remove")


def code(device, steps_ahead: int = 0) -> str:
    """The app's code; a step ahead (within django-otp's tolerance of one) where the current one was
    used already, since a code is accepted once."""
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, steps_ahead).token():06d}"


def wrong(device) -> str:
    return "000000" if code(device) != "000000" else "111111"


def test_a_subject_turns_on_sign_in_codes(client, subject):
    sign_in(client, subject)
    page = client.get(SETUP).content.decode()
    assert "<svg" in page and "otpauth://totp/" in page
    device = TOTPDevice.objects.get(user=subject.user, confirmed=False)
    assert str(WRONG_CODE) in client.post(SETUP, {"token": wrong(device)}).content.decode()
    device.refresh_from_db()
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None  # the wrong code's back-off
    device.save()
    response = client.post(SETUP, {"token": code(device)}, follow=True)
    assert response.redirect_chain[-1][0] == HOME and str(CODES_ON) in response.content.decode()
    assert "Turn sign-in codes off" in response.content.decode()
    assert AuditEvent.objects.filter(action="two_factor.device_confirmed", actor=subject.user).exists()


def test_with_codes_on_each_sign_in_asks_for_one(client, subject):
    sign_in(client, subject)
    device = totp_device_create_confirmed(user=subject.user)
    client.logout()
    sign_in(client, subject)
    response = client.get(reverse("casework:portal_password"))
    assert response.status_code == 302 and response.url == f"{VERIFY}?next=%2Fportal%2Fpassword"
    assert client.get(HOME).url.startswith(VERIFY)
    assert str(WRONG_CODE) in client.post(VERIFY, {"token": wrong(device), "next": HOME}).content.decode()
    assert client.get(HOME).url.startswith(VERIFY)  # still not in
    device.refresh_from_db()
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    # Only a portal page may come next: anything else goes to the portal's home.
    assert client.post(VERIFY, {"token": code(device), "next": "https://evil.example/"}).url == HOME
    assert client.get(HOME).status_code == 200


def test_turning_codes_off_needs_a_current_code(client, subject):
    sign_in(client, subject)
    device = totp_device_create_confirmed(user=subject.user)
    client.post(VERIFY, {"token": code(device)})
    page = client.post(OFF, {"token": wrong(device)}, follow=True).content.decode()
    assert str(WRONG_CODE) in page and TOTPDevice.objects.filter(user=subject.user).exists()
    device.refresh_from_db()
    device.throttling_failure_count, device.throttling_failure_timestamp = 0, None
    device.save()
    page = client.post(OFF, {"token": code(device, steps_ahead=1)}, follow=True).content.decode()
    assert str(CODES_OFF) in page and not TOTPDevice.objects.filter(user=subject.user).exists()
    assert AuditEvent.objects.filter(action="two_factor.devices_removed", actor=subject.user).exists()
    client.logout()
    sign_in(client, subject)
    assert client.get(HOME).status_code == 200


def test_a_subject_without_codes_is_not_asked(client, subject):
    sign_in(client, subject)
    assert client.get(HOME).status_code == 200
    assert client.get(VERIFY).url == HOME
    assert re.search(r"Turn on sign-in codes", client.get(HOME).content.decode())
