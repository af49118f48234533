"""Request for erasure to a controller under Art. 17 GDPR (Regulation (EU) 2016/679)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.models import Regime
from casework.notices.base import (
    Element,
    NoticeDraft,
    NoticeForm,
    RegimeNotice,
    authority_elements,
    filled,
    signature_element,
)

# Art. 17(1): the grounds a data subject may rely on; a request names at least one.
GROUNDS = [
    ("a", "Art. 17(1)(a): the personal data are no longer necessary for the purposes for which they were "
          "collected or processed"),
    ("b", "Art. 17(1)(b): the data subject withdraws the consent on which the processing is based, and there "
          "is no other legal ground for it"),
    ("c", "Art. 17(1)(c): the data subject objects to the processing under Art. 21 and there are no overriding "
          "legitimate grounds for it"),
    ("d", "Art. 17(1)(d): the personal data have been unlawfully processed"),
    ("e", "Art. 17(1)(e): the personal data must be erased to comply with a legal obligation"),
    ("f", "Art. 17(1)(f): the personal data were collected in relation to information society services "
          "offered to a child"),
]
IDENTITY = "the identity of the data subject"
DATA = "the personal data concerned and where they are (the URL)"
GROUND = "the ground(s) for erasure relied on (Art. 17(1)(a)-(f))"
INFORM = "the request to inform other controllers of the erasure (Art. 17(2))"
CONTACT = "contact information for the controller's reply"
SIGNATURE = "the signature of the data subject or their authorised representative"


def elements(request, draft: NoticeDraft) -> list[Element]:
    known = {code for code, _ in GROUNDS}
    return [
        Element(IDENTITY, filled(draft.data_subject_name)),
        Element(DATA, filled(draft.data_concerned) and bool(request.target_url)),
        Element(GROUND, bool(draft.gdpr_grounds) and set(draft.gdpr_grounds) <= known),
        Element(INFORM, draft.inform_other_controllers),
        Element(CONTACT, filled(draft.contact_email)),
        signature_element(draft, SIGNATURE),
        *authority_elements(request, draft),
    ]


def context(request, draft: NoticeDraft) -> dict:
    return {"grounds": [label for code, label in GROUNDS if code in draft.gdpr_grounds]}


class Form(NoticeForm):
    data_subject_name = forms.CharField(
        max_length=200, required=False, label=_("The data subject"),
        help_text=_("The name the controller knows the person by; the person depicted, not the representative."),
    )
    data_concerned = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("The personal data concerned"),
        help_text=_("e.g. intimate images of the data subject, and the name and profile they were posted with."),
    )
    gdpr_grounds = forms.MultipleChoiceField(
        choices=GROUNDS, required=False, widget=forms.CheckboxSelectMultiple, label=_("Grounds for erasure"),
    )
    inform_other_controllers = forms.BooleanField(
        required=False, label=_("Ask the controller to inform other controllers of the erasure (Art. 17(2))"),
    )


NOTICE = RegimeNotice(
    regime=Regime.GDPR,
    template="notices/gdpr.html",
    form=Form,
    elements=elements,
    detail_fields=("data_subject_name", "data_concerned", "gdpr_grounds", "inform_other_controllers",
                   "additional_urls"),
    subject="Request for erasure under Article 17 GDPR — {reference}",
    statement_field=False,
    context=context,
)
