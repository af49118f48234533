"""The subject's own account: e-mail sign-in links, the portal user, and an optional password.

A sign-in link is a signed, time-limited token (django.core.signing). It also carries a digest of
the account's last sign-in and password, so a link works once and stops working when the subject
sets a password: the same idea as Django's password-reset tokens.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from casework.models import Subject
from casework.services.audit import audit_record
from detection.engine.errors import ReadableError

LINK_SALT = "casework.portal.sign-in-link"
LINK_EXPIRED = _("This sign-in link has expired. Links work for {minutes} minutes; ask for a new one below.")
LINK_INVALID = _(
    "This sign-in link does not work: it was already used, or it was copied incompletely. Ask for a new one below."
)
LINK_SUBJECT = _("Your sign-in link for Reclaim")


class PortalError(ReadableError):
    pass


def _account_state(subject: Subject) -> str:
    user = subject.user
    last_login = user.last_login.isoformat() if user and user.last_login else ""
    password = user.password if user else ""
    state = f"{subject.pk}|{subject.contact_email.lower()}|{last_login}|{password}"
    return salted_hmac(LINK_SALT, state).hexdigest()[:20]


def portal_link_token(*, subject: Subject) -> str:
    return signing.dumps({"s": subject.pk, "v": _account_state(subject)}, salt=LINK_SALT, compress=True)


def portal_link_check(*, token: str) -> Subject:
    """The subject a sign-in link is for, or PortalError saying why it does not work."""
    minutes = settings.PORTAL_LINK_MINUTES
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=dt.timedelta(minutes=minutes))
    except signing.SignatureExpired:
        raise PortalError(LINK_EXPIRED.format(minutes=minutes)) from None
    except signing.BadSignature:
        raise PortalError(LINK_INVALID) from None
    subject = Subject.objects.select_related("user", "organization").filter(pk=payload.get("s")).first()
    if subject is None or not subject.contact_email or payload.get("v") != _account_state(subject):
        raise PortalError(LINK_INVALID)
    return subject


def portal_links_send(*, email: str, link_for: Callable[[str], str]) -> int:
    """E-mail a sign-in link to each subject with this contact address; how many were sent.

    The caller shows the same answer whatever the count, so the form does not reveal who is a subject.
    """
    email = email.strip()
    sent = 0
    for subject in Subject.objects.filter(contact_email__iexact=email).select_related("user", "organization"):
        link = link_for(portal_link_token(subject=subject))
        context = {"subject": subject, "link": link, "minutes": settings.PORTAL_LINK_MINUTES}
        # In the subject's language when it is known; else in the one the form was read in.
        with translation.override(subject_language(subject, fallback=translation.get_language())):
            body = render_to_string("portal/email/sign_in_link.txt", context)
            sent += send_mail(str(LINK_SUBJECT), body, None, [subject.contact_email])
    return sent


def language_supported(code: str | None) -> str | None:
    """``code`` if it is one of settings.LANGUAGES, else None."""
    return code if code in dict(settings.LANGUAGES) else None


def subject_language(subject: Subject, *, fallback: str | None = None) -> str:
    """The language to write to the subject in: theirs when known, else ``fallback`` (the page's, when
    they asked for the e-mail), else the site's."""
    return language_supported(subject.language) or language_supported(fallback) or settings.LANGUAGE_CODE


def subject_language_set(*, subject: Subject, language: str) -> bool:
    """Remember the language the subject reads (their choice on the switcher, or at sign-in); True if it
    changed. A preference, not a decision about their data: not audited."""
    if language_supported(language) is None:
        raise ValueError(f"{language!r} is not in settings.LANGUAGES")
    changed = Subject.objects.filter(pk=subject.pk).exclude(language=language).update(language=language)
    subject.language = language
    return bool(changed)


def subject_user_ensure(*, subject: Subject):
    """The subject's portal user, made the first time they sign in."""
    with transaction.atomic():
        locked = Subject.objects.select_for_update(of=("self",)).select_related("user", "organization").get(pk=subject.pk)
        if locked.user is not None:
            return locked.user
        user = get_user_model()(username=f"subject-{locked.pk}", email=locked.contact_email)
        # No password until the subject sets one: the e-mail link is how they sign in.
        user.set_unusable_password()
        user.save()
        locked.user = user
        locked.save(update_fields=["user"])
        audit_record(action="subject.portal_account_created", actor=None, organization=locked.organization,
                     target=locked, data={"user": user.pk})
    return user


def subject_password_set(*, subject: Subject, password: str):
    """Set the password the subject may sign in with instead of an e-mail link (validated by the caller)."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=subject.user_id)
        user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(action="subject.portal_password_set", actor=user, organization=subject.organization,
                     target=subject)
    return user
