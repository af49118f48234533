"""A subject's optional sign-in code: an authenticator app on top of the e-mail link or password.

Abusers are often former partners who may still read the subject's e-mail; a code from the subject's
own phone keeps them out of the portal even then. Once a device is confirmed, every portal page asks
for a code after each sign-in (casework.views.portal.subject_required).
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import user_has_device

from casework import access
from casework.models import Subject
from casework.services.two_factor import TwoFactorError, totp_devices_remove
from casework.views.portal import subject_required
from casework.views.totp import next_url, totp_setup_step, totp_verify_step

CODES_ON = _("Sign-in codes are on: after each sign-in we will ask for the code your app shows.")
CODES_OFF = _("Sign-in codes are off.")


def _next(request) -> str:
    return next_url(request, default=reverse("casework:portal_home"), within="/portal/")


@never_cache
@require_http_methods(["GET", "POST"])
@subject_required
def portal_two_factor_setup(request, subject: Subject):
    if user_has_device(request.user, confirmed=True):
        return redirect("casework:portal_home")
    step = totp_setup_step(request)
    if step.done:
        messages.success(request, CODES_ON)
        return redirect("casework:portal_home")
    return render(request, "portal/two_factor_setup.html", step.context)


@never_cache
@require_http_methods(["GET", "POST"])
def portal_two_factor_verify(request):
    """Between signing in and the portal: not behind subject_required, which sends people here."""
    if not request.user.is_authenticated:
        return redirect("casework:portal_sign_in")
    access.subject_for_user(request.user)  # staff and others: 404
    if not user_has_device(request.user, confirmed=True) or request.user.is_verified():
        return redirect(_next(request))
    verified, error = totp_verify_step(request)
    if verified:
        return redirect(_next(request))
    return render(request, "portal/two_factor_verify.html", {"error": error, "next": _next(request)})


@require_POST
@subject_required
def portal_two_factor_remove(request, subject: Subject):
    try:
        totp_devices_remove(user=request.user, token=request.POST.get("token", ""), organization=subject.organization)
    except TwoFactorError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, CODES_OFF)
    return redirect("casework:portal_home")
