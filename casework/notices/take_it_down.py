"""US TAKE IT DOWN Act removal request (Pub. L. 119-12, § 3(a)(1)(B))."""

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

GOOD_FAITH = (
    "I have a good faith belief that the intimate visual depiction identified in this request is not "
    "consensual: it was published without the consent of the person depicted."
)
LOCATION = "identification of the depiction and information to locate it (its URL)"
STATEMENT = (
    "a brief statement of good faith belief that the depiction is not consensual, with information "
    "supporting it"
)
CONTACT = "contact information for the person making the request"


def elements(request, draft: NoticeDraft) -> list[Element]:
    return [
        signature_element(draft),
        Element(LOCATION, bool(request.target_url)),
        Element(STATEMENT, filled(draft.statement, draft.supporting_information)),
        Element(CONTACT, filled(draft.contact_email)),
        *authority_elements(request, draft),
    ]


class Form(NoticeForm):
    statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, initial=GOOD_FAITH, label=_("Good-faith statement"),
    )
    supporting_information = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Information supporting the statement"),
        help_text=_("What lets the platform see it was published without consent: e.g. the person depicted never "
        "agreed to its publication; it was shared by a former partner; the image is a deepfake."),
    )


NOTICE = RegimeNotice(
    regime=Regime.TAKE_IT_DOWN,
    template="notices/take_it_down.html",
    form=Form,
    elements=elements,
    detail_fields=("supporting_information", "additional_urls"),
    subject="Removal request under the TAKE IT DOWN Act — {reference}",
)
