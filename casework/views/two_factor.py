"""Setting up and entering the staff second factor (TOTP)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_otp import user_has_device

from casework import access
from casework.views.totp import next_url, totp_setup_step, totp_verify_step


def _staff_only(user) -> None:
    """The second factor guards staff accounts; a subject's portal account has no such page."""
    if not access.is_staff(user):
        raise Http404("No such page.")


def _next(request) -> str:
    return next_url(request, default="/")


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_setup(request):
    _staff_only(request.user)
    if user_has_device(request.user, confirmed=True):
        return redirect(f"{redirect('two_factor_verify').url}?next={_next(request)}")
    step = totp_setup_step(request)
    if step.done:
        return redirect(_next(request))
    return render(request, "registration/two_factor_setup.html", {**step.context, "next": _next(request)})


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_verify(request):
    _staff_only(request.user)
    if not user_has_device(request.user, confirmed=True):
        return redirect(f"{redirect('two_factor_setup').url}?next={_next(request)}")
    verified, error = totp_verify_step(request)
    if verified:
        return redirect(_next(request))
    return render(request, "registration/two_factor_verify.html", {"error": error, "next": _next(request)})
