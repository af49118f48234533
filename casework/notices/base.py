"""What every regime's notice shares: the draft, the checklist's elements, the signature, contact and
URL fields of the form, and the shape of a regime definition (one module per regime beside this one)."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django import forms
from django.core.validators import URLValidator
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from casework.models import Consent, TakedownRequest

# The drawn signature is a small PNG from the page's canvas; anything larger is not a signature.
SIGNATURE_IMAGE_PREFIX = "data:image/png;base64,"
SIGNATURE_IMAGE_MAX_BYTES = 200_000
SIGNATURE_IMAGE_INVALID = _("The drawn signature could not be read; clear it and draw it again, or leave it empty.")

URL_INVALID = _("“{url}” is not a web address (http:// or https://); put one URL on each line.")

SIGNATURE = "a physical or electronic signature of the person depicted or their authorised representative"
AUTHORITY = (
    "the representative's authority to act: an authority document recorded with the subject's consent "
    "(a representative signs here)"
)


@dataclass(frozen=True)
class NoticeDraft:
    """Everything a person types into a notice form. Each regime reads the fields it needs; the ones
    beyond the common columns of Notice are kept in Notice.details (the regime's DETAIL_FIELDS)."""

    signer_name: str = ""
    signer_capacity: str = ""
    contact_email: str = ""
    statement: str = ""
    signature_consent: bool = False
    signer_is_representative: bool = False
    signature_image: str = ""
    additional_urls: str = ""
    # TAKE IT DOWN Act
    supporting_information: str = ""
    # DMCA
    copyrighted_work: str = ""
    infringing_material: str = ""
    contact_address: str = ""
    accuracy_statement: str = ""
    # DSA
    illegality_explanation: str = ""
    csam_exemption: bool = False
    # GDPR
    data_subject_name: str = ""
    data_concerned: str = ""
    gdpr_grounds: tuple[str, ...] = ()
    inform_other_controllers: bool = False
    # Search-engine delisting
    delisting_reason: str = ""
    relation_to_content: str = ""

    @classmethod
    def from_fields(cls, values: Mapping) -> NoticeDraft:
        """A draft from a form's cleaned data (or any mapping); names that are not draft fields are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        picked = {k: v for k, v in values.items() if k in names and v is not None}
        if "gdpr_grounds" in picked:
            picked["gdpr_grounds"] = tuple(picked["gdpr_grounds"])
        return cls(**picked)

    def urls(self, request: TakedownRequest) -> list[str]:
        """The request's URL first, then the other URLs typed one per line."""
        extra = [line.strip() for line in self.additional_urls.splitlines() if line.strip()]
        return [url for url in [request.target_url, *extra] if url]


@dataclass(frozen=True)
class Element:
    label: str
    present: bool


@dataclass(frozen=True)
class RegimeNotice:
    """One regime's notice: its checklist, its template, its form and the fields it keeps."""

    regime: str
    template: str
    form: type[forms.Form]
    elements: Callable[[TakedownRequest, NoticeDraft], list[Element]]
    detail_fields: tuple[str, ...]
    subject: str  # the e-mail's subject; {reference} is filled in
    statement_field: bool = True  # whether Notice.statement holds a declaration in this regime
    context: Callable[[TakedownRequest, NoticeDraft], dict] | None = None  # extra template variables
    # What of a complete draft the notice leaves out (DSA: a submitter the law lets stay unnamed).
    withhold: Callable[[TakedownRequest, NoticeDraft], NoticeDraft] | None = None


def filled(*values) -> bool:
    return all(str(v).strip() for v in values)


def signature_element(draft: NoticeDraft, label: str = SIGNATURE) -> Element:
    # An electronic signature counts only with the signer's agreement to sign this way (E-SIGN Act,
    # 15 U.S.C. § 7001; eIDAS Art. 25): the typed name, the capacity, and the ticked consent.
    return Element(label, filled(draft.signer_name, draft.signer_capacity) and draft.signature_consent)


def authority_consent_for(request: TakedownRequest) -> Consent | None:
    """The newest consent of the case's subject that carries an authority document, if any."""
    subject = request.case.subject
    if subject is None:
        return None
    # A consent still in force first: its document is the one the subject last stood by.
    consents = subject.consents.exclude(authority_document="")
    return consents.order_by(F("withdrawn_at").asc(nulls_first=True), "-granted_at").first()


def authority_elements(request: TakedownRequest, draft: NoticeDraft) -> list[Element]:
    if not draft.signer_is_representative:
        return []
    return [Element(AUTHORITY, authority_consent_for(request) is not None)]


def signature_image_check(value: str) -> str:
    if not value:
        return ""
    if not value.startswith(SIGNATURE_IMAGE_PREFIX) or len(value) > SIGNATURE_IMAGE_MAX_BYTES * 4 // 3 + 64:
        raise forms.ValidationError(SIGNATURE_IMAGE_INVALID)
    try:
        data = base64.b64decode(value[len(SIGNATURE_IMAGE_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise forms.ValidationError(SIGNATURE_IMAGE_INVALID) from None
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise forms.ValidationError(SIGNATURE_IMAGE_INVALID)
    return value


class NoticeForm(forms.Form):
    """The fields every regime's form has. Nothing is required here: the regime's checklist says
    what is missing, in the law's words, and blocks the notice until it is there."""

    signer_name = forms.CharField(max_length=200, required=False, label=_("Signature (typed full name)"))
    signer_capacity = forms.CharField(
        max_length=200, required=False, label=_("Signing as"),
        help_text=_("The person depicted, or their authorised representative (say whose)."),
    )
    signer_is_representative = forms.BooleanField(
        required=False, label=_("The signer is a representative, not the person depicted"),
        help_text=_("The notice then cites the authority document recorded with the subject's consent."),
    )
    signature_consent = forms.BooleanField(
        required=False, label=_("The signer agrees that this typed name is their electronic signature"),
    )
    signature_image = forms.CharField(required=False, widget=forms.HiddenInput)
    contact_email = forms.EmailField(required=False, label=_("Contact e-mail for the platform's reply"))
    additional_urls = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Other URLs of the same content"),
        help_text=_("One per line. Copies the matcher found are listed in the notice without typing them."),
    )

    def clean_signature_image(self) -> str:
        return signature_image_check(self.cleaned_data.get("signature_image", ""))

    def clean_additional_urls(self) -> str:
        lines = [line.strip() for line in self.cleaned_data.get("additional_urls", "").splitlines() if line.strip()]
        validate = URLValidator(schemes=["http", "https"])
        for line in lines:
            try:
                validate(line)
            except forms.ValidationError:
                raise forms.ValidationError(URL_INVALID.format(url=line)) from None
        return "\n".join(lines)
