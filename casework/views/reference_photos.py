"""Adding a reference photo to an enrolled subject: the subject in the portal, or their caseworker
(a subject without e-mail, consent given on paper). Consent to likeness matching is checked by the
service (casework.services.consent.reference_photo_add)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from casework import access
from casework.forms import PhotoForm
from casework.models import Subject
from casework.services.consent import ConsentError, reference_photo_add
from detection.services import EnrolmentError

CHOOSE_A_PHOTO = _("Choose a photo to add.")
PHOTO_ADDED_FOR = _("Reference photo added for {subject}.")


def photo_add_from_request(request, subject: Subject, *, added: str) -> None:
    """Add the uploaded photo and say what happened, in the words ``added`` on success."""
    form = PhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors) or CHOOSE_A_PHOTO)
        return
    upload = form.cleaned_data["photo"]
    try:
        reference_photo_add(subject=subject, data=upload.read(), filename=upload.name, by=request.user)
    except (ConsentError, EnrolmentError) as exc:
        messages.error(request, exc.reason)
    else:
        messages.success(request, added)


@require_POST
@login_required
def subject_photo_add(request, pk: int):
    subject = access.subject_get_for_user(request.user, pk)
    access.require_role(request.user, subject.organization_id, access.REVIEWERS)
    photo_add_from_request(request, subject, added=PHOTO_ADDED_FOR.format(subject=subject))
    return redirect("casework:subject_detail", pk=subject.pk)
