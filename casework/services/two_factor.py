"""Two-factor authentication with a TOTP device (django-otp): required of staff, chosen by subjects."""

from __future__ import annotations

import base64
import math

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.services.audit import audit_record

WRONG_CODE = gettext_lazy(
    "That code is not right, or it has expired. Enter the 6 digits your authenticator app shows now."
)
# django-otp doubles the wait after each wrong code (1, 2, 4… seconds) and then checks no code at all,
# the right one included: saying "wrong code" then would send the person to re-check a right code.
TOO_MANY_TRIES = gettext_lazy(
    "Too many wrong codes were entered, so codes are paused for a moment. Wait {seconds} seconds, then "
    "enter the 6 digits your authenticator app shows at that time."
)
DEVICE_NAME = "Authenticator app"


class TwoFactorError(Exception):
    pass


def _throttled_for_s(device) -> int | None:
    """Seconds until ``device`` checks codes again, or None when it checks them now."""
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (details or {}).get("locked_until")
    return max(1, math.ceil((locked_until - timezone.now()).total_seconds())) if locked_until else 1


def totp_verify(*, user, token: str) -> TOTPDevice:
    """The user's confirmed device that accepts ``token``; TwoFactorError says why not, in words.

    Throttling is asked about before any code is checked: when every device is paused, the answer is
    "wait N seconds", never "wrong code".
    """
    devices = list(devices_for_user(user, confirmed=True))
    waits = [_throttled_for_s(device) for device in devices]
    if devices and all(wait is not None for wait in waits):
        raise TwoFactorError(TOO_MANY_TRIES.format(seconds=min(waits)))
    device = match_token(user, token.strip())
    if device is None:
        raise TwoFactorError(WRONG_CODE)
    return device


def totp_device_start(*, user) -> TOTPDevice:
    """The user's unconfirmed device, created on first call: its key is shown until a code confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_key_base32(device: TOTPDevice) -> str:
    """The key as authenticator apps ask to have it typed."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def totp_device_confirm(*, device: TOTPDevice, token: str, by) -> TOTPDevice:
    with transaction.atomic():
        # Locked, so two submitted codes cannot both confirm (and both audit) the same device.
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if device.confirmed:
            return device
        wait = _throttled_for_s(device)
        if wait is not None:
            raise TwoFactorError(TOO_MANY_TRIES.format(seconds=wait))
        if not device.verify_token(token.strip()):
            raise TwoFactorError(WRONG_CODE)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action="two_factor.device_confirmed", actor=by, organization=None, target=device,
                     data={"device": device.pk, "kind": "totp"})
    return device


def totp_device_create_confirmed(*, user, name: str = DEVICE_NAME, key: str | None = None) -> TOTPDevice:
    """A confirmed device made without a code: the demo command and tests, which know the key."""
    device = TOTPDevice.objects.filter(user=user, name=name, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True, **({"key": key} if key else {}))
        audit_record(action="two_factor.device_confirmed", actor=user, organization=None, target=device,
                     data={"device": device.pk, "kind": "totp", "created_by": "command"})
    return device


def totp_devices_remove(*, user, token: str, organization=None) -> int:
    """Turn two-factor sign-in off for ``user`` (a subject's choice): a current code proves the
    person holds the device, so a stolen session alone cannot remove it."""
    device = totp_verify(user=user, token=token)
    with transaction.atomic():
        devices = TOTPDevice.objects.filter(user=user)
        audit_record(action="two_factor.devices_removed", actor=user, organization=organization, target=device,
                     data={"devices": devices.count(), "kind": "totp"})
        removed, _ = devices.delete()
    return removed


def totp_devices_reset(*, user, by, organization, reason: str) -> int:
    """Turn off ``user``'s sign-in codes for them (a subject who lost their phone), with the reason in
    the audit trail: the caseworker has checked who is asking, as they would for any change."""
    with transaction.atomic():
        devices = TOTPDevice.objects.filter(user=user)
        count = devices.count()
        if count:
            audit_record(action="two_factor.devices_reset", actor=by, organization=organization, target=user,
                         data={"devices": count, "reason": reason})
            devices.delete()
    return count

