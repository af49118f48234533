from django import forms
from django.contrib.auth import get_user_model

from casework.models import (
    Case,
    ConsentMethod,
    ConsentPurpose,
    ConsentText,
    Organization,
    Platform,
    Regime,
    Subject,
)
from casework.services.cases import PLATFORM_NEEDED
from casework.services.consent import ConsentError, subject_enroll
from casework.services.takedowns import ACTIONS
from detection.services import EnrolmentError

ENROLLED = "Enrolled {subject} with consent and one reference photo."


class ConfirmFindingForm(forms.Form):
    directory_platform = forms.ModelChoiceField(
        queryset=Platform.objects.all(), required=False, label="Platform from the directory",
        help_text="Chosen from the media's address when the directory knows its host; its contact is used.",
    )
    platform = forms.CharField(
        max_length=200, required=False, help_text="Where the content is published, e.g. the site's name."
    )
    target_url = forms.URLField(
        max_length=2000, assume_scheme="https", label="URL of the content", help_text="The page or file to remove."
    )
    regime = forms.ChoiceField(choices=Regime.choices, initial=Regime.TAKE_IT_DOWN, label="Legal regime")

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("platform", "").strip() and cleaned.get("directory_platform") is None:
            self.add_error("platform", PLATFORM_NEEDED)
        return cleaned


class RejectFindingForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class NoticeSubmissionForm(forms.Form):
    reference = forms.CharField(
        max_length=500, label="Where it was submitted, and the confirmation",
        help_text="e.g. the web form's address and the ticket or confirmation number the platform showed.",
    )


class TakedownTransitionForm(forms.Form):
    action = forms.ChoiceField(choices=list(ACTIONS.items()))
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What happened: the platform's reply, a ticket number, where it was escalated.",
    )


class DeadlineExtensionForm(forms.Form):
    reason = forms.CharField(
        max_length=2000, widget=forms.Textarea(attrs={"rows": 2}), label="Reason the platform gave for the delay"
    )


class CaseTriageForm(forms.Form):
    """Who works the case, how urgent it is, and its tags; each changed field is one service call."""

    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label="Assigned to")
    priority = forms.TypedChoiceField(choices=Case.Priority.choices, coerce=int)
    tags = forms.CharField(max_length=1000, required=False, help_text="Separated by commas.")

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        # Only members of the case's organisation can be given its cases.
        self.fields["assignee"].queryset = (
            get_user_model().objects.filter(memberships__organization=organization).order_by("username")
        )


class CaseNoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000, label="Note")


class CaseStatusForm(forms.Form):
    action = forms.ChoiceField(choices=[("close", "Close the case"), ("reopen", "Re-open the case")])
    note = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class CaseMediaForm(forms.Form):
    file = forms.FileField(label="Image or video")


class EnrolSubjectForm(forms.Form):
    """One subject, their consent, and a reference photo, enrolled in one go (the desk and the admin)."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.all())
    display_name = forms.CharField(max_length=200, help_text="A pseudonym is fine.")
    contact_email = forms.EmailField(required=False)
    consent_text = forms.ModelChoiceField(queryset=ConsentText.objects.order_by("-published_at"))
    purposes = forms.MultipleChoiceField(
        choices=ConsentPurpose.choices, initial=[ConsentPurpose.LIKENESS_MATCHING], widget=forms.CheckboxSelectMultiple
    )
    method = forms.ChoiceField(choices=ConsentMethod.choices)
    signature = forms.CharField(max_length=200, help_text="The typed name of the person who consented.")
    authority_document = forms.FileField(
        required=False, help_text="Required when a representative consents: their power of attorney, court order…"
    )
    photo = forms.ImageField(help_text="A photo showing only the subject's face.")

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:  # the desk: only the organisations the caseworker enrols for
            self.fields["organization"].queryset = organizations
            if len(organizations) == 1:
                self.fields["organization"].initial = organizations[0]

    def enroll(self, *, by) -> Subject | None:
        """Enrol from a valid form: the subject, or None with the reason (no face, a missing authority
        document...) added to the form's errors."""
        data = self.cleaned_data
        photo = data["photo"]
        try:
            return subject_enroll(
                organization=data["organization"], display_name=data["display_name"],
                contact_email=data["contact_email"], text=data["consent_text"], purposes=data["purposes"],
                method=data["method"], signature=data["signature"], authority_document=data["authority_document"],
                photos=[(photo.name, photo.read())], by=by,
            )
        except (ConsentError, EnrolmentError) as exc:
            self.add_error(None, exc.reason)
            return None


class PhotoForm(forms.Form):
    photo = forms.ImageField(label="A clear photo of your face, alone in the picture")


class KnownHashesForm(forms.Form):
    hashes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        label="Hashes of known images, one per line", max_length=100_000,
        help_text="Made where the images are, with python -m detection.engine.hash_files IMAGE...: "
                  "paste its lines, never the images.",
    )


class WithdrawalOnBehalfForm(forms.Form):
    how = forms.CharField(max_length=2000, label="How the subject asked, and their reason if they gave one",
                          widget=forms.Textarea(attrs={"rows": 2}),
                          help_text="For example: phone call on the number in the file. Kept with the withdrawal.")


class CodesResetForm(forms.Form):
    reason = forms.CharField(max_length=500, label="How you checked it is them, and why",
                             help_text="Kept in the audit trail.")
