"""DMCA notification of claimed infringement (17 U.S.C. § 512(c)(3)(A)(i)-(vi)).

Many intimate images are selfies: the person depicted took the picture and owns its copyright, so a
DMCA notice reaches hosts that answer no other request.
"""

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
    "I have a good faith belief that use of the material in the manner complained of is not authorized by "
    "the copyright owner, its agent, or the law."
)
ACCURACY = (
    "The information in this notification is accurate, and under penalty of perjury, I am the owner, or "
    "authorized to act on behalf of the owner, of an exclusive right that is allegedly infringed."
)
SIGNATURE = "(i) a physical or electronic signature of the copyright owner or a person authorised to act for them"
WORK = "(ii) identification of the copyrighted work claimed to have been infringed"
MATERIAL = "(iii) identification of the infringing material and information to locate it (its URL)"
CONTACT = "(iv) contact information: an e-mail address and a postal address or telephone number"
GOOD_FAITH_ELEMENT = (
    "(v) a statement of good faith belief that the use is not authorised by the owner, its agent or the law"
)
ACCURACY_ELEMENT = (
    "(vi) a statement that the notification is accurate and, under penalty of perjury, that the signer is "
    "authorised to act for the owner"
)


def elements(request, draft: NoticeDraft) -> list[Element]:
    return [
        signature_element(draft, SIGNATURE),
        Element(WORK, filled(draft.copyrighted_work)),
        Element(MATERIAL, filled(draft.infringing_material) and bool(request.target_url)),
        Element(CONTACT, filled(draft.contact_email, draft.contact_address)),
        Element(GOOD_FAITH_ELEMENT, filled(draft.statement)),
        # Without the perjury clause the statement is not the one § 512(c)(3)(A)(vi) requires.
        Element(ACCURACY_ELEMENT, "penalty of perjury" in draft.accuracy_statement.lower()),
        *authority_elements(request, draft),
    ]


class Form(NoticeForm):
    copyrighted_work = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("The copyrighted work"),
        help_text=_("e.g. a photograph the person depicted took of themselves in 2023."),
    )
    infringing_material = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("The infringing material"),
        help_text=_("What is published without permission, e.g. a copy of that photograph in a post."),
    )
    contact_address = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Postal address or telephone number"),
    )
    statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, initial=GOOD_FAITH, label=_("Good-faith statement"),
    )
    accuracy_statement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, initial=ACCURACY,
        label=_("Accuracy statement and authority, under penalty of perjury"),
    )


NOTICE = RegimeNotice(
    regime=Regime.DMCA,
    template="notices/dmca.html",
    form=Form,
    elements=elements,
    detail_fields=("copyrighted_work", "infringing_material", "contact_address", "accuracy_statement",
                   "additional_urls"),
    subject="DMCA notification of claimed infringement — {reference}",
)
