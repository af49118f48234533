"""Staff must pass a second factor before any staff page (issue 7, security baseline)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from casework.access import is_staff

TWO_FACTOR_REQUIRED = "Staff accounts must sign in with a code from their authenticator app."
# Reachable before the second factor: signing in and out, setting up and entering the code, and the
# pages meant for anyone (views marked with casework.access.public: the report form, portal sign-in).
EXEMPT_URL_NAMES = {"login", "logout", "two_factor_setup", "two_factor_verify"}


def _exempt(request) -> bool:
    if request.path_info.startswith("/" + settings.STATIC_URL.lstrip("/")):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True  # a 404 reveals nothing
    return match.url_name in EXEMPT_URL_NAMES or getattr(match.func, "public_page", False)


class StaffTwoFactorMiddleware:
    """After django-otp's OTPMiddleware: an authenticated staff user whose session has not been
    verified with a device is sent to set one up (first time) or to enter a code."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if is_staff(user) and not user.is_verified() and not _exempt(request):
            if request.path_info.startswith("/api/"):
                return JsonResponse({"detail": TWO_FACTOR_REQUIRED}, status=403)
            from django_otp import user_has_device

            target = "two_factor_verify" if user_has_device(user, confirmed=True) else "two_factor_setup"
            return redirect(f"{redirect(target).url}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
