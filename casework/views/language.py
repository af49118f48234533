"""The language a person reads Reclaim in (README, "Languages").

LocaleMiddleware takes it from the language cookie, else from the browser's Accept-Language. The switcher
on every page (templates/_language_switcher.html, a plain form: no script needed) posts here: Django's
set_language sets the cookie and goes back to the page. A signed-in subject's choice is also kept on
their record, because e-mails to them (sign-in links, retention notices) are written when no browser is
asking; at sign-in the portal takes a language chosen on this device, or else brings back theirs.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from casework import access
from casework.models import Subject
from casework.services.portal import language_supported, subject_language_set


@access.public
@require_POST
def language_set(request):
    """Django's set_language, and the subject's record when a subject is signed in."""
    response = set_language(request)
    language = language_supported(request.POST.get("language"))
    subject = access.portal_subject(request.user)  # not while their sign-in code is still to be entered
    if language and subject is not None:
        subject_language_set(subject=subject, language=language)
    return response


def subject_language_on_sign_in(request, response, subject: Subject):
    """At a subject's sign-in: a language chosen on this device (the cookie) becomes theirs; without one,
    theirs (if known) is set on this device, else the language the browser asked for becomes theirs."""
    chosen = language_supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    pending = access.code_pending(request.user)  # only once the code is entered may their record change
    if chosen:
        if not pending:
            subject_language_set(subject=subject, language=chosen)
    elif language_supported(subject.language):
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, subject.language, max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
    elif not pending:
        subject_language_set(subject=subject, language=language_supported(translation.get_language())
                             or settings.LANGUAGE_CODE)
    return response
