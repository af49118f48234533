"""The subject's portal: their consents (and withdrawing them), reference photos, consent receipts and
their cases' progress in plain words. Every page gets its objects through casework.access with the
signed-in subject, so a subject can reach nothing but their own data; staff are not subjects (404).
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout, update_session_auth_hash
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import user_has_device

from casework import access, selectors
from casework.forms import KnownHashesForm, PhotoForm
from casework.models import ConsentPurpose, Subject
from casework.ratelimit import public_post_limited
from casework.services import portal
from casework.services.consent import (
    ConsentError,
    consent_withdraw,
    reference_photo_remove,
    subject_consents_to,
)
from casework.services.receipts import consent_receipt_pdf
from casework.views.language import subject_language_on_sign_in
from casework.views.reference_photos import photo_add_from_request
from detection.services import EnrolmentError

LINK_SENT = _(
    "If {email} is the address your caseworker has for you, a sign-in link is on its way. "
    "It works for {minutes} minutes. Check your spam folder if it does not arrive."
)
PASSWORD_WRONG = _("That e-mail address and password do not match. You can always sign in with an e-mail link instead.")
SIGNED_OUT = _("You are signed out.")
PHOTO_ADDED = _("Photo added. We will use it to look for images of you.")
PHOTO_REMOVED = _("Photo removed, with the face data made from it.")
PASSWORD_SET = _("Password set. You can now sign in with your e-mail address and this password.")
# The backend the portal signs subjects in with: the link has already proved who they are.
SIGN_IN_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LinkRequestForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class PasswordSignInForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label=_("Password"),
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Why (optional, helps us improve)"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


def subject_required(view):
    """Sign-in first (to the portal's own page), then the subject: staff users get 404, not a portal."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect(f"{reverse('casework:portal_sign_in')}?next={request.path}")
        subject = access.subject_for_user(request.user)
        if access.code_pending(request.user):
            # The subject turned sign-in codes on (casework.views.portal_two_factor): ask for one.
            verify = reverse("casework:portal_two_factor_verify")
            return redirect(f"{verify}?{urlencode({'next': request.get_full_path()})}")
        response = view(request, subject, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapper


def _portal_user_authenticate(request, email: str, password: str):
    """A subject's user with this contact e-mail and password, through the configured auth backends
    (so login lockout counts these attempts too)."""
    for subject in Subject.objects.filter(contact_email__iexact=email.strip(), user__isnull=False).select_related("user"):
        if subject.user.has_usable_password():
            user = authenticate(request, username=subject.user.get_username(), password=password)
            if user is not None:
                return user
    return None


@access.public
@never_cache
@require_http_methods(["GET", "POST"])
@public_post_limited("portal-sign-in")
def portal_sign_in(request):
    link_form = LinkRequestForm(request.POST if request.POST.get("method") == "link" else None)
    password_form = PasswordSignInForm(request.POST if request.POST.get("method") == "password" else None)
    if request.method == "POST" and link_form.is_bound and link_form.is_valid():
        email = link_form.cleaned_data["email"]
        portal.portal_links_send(
            email=email, link_for=lambda token: request.build_absolute_uri(reverse("casework:portal_link", args=[token]))
        )
        messages.success(request, LINK_SENT.format(email=email, minutes=settings.PORTAL_LINK_MINUTES))
        return redirect("casework:portal_sign_in")
    if request.method == "POST" and password_form.is_bound and password_form.is_valid():
        data = password_form.cleaned_data
        user = _portal_user_authenticate(request, data["email"], data["password"])
        if user is not None:
            login(request, user)
            return subject_language_on_sign_in(request, redirect("casework:portal_home"), access.subject_for_user(user))
        messages.error(request, PASSWORD_WRONG)
    return render(request, "portal/sign_in.html", {"link_form": link_form, "password_form": password_form})


@access.public
@never_cache
@require_http_methods(["GET", "POST"])
def portal_link(request, token: str):
    """GET only shows a button: mail scanners open links, and must not use up the sign-in."""
    try:
        subject = portal.portal_link_check(token=token)
    except portal.PortalError as exc:
        messages.error(request, exc.reason)
        return redirect("casework:portal_sign_in")
    if request.method == "GET":
        return render(request, "portal/link.html", {"subject": subject})
    user = portal.subject_user_ensure(subject=subject)
    login(request, user, backend=SIGN_IN_BACKEND)  # sets last_login: this link now stops working
    return subject_language_on_sign_in(request, redirect("casework:portal_home"), subject)


@access.public
@require_POST
def portal_sign_out(request):
    logout(request)
    messages.success(request, SIGNED_OUT)
    return redirect("casework:portal_sign_in")


@require_GET
@subject_required
def portal_home(request, subject: Subject):
    consents = subject.consents.select_related("text").order_by("-granted_at")
    cases = [(case, selectors.case_status_in_words(case)) for case in access.cases_for_subject(subject)]
    context = {
        "subject": subject,
        "consents": [(c, [ConsentPurpose(p).label for p in c.purposes]) for c in consents],
        "photos": subject.reference_photos.order_by("created_at"),
        "can_add_photos": subject_consents_to(subject, ConsentPurpose.LIKENESS_MATCHING),
        "can_add_hashes": subject_consents_to(subject, ConsentPurpose.HASH_MATCHING),
        # A known video counts as one, as "new hashes registered" counts it when it is registered.
        "hash_count": subject.known_hashes.count() + subject.known_videos.count(),
        "hashes_form": KnownHashesForm(),
        "photo_form": PhotoForm(),
        "cases": cases,
        "has_password": request.user.has_usable_password(),
        "has_codes": user_has_device(request.user, confirmed=True),
    }
    return render(request, "portal/home.html", context)


@require_http_methods(["GET", "POST"])
@subject_required
def portal_consent_withdraw(request, subject: Subject, pk: int):
    consent = access.consent_get_for_subject(subject, pk)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            summary = consent_withdraw(consent=consent, by=request.user, reason=form.cleaned_data["reason"])
        except ConsentError as exc:
            messages.error(request, exc.reason)
        else:
            messages.success(request, ngettext(
                "Your consent is withdrawn. {count} stored item about you was deleted.",
                "Your consent is withdrawn. {count} stored items about you were deleted.",
                summary.stored_items,
            ).format(count=summary.stored_items))
        return redirect("casework:portal_home")
    context = {"subject": subject, "consent": consent, "form": form,
               "consequences": selectors.consent_withdrawal_consequences(consent) if consent.is_active else []}
    return render(request, "portal/consent_withdraw.html", context)


@require_GET
@subject_required
def portal_consent_receipt(request, subject: Subject, pk: int):
    consent = access.consent_get_for_subject(subject, pk)
    response = HttpResponse(consent_receipt_pdf(consent=consent), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{consent.pk}.pdf"'
    return response


@require_POST
@subject_required
def portal_photo_add(request, subject: Subject):
    photo_add_from_request(request, subject, added=PHOTO_ADDED)
    return redirect("casework:portal_home")


@require_POST
@subject_required
def portal_photo_remove(request, subject: Subject, pk: int):
    photo = access.reference_photo_get_for_subject(subject, pk)
    try:
        reference_photo_remove(subject=subject, photo_id=photo.pk, by=request.user)
    except EnrolmentError as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, PHOTO_REMOVED)
    return redirect("casework:portal_home")


@require_http_methods(["GET", "POST"])
@subject_required
def portal_password(request, subject: Subject):
    user = get_user_model().objects.get(pk=request.user.pk)
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = portal.subject_password_set(subject=subject, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, user)  # the password changed: keep this session signed in
        messages.success(request, PASSWORD_SET)
        return redirect("casework:portal_home")
    return render(request, "portal/password.html", {"subject": subject, "form": form})
