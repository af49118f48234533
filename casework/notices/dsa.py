"""Notice of illegal content to a hosting service under Art. 16(2) of the Digital Services Act
(Regulation (EU) 2022/2065)."""

from dataclasses import replace

from django import forms
from django.utils.translation import gettext_lazy as _

from casework.models import Regime
from casework.notices.base import Element, NoticeDraft, NoticeForm, RegimeNotice, authority_elements, filled

GOOD_FAITH = (
    "I confirm my bona fide belief that the information and allegations contained in this notice are "
    "accurate and complete."
)
EXPLANATION = "(a) a sufficiently substantiated explanation of why the content is illegal"
LOCATION = "(b) the exact electronic location of the content: its URL(s)"
IDENTITY = (
    "(c) the name and e-mail address of the person submitting the notice — not needed for child sexual abuse "
    "material (offences under Directive 2011/93/EU, Arts 3-7), which the case must record: the person depicted "
    "is a minor"
)
GOOD_FAITH_ELEMENT = "(d) a statement of bona fide belief that the notice is accurate and complete"


def identity_withheld(request, draft: NoticeDraft) -> bool:
    """Art. 16(2)(c): the exemption is a choice, and only open where the case records a minor."""
    return draft.csam_exemption and request.case.depicts_minor


def elements(request, draft: NoticeDraft) -> list[Element]:
    identity = identity_withheld(request, draft) or (
        not draft.csam_exemption and filled(draft.signer_name, draft.contact_email)
    )
    return [
        Element(EXPLANATION, filled(draft.illegality_explanation)),
        Element(LOCATION, bool(request.target_url)),
        Element(IDENTITY, identity),
        Element(GOOD_FAITH_ELEMENT, filled(draft.statement)),
        *([] if identity_withheld(request, draft) else authority_elements(request, draft)),
    ]


def withhold(request, draft: NoticeDraft) -> NoticeDraft:
    """An exempt notice names no one anywhere: not in the PDF, the e-mail's Reply-To or the record."""
    if not identity_withheld(request, draft):
        return draft
    return replace(draft, signer_name="", signer_capacity="", contact_email="", signature_consent=False,
                   signature_image="", signer_is_representative=False)


def context(request, draft: NoticeDraft) -> dict:
    return {"identity_withheld": identity_withheld(request, draft)}


class Form(NoticeForm):
    illegality_explanation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, label=_("Why the content is illegal"),
        help_text=_("The law broken and the facts: e.g. non-consensual sharing of intimate images "
        "(Directive (EU) 2024/1385, Art. 5), the person depicted did not consent to it."),
    )
    csam_exemption = forms.BooleanField(
        required=False, label=_("Withhold the submitter's name and e-mail: the content is child sexual abuse material"),
        help_text=_("DSA Art. 16(2)(c). Only for a case that records the person depicted is a minor."),
    )
    statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, initial=GOOD_FAITH,
        label=_("Statement of good faith"),
    )


NOTICE = RegimeNotice(
    regime=Regime.DSA,
    template="notices/dsa.html",
    form=Form,
    elements=elements,
    detail_fields=("illegality_explanation", "csam_exemption", "additional_urls"),
    subject="Notice of illegal content under Article 16 of the Digital Services Act — {reference}",
    context=context,
    withhold=withhold,
)
