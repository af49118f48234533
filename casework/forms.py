from django import forms

from casework.models import ConsentMethod, ConsentPurpose, ConsentText, Organization, Regime
from casework.services.notices import TAKE_IT_DOWN_GOOD_FAITH
from casework.services.takedowns import ACTIONS


class ConfirmFindingForm(forms.Form):
    platform = forms.CharField(max_length=200, help_text="Where the content is published, e.g. the site's name.")
    target_url = forms.URLField(
        max_length=2000, assume_scheme="https", label="URL of the content", help_text="The page or file to remove."
    )
    regime = forms.ChoiceField(choices=Regime.choices, initial=Regime.TAKE_IT_DOWN, label="Legal regime")


class RejectFindingForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class NoticeForm(forms.Form):
    signer_name = forms.CharField(max_length=200, required=False, label="Signature (typed full name)")
    signer_capacity = forms.CharField(
        max_length=200, required=False, label="Signing as",
        help_text="The person depicted, or their authorised representative (say whose).",
    )
    contact_email = forms.EmailField(required=False, label="Contact e-mail for the platform's reply")
    statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, initial=TAKE_IT_DOWN_GOOD_FAITH,
        label="Good-faith statement",
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


class CaseMediaForm(forms.Form):
    file = forms.FileField(label="Image or video")


class EnrolSubjectForm(forms.Form):
    """Admin form: one subject, their consent, and a reference photo, enrolled in one go."""

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
