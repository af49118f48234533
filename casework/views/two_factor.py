"""Setting up and entering the staff second factor (TOTP)."""

from __future__ import annotations

import base64

import qrcode
from qrcode.image.svg import SvgPathImage
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from casework import access
from casework.services.two_factor import WRONG_CODE, TwoFactorError, totp_device_confirm, totp_device_start


def _staff_only(user) -> None:
    """The second factor guards staff accounts; a subject's portal account has no such page."""
    if not access.is_staff(user):
        raise Http404("No such page.")


def _qr_svg(config_url: str) -> str:
    """The otpauth:// link as an SVG QR code for the authenticator app to scan: drawn here, because
    sending the secret to an image service would leak it, and inline SVG needs no script or style."""
    image = qrcode.make(config_url, image_factory=SvgPathImage, box_size=8, border=2)
    return mark_safe(image.to_string(encoding="unicode"))  # paths drawn from the encoded bits, no text


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_setup(request):
    _staff_only(request.user)
    if user_has_device(request.user, confirmed=True):
        return redirect(f"{redirect('two_factor_verify').url}?next={_next(request)}")
    device = totp_device_start(user=request.user)
    error = None
    if request.method == "POST":
        try:
            device = totp_device_confirm(device=device, token=request.POST.get("token", ""), by=request.user)
        except TwoFactorError as exc:
            error = str(exc)
        else:
            otp_login(request, device)
            return redirect(_next(request))
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(request, "registration/two_factor_setup.html", {
        "secret": secret, "config_url": device.config_url, "qr": _qr_svg(device.config_url), "error": error,
        "next": _next(request),
    })


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_verify(request):
    _staff_only(request.user)
    if not user_has_device(request.user, confirmed=True):
        return redirect(f"{redirect('two_factor_setup').url}?next={_next(request)}")
    error = None
    if request.method == "POST":
        device = match_token(request.user, request.POST.get("token", "").strip())
        if device is None:
            error = WRONG_CODE
        else:
            otp_login(request, device)
            return redirect(_next(request))
    return render(request, "registration/two_factor_verify.html", {"error": error, "next": _next(request)})
