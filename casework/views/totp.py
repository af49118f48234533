"""The steps of setting up and entering a TOTP code that staff pages (casework.views.two_factor) and
the subject portal (casework.views.portal_two_factor) share; each page keeps its own layout and
where it goes next."""

from __future__ import annotations

from dataclasses import dataclass, field

import qrcode
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from qrcode.image.svg import SvgPathImage

from casework.services.two_factor import (
    TwoFactorError,
    totp_device_confirm,
    totp_device_start,
    totp_key_base32,
    totp_verify,
)


def qr_svg(text: str) -> SafeString:
    """``text`` (an otpauth:// link) as an SVG QR code: drawn here, because sending the secret to an
    image service would leak it, and inline SVG needs no script or style."""
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=8, border=2)
    return mark_safe(image.to_string(encoding="unicode"))  # paths drawn from the encoded bits, no text


def next_url(request, *, default: str, within: str = "/") -> str:
    """Where to go after the code: the asked-for page if it is on this site (and under ``within``),
    else ``default``; never another host, so the form cannot be used to send someone elsewhere."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith(within) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@dataclass
class SetupStep:
    done: bool  # the device is confirmed and this session verified
    context: dict = field(default_factory=dict)  # for the page: key as text, link, QR code, error


def totp_setup_step(request) -> SetupStep:
    """Show the unconfirmed device's key; on POST, confirm it with the entered code."""
    device = totp_device_start(user=request.user)
    error = None
    if request.method == "POST":
        try:
            device = totp_device_confirm(device=device, token=request.POST.get("token", ""), by=request.user)
        except TwoFactorError as exc:
            error = str(exc)
        else:
            otp_login(request, device)
            return SetupStep(done=True)
    return SetupStep(done=False, context={
        "secret": totp_key_base32(device), "config_url": device.config_url, "qr": qr_svg(device.config_url),
        "error": error,
    })


def totp_verify_step(request) -> tuple[bool, str | None]:
    """(verified, error): on POST, a right code verifies this session."""
    if request.method != "POST":
        return False, None
    try:
        device = totp_verify(user=request.user, token=request.POST.get("token", ""))
    except TwoFactorError as exc:
        return False, str(exc)
    otp_login(request, device)
    return True, None
