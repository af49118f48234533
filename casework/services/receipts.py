"""The consent receipt: what the subject agreed to, in the exact words, and how to take it back.

The receipt is written in the language of the consent text the subject read (ConsentText.language), not in
the language of whoever downloads it: the words around the text must match the text, and the receipt says
which language that was.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from casework.models import Consent, ConsentPurpose
from casework.services.notices import render_pdf


def _page_counter_css() -> str:
    """"Page 1 of 3" as a CSS ``content`` value: one whole sentence translated, with the page counters
    where its numbers go (a sentence glued from "Page" and "of" would not translate)."""
    sentence = gettext("Page {page} of {pages}")
    quoted = '"' + sentence.replace("\\", "").replace('"', "") + '"'
    return quoted.replace("{page}", '" counter(page) "').replace("{pages}", '" counter(pages) "')


def _language_name(code: str) -> str:
    """The language's name in itself ("Deutsch"), or its code when Django does not know it."""
    try:
        return translation.get_language_info(code)["name_local"]
    except KeyError:
        return code


def consent_receipt_html(*, consent: Consent) -> str:
    """The receipt as HTML, in the consent text's language."""
    language = consent.text.language
    with translation.override(language):
        context = {
            "consent": consent,
            "subject": consent.subject,
            "organization": consent.subject.organization,
            "text": consent.text,
            "language": language,
            "language_name": _language_name(language),
            "purposes": [ConsentPurpose(p).label for p in consent.purposes],
            "issued_at": timezone.now(),
            "page_counter": _page_counter_css(),
        }
        return render_to_string("casework/consent_receipt.html", context)


def consent_receipt_pdf(*, consent: Consent) -> bytes:
    """A PDF for the subject. It holds the consent record only: no photos, templates or hashes."""
    return render_pdf(consent_receipt_html(consent=consent))
