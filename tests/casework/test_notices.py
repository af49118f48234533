"""Golden tests of the notices: for every regime the PDF (text extracted with pypdf) and the copy-ready
text carry each required element, and a notice missing any one element is refused, naming it."""

import base64
import datetime as dt
import hashlib
import io
import shutil
import subprocess

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils.html import escape
from PIL import Image
from pypdf import PdfReader

from casework.models import AuditEvent, ConsentMethod, Notice, Regime, TakedownRequest
from casework.notices import REGIMES, base, delisting, dmca, dsa, gdpr, take_it_down
from casework.services import minors
from casework.services.cases import case_open, finding_confirm, takedown_request_create
from casework.services.consent import consent_grant, subject_create
from casework.services.notices import NoticeDraft, NoticeIncomplete, notice_generate
from casework.services.takedowns import PREPARE_NEEDS_NOTICE, TransitionRefused, takedown_transition
from tests.casework.conftest import TARGET_URL
from tests.casework.test_thin_path import NOTICE
from tests.detection.test_scan import scan

S = TakedownRequest.State
SIGNER = {
    "signer_name": "Jordan Advocate",
    "signer_capacity": "The person depicted",
    "signature_consent": True,
    "contact_email": "legal@support.example.org",
}

# A complete draft for each regime: the form's fields as a person fills them in.
COMPLETE = {
    Regime.TAKE_IT_DOWN: NOTICE,
    Regime.DMCA: {
        **SIGNER,
        "copyrighted_work": "A self-portrait photograph taken by the person depicted in 2023.",
        "infringing_material": "A copy of that photograph posted without permission.",
        "contact_address": "1 Example Street, Springfield",
        "statement": dmca.GOOD_FAITH,
        "accuracy_statement": dmca.ACCURACY,
    },
    Regime.DSA: {
        **SIGNER,
        "illegality_explanation": "Non-consensual sharing of intimate images: an offence under Directive (EU) "
                                  "2024/1385, Art. 5.",
        "statement": dsa.GOOD_FAITH,
    },
    Regime.GDPR: {
        **SIGNER,
        "data_subject_name": "Alex Example",
        "data_concerned": "Intimate images of the data subject.",
        "gdpr_grounds": ["b", "d"],
        "inform_other_controllers": True,
    },
    Regime.DELISTING: {
        **SIGNER,
        "delisting_reason": "The pages show intimate images published without consent.",
        "relation_to_content": delisting.RELATIONS,
    },
}

# The golden text: what each regime's PDF must say, element by element.
GOLDEN = {
    Regime.TAKE_IT_DOWN: [
        "/Jordan Advocate/", "Signing as: Authorised representative", TARGET_URL,
        "good faith belief that the intimate visual depiction identified in this request is not consensual",
        "a former partner posted it", "legal@support.example.org", "TAKE IT DOWN Act", "48 hours",
    ],
    Regime.DMCA: [
        "/Jordan Advocate/", "A self-portrait photograph taken by the person depicted",
        "A copy of that photograph posted without permission", TARGET_URL, "1 Example Street, Springfield",
        "legal@support.example.org",
        "not authorized by the copyright owner, its agent, or the law",
        "accurate, and under penalty of perjury, I am the owner, or authorized to act on behalf of the owner",
        "17 U.S.C. § 512(c)(3)",
    ],
    Regime.DSA: [
        "Why the content is illegal", "Directive (EU) 2024/1385", "Exact location of the content", TARGET_URL,
        "Jordan Advocate", "legal@support.example.org", "accurate and complete",
        "Article 16 of the Digital Services Act",
    ],
    Regime.GDPR: [
        "The data subject Alex Example", "Intimate images of the data subject.", TARGET_URL,
        "Art. 17(1)(b): the data subject withdraws the consent", "Art. 17(1)(d): the personal data have been "
        "unlawfully processed", "As Article 17(2) requires", "inform the controllers", "legal@support.example.org",
        "/Jordan Advocate/",
    ],
    Regime.DELISTING: [
        TARGET_URL, "published without consent", "I am the person depicted in this content.",
        "legal@support.example.org", "/Jordan Advocate/", "remove these URLs from your search results",
    ],
}

# (regime, field left empty, the element the refusal names). "target_url" is the request's URL.
MISSING = [
    (Regime.TAKE_IT_DOWN, "signer_name", base.SIGNATURE),
    (Regime.TAKE_IT_DOWN, "signer_capacity", base.SIGNATURE),
    (Regime.TAKE_IT_DOWN, "signature_consent", base.SIGNATURE),
    (Regime.TAKE_IT_DOWN, "target_url", take_it_down.LOCATION),
    (Regime.TAKE_IT_DOWN, "statement", take_it_down.STATEMENT),
    (Regime.TAKE_IT_DOWN, "supporting_information", take_it_down.STATEMENT),
    (Regime.TAKE_IT_DOWN, "contact_email", take_it_down.CONTACT),
    (Regime.DMCA, "signature_consent", dmca.SIGNATURE),
    (Regime.DMCA, "copyrighted_work", dmca.WORK),
    (Regime.DMCA, "infringing_material", dmca.MATERIAL),
    (Regime.DMCA, "target_url", dmca.MATERIAL),
    (Regime.DMCA, "contact_email", dmca.CONTACT),
    (Regime.DMCA, "contact_address", dmca.CONTACT),
    (Regime.DMCA, "statement", dmca.GOOD_FAITH_ELEMENT),
    (Regime.DMCA, "accuracy_statement", dmca.ACCURACY_ELEMENT),
    (Regime.DSA, "illegality_explanation", dsa.EXPLANATION),
    (Regime.DSA, "target_url", dsa.LOCATION),
    (Regime.DSA, "signer_name", dsa.IDENTITY),
    (Regime.DSA, "contact_email", dsa.IDENTITY),
    (Regime.DSA, "statement", dsa.GOOD_FAITH_ELEMENT),
    (Regime.GDPR, "data_subject_name", gdpr.IDENTITY),
    (Regime.GDPR, "data_concerned", gdpr.DATA),
    (Regime.GDPR, "target_url", gdpr.DATA),
    (Regime.GDPR, "gdpr_grounds", gdpr.GROUND),
    (Regime.GDPR, "inform_other_controllers", gdpr.INFORM),
    (Regime.GDPR, "contact_email", gdpr.CONTACT),
    (Regime.GDPR, "signature_consent", gdpr.SIGNATURE),
    (Regime.DELISTING, "target_url", delisting.URLS),
    (Regime.DELISTING, "delisting_reason", delisting.REASON),
    (Regime.DELISTING, "relation_to_content", delisting.RELATION),
    (Regime.DELISTING, "contact_email", delisting.CONTACT),
    (Regime.DELISTING, "signer_name", base.SIGNATURE),
]


def draft(regime: str, **changes) -> NoticeDraft:
    return NoticeDraft.from_fields({**COMPLETE[regime], **changes})


def pdf_text(notice: Notice) -> str:
    with notice.pdf.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def flat(text: str) -> str:
    return " ".join(text.split())


def squashed(text: str) -> str:
    """Without spaces: a long URL or hash wraps in the PDF, and the extracted text breaks it there."""
    return "".join(text.split())


@pytest.fixture
def make_request(org, caseworker):
    def make(regime: str, target_url: str = TARGET_URL, subject=None) -> TakedownRequest:
        subject = subject or subject_create(organization=org, display_name="Subject")
        case = case_open(subject=subject, by=caseworker)
        return takedown_request_create(case=case, platform="ExampleTube", target_url=target_url, regime=regime,
                                       recipient_email="abuse@exampletube.example", by=caseworker)

    return make


def test_every_regime_has_a_notice():
    assert set(REGIMES) == set(Regime.values) == set(COMPLETE) == set(GOLDEN)
    assert {regime for regime, _, _ in MISSING} == set(Regime.values)


@pytest.mark.parametrize("regime", Regime.values)
def test_a_complete_notice_says_every_element_in_its_pdf_and_text(regime, make_request, legal):
    request = make_request(regime)
    assert all(e.present for e in REGIMES[regime].elements(request, draft(regime)))
    notice = notice_generate(request=request, draft=draft(regime), by=legal)
    text, copy_ready = pdf_text(notice), flat(notice.text)
    for element in GOLDEN[regime]:
        assert element in text, (regime, element)
        assert element in copy_ready, (regime, element)
    assert notice.pdf_sha256 == hashlib.sha256(notice.pdf.open("rb").read()).hexdigest()
    request.refresh_from_db()
    assert request.state == S.READY


@pytest.mark.parametrize("regime, field, element", MISSING)
def test_a_missing_element_blocks_the_notice_and_says_which(regime, field, element, make_request, legal):
    if field == "target_url":
        request, changes = make_request(regime, target_url=""), {}
    else:
        request = make_request(regime)
        changes = {field: type(COMPLETE[regime][field])()}  # "", False or []
    with pytest.raises(NoticeIncomplete) as refused:
        notice_generate(request=request, draft=draft(regime, **changes), by=legal)
    assert refused.value.missing == [element]
    assert element in refused.value.reason
    assert not Notice.objects.exists()
    # Nor can the request be marked ready without it.
    with pytest.raises(TransitionRefused) as not_ready:
        takedown_transition(request=request, action="prepare", by=legal)
    assert not_ready.value.reason == PREPARE_NEEDS_NOTICE.format(regime=request.get_regime_display())
    request.refresh_from_db()
    assert request.state == S.DRAFT


def test_a_dmca_accuracy_statement_without_the_perjury_clause_is_not_enough(make_request, legal):
    request = make_request(Regime.DMCA)
    with pytest.raises(NoticeIncomplete) as refused:
        notice_generate(request=request, draft=draft(Regime.DMCA, accuracy_statement="It is all accurate."), by=legal)
    assert refused.value.missing == [dmca.ACCURACY_ELEMENT]


@pytest.mark.parametrize("regime", Regime.values)
def test_the_page_shows_the_regimes_own_form_and_marks_what_is_missing(regime, client, make_request, legal):
    request = make_request(regime)
    client.force_login(legal)
    page = client.get(reverse("casework:takedown_detail", args=[request.pk])).content.decode()
    for name in REGIMES[regime].form.base_fields:
        assert f'name="{name}"' in page, name
    others = {n for r, d in REGIMES.items() if r != regime for n in d.form.base_fields} - set(
        REGIMES[regime].form.base_fields)
    for name in others:
        assert f'name="{name}"' not in page, name
    assert 'class="missing"' in page  # an empty form: the signature at least is missing
    assert "data-signature-pad" in page and "casework/signature.js" in page  # the optional drawn signature

    incomplete = {k: v for k, v in COMPLETE[regime].items() if k != "contact_email"}
    response = client.post(reverse("casework:notice_create", args=[request.pk]), incomplete)
    assert response.status_code == 400
    missing = [e.label for e in REGIMES[regime].elements(request, draft(regime, contact_email="")) if not e.present]
    assert missing and all(escape(label) in response.content.decode() for label in missing)
    assert not Notice.objects.exists()

    response = client.post(reverse("casework:notice_create", args=[request.pk]), COMPLETE[regime])
    notice = Notice.objects.get()
    assert response.status_code == 302 and response.url == reverse("casework:notice_detail", args=[notice.pk])
    blank = NoticeDraft()
    assert notice.details == {n: COMPLETE[regime].get(n, getattr(blank, n)) for n in REGIMES[regime].detail_fields}


# --- DSA: the CSAM exemption from naming the submitter -------------------------------------------------


def test_the_dsa_exemption_is_refused_for_a_case_that_does_not_record_a_minor(make_request, legal):
    request = make_request(Regime.DSA)
    with pytest.raises(NoticeIncomplete) as refused:
        notice_generate(request=request, draft=draft(Regime.DSA, csam_exemption=True), by=legal)
    assert refused.value.missing == [dsa.IDENTITY]


def test_the_dsa_exemption_withholds_name_and_email_for_a_minor(make_request, legal):
    request = make_request(Regime.DSA)
    minors.case_minor_record(case=request.case, by=legal)
    notice = notice_generate(request=request, draft=draft(Regime.DSA, csam_exemption=True), by=legal)
    text = pdf_text(notice)
    assert "withheld, as Article 16(2)(c) allows" in text and "Directive 2011/93/EU" in text
    for identifying in ("Jordan", "legal@support.example.org"):
        assert identifying not in text and identifying not in notice.text
    assert (notice.signer_name, notice.contact_email, notice.signed_at) == ("", "", None)
    assert notice.details["csam_exemption"] is True


# --- Signature and authority -------------------------------------------------------------------------


def test_the_typed_signature_is_stored_with_who_and_when(make_request, legal):
    notice = notice_generate(request=make_request(Regime.DMCA), draft=draft(Regime.DMCA), by=legal)
    assert notice.signer_name == "Jordan Advocate" and notice.created_by == legal
    assert notice.signed_at is not None and abs(notice.signed_at - notice.created_at) < dt.timedelta(seconds=5)
    event = AuditEvent.objects.get(action="notice.generated")
    assert event.actor == legal and event.data["signed_at"] == notice.signed_at.isoformat()


def _png_data_url() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 12), "white").save(buffer, "PNG")
    return base.SIGNATURE_IMAGE_PREFIX + base64.b64encode(buffer.getvalue()).decode()


def test_a_drawn_signature_is_drawn_into_the_pdf(make_request, legal):
    image = _png_data_url()
    form = REGIMES[Regime.DMCA].form({**COMPLETE[Regime.DMCA], "signature_image": image})
    assert form.is_valid(), form.errors
    drawn = notice_generate(request=make_request(Regime.DMCA), draft=NoticeDraft.from_fields(form.cleaned_data),
                            by=legal)
    typed = notice_generate(request=make_request(Regime.DMCA), draft=draft(Regime.DMCA), by=legal)
    assert drawn.signature_image == image and typed.signature_image == ""

    def images(notice):
        with notice.pdf.open("rb") as handle:
            return sum(len(page.images) for page in PdfReader(io.BytesIO(handle.read())).pages)

    assert images(typed) == 0 and images(drawn) > 0


@pytest.mark.parametrize("value", [
    "data:image/png;base64,not base64!", "data:image/jpeg;base64,/9j/4AAQ",
    base.SIGNATURE_IMAGE_PREFIX + base64.b64encode(b"GIF89a not a png").decode(),
])
def test_a_drawn_signature_that_is_not_a_png_is_refused(value):
    form = REGIMES[Regime.DMCA].form({**COMPLETE[Regime.DMCA], "signature_image": value})
    assert not form.is_valid()
    assert form.errors["signature_image"] == [base.SIGNATURE_IMAGE_INVALID]


def test_a_representative_needs_the_authority_document(make_request, legal):
    as_representative = draft(Regime.TAKE_IT_DOWN, signer_is_representative=True)
    with pytest.raises(NoticeIncomplete) as refused:
        notice_generate(request=make_request(Regime.TAKE_IT_DOWN), draft=as_representative, by=legal)
    assert refused.value.missing == [base.AUTHORITY]


def test_a_representatives_notice_cites_their_authority_document(make_request, legal, org, consent_text):
    subject = subject_create(organization=org, display_name="Represented subject")
    document = b"%PDF-1.4 power of attorney"
    consent = consent_grant(
        subject=subject, text=consent_text, purposes=list(consent_text.purposes), method=ConsentMethod.REPRESENTATIVE,
        signature="Jordan Advocate", authority_document=ContentFile(document, name="poa.pdf"), by=legal,
    )
    request = make_request(Regime.TAKE_IT_DOWN, subject=subject)
    notice = notice_generate(request=request, draft=draft(Regime.TAKE_IT_DOWN, signer_is_representative=True),
                             by=legal)
    digest = hashlib.sha256(document).hexdigest()
    assert notice.authority_consent == consent and notice.authority_document_sha256 == digest
    text = pdf_text(notice)
    assert "Authority of the representative" in text and digest in squashed(text)


# --- Known copies --------------------------------------------------------------------------------------


def test_known_copies_found_by_the_matcher_are_attached(astronaut_subject, images, caseworker, legal):
    first = scan(images["reported-astronaut.jpg"], url=TARGET_URL).findings.get()
    mirror_url = "https://mirror.example.net/copy/1"
    mirror = scan(images["reported-astronaut.jpg"], url=mirror_url).findings.get()
    _, request = finding_confirm(finding=first, by=caseworker, platform="ExampleTube", target_url=TARGET_URL)
    finding_confirm(finding=mirror, by=caseworker, platform="Mirror", target_url=mirror_url)
    notice = notice_generate(request=request, draft=draft(Regime.TAKE_IT_DOWN), by=legal)
    sha256 = mirror.media_item.sha256
    assert notice.known_copies == [{"url": mirror_url, "sha256": sha256, "media_item": mirror.media_item.pk}]
    text = pdf_text(notice)
    assert "Annex: known copies" in text and mirror_url in squashed(text) and sha256 in squashed(text)
    assert mirror_url in notice.text and sha256 in notice.text


# --- What the PDF looks like ----------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_page_one_renders_to_an_image_with_text_on_it(make_request, legal, tmp_path):
    notice = notice_generate(request=make_request(Regime.GDPR), draft=draft(Regime.GDPR), by=legal)
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(notice.pdf.open("rb").read())
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(tmp_path / "page")], check=True, timeout=60)
    page = Image.open(tmp_path / "page.png").convert("L")
    assert page.width < page.height  # A4, portrait
    dark = sum(page.histogram()[:128])  # pixels darker than mid-grey
    assert 0.005 < dark / (page.width * page.height) < 0.3  # text on it, not a blank or black page


def test_the_copy_ready_text_keeps_headings_lists_and_tables_and_drops_styles():
    from casework.notices.text import html_to_text

    html = ("<html><head><title>T</title><style>p {}</style></head><body><h1>Notice</h1><p>a <b>b</b></p>"
            "<ul><li>one</li><li>two</li></ul><table><tr><th>URL</th><th>SHA-256</th></tr>"
            "<tr><td>u</td><td>s</td></tr></table><p>x &amp; y<br>z</p></body></html>")
    assert html_to_text(html) == "Notice\n\na b\n\n- one\n- two\n\nURL SHA-256\nu s\n\nx & y\nz\n"
