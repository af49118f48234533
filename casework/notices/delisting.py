"""Request to a search engine to delist results (its own removal policy for non-consensual intimate
imagery, and in the EU the right to erasure as applied to search engines, CJEU C-131/12)."""

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

URLS = "the URLs of the results to delist"
REASON = "why they should be delisted"
RELATION = "the relation of the person to the content (e.g. the person depicted in it)"
CONTACT = "contact information for the search engine's reply"
RELATIONS = "I am the person depicted in this content."


def elements(request, draft: NoticeDraft) -> list[Element]:
    return [
        Element(URLS, bool(draft.urls(request))),
        Element(REASON, filled(draft.delisting_reason)),
        Element(RELATION, filled(draft.relation_to_content)),
        Element(CONTACT, filled(draft.contact_email)),
        signature_element(draft),
        *authority_elements(request, draft),
    ]


class Form(NoticeForm):
    delisting_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Why delist these results"),
        help_text=_("e.g. the pages show intimate images of the person published without their consent."),
    )
    relation_to_content = forms.CharField(
        max_length=500, required=False, initial=RELATIONS, label=_("The person's relation to the content"),
    )


NOTICE = RegimeNotice(
    regime=Regime.DELISTING,
    template="notices/delisting.html",
    form=Form,
    elements=elements,
    detail_fields=("delisting_reason", "relation_to_content", "additional_urls"),
    subject="Request to delist search results — {reference}",
    statement_field=False,
)
