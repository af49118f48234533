"""Staff two-factor authentication: a TOTP device per staff user (django-otp)."""

from __future__ import annotations

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.services.audit import audit_record

WRONG_CODE = "That code is not right, or it has expired. Enter the 6 digits your authenticator app shows now."
DEVICE_NAME = "Authenticator app"


class TwoFactorError(Exception):
    pass


def totp_device_start(*, user) -> TOTPDevice:
    """The user's unconfirmed device, created on first call: its key is shown until a code confirms it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def totp_device_confirm(*, device: TOTPDevice, token: str, by) -> TOTPDevice:
    with transaction.atomic():
        # Locked, so two submitted codes cannot both confirm (and both audit) the same device.
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if device.confirmed:
            return device
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
