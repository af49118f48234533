"""The consent ledger's receipt and the representative's authority document."""

import hashlib
import io

import pytest
from cryptography.fernet import Fernet
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose
from casework.services.consent import AUTHORITY_DOCUMENT_REQUIRED, ConsentError, consent_grant, subject_create
from casework.services.receipts import consent_receipt_pdf
from detection.encryption import is_token, stored_file_read


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_receipt_states_the_exact_text_purposes_method_and_how_to_withdraw(astronaut_subject, consent_text):
    consent = astronaut_subject.consents.get()
    data = consent_receipt_pdf(consent=consent)
    text = pdf_text(data)
    for expected in (
        f"version {consent_text.version}",
        consent_text.title,
        consent_text.body,
        str(ConsentPurpose.LIKENESS_MATCHING.label),
        str(ConsentMethod.PAPER_WITNESSED.label),
        "Signed by Astronaut",
        consent.granted_at.strftime("%-d %B %Y"),
        "How to withdraw your consent",
        astronaut_subject.organization.name,
    ):
        assert expected in text, expected
    assert str(ConsentPurpose.HASH_MATCHING.label) not in text  # offered by the text, not agreed to


def test_the_receipt_holds_no_biometric_data(astronaut_subject):
    photo = astronaut_subject.reference_photos.get()
    data = consent_receipt_pdf(consent=astronaut_subject.consents.get())
    reader = PdfReader(io.BytesIO(data))
    assert all(not page.images for page in reader.pages)
    assert photo.sha256 not in pdf_text(data)


def test_a_representative_needs_an_authority_document(org, consent_text, caseworker):
    subject = subject_create(organization=org, display_name="Represented")
    grant = dict(subject=subject, text=consent_text, purposes=[ConsentPurpose.LIKENESS_MATCHING],
                 method=ConsentMethod.REPRESENTATIVE, signature="Jordan Advocate for R.", by=caseworker)
    for missing in (None, ContentFile(b"", name="empty.pdf")):
        with pytest.raises(ConsentError) as error:
            consent_grant(**grant, authority_document=missing)
        assert error.value.reason == AUTHORITY_DOCUMENT_REQUIRED
    assert not subject.consents.exists()

    document = b"%PDF-1.4 power of attorney"
    consent = consent_grant(**grant, authority_document=ContentFile(document, name="Power of Attorney.PDF"))

    assert consent.authority_document.name.startswith("consent_authority/")
    assert consent.authority_document.name.endswith(".pdf") and "Attorney" not in consent.authority_document.name
    # Stored encrypted (it may be identity papers), and read back whole.
    on_disk = default_storage.open(consent.authority_document.name).read()
    assert is_token(on_disk) and document not in on_disk and stored_file_read(consent.authority_document) == document
    event = AuditEvent.objects.get(action="consent.granted", target_id=str(consent.pk))
    assert event.data["authority_document_sha256"] == hashlib.sha256(document).hexdigest()
    assert "authority document is on file" in pdf_text(consent_receipt_pdf(consent=consent))


def test_staff_download_the_receipt(client, caseworker, astronaut_subject):
    consent = astronaut_subject.consents.get()
    client.force_login(caseworker)
    response = client.get(reverse("casework:consent_receipt", args=[consent.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="consent-receipt-{consent.pk}.pdf"'
    assert response["Cache-Control"] == "private, no-store"
    assert "How to withdraw" in pdf_text(response.content)


def test_the_case_page_links_the_receipts(client, caseworker, astronaut_subject):
    from casework.services.cases import case_open

    case = case_open(subject=astronaut_subject, by=caseworker)
    client.force_login(caseworker)
    page = client.get(reverse("casework:case_detail", args=[case.pk])).content.decode()
    assert reverse("casework:consent_receipt", args=[astronaut_subject.consents.get().pk]) in page


def test_the_enroll_command_takes_the_authority_document(org, consent_text, images, tmp_path):
    from django.core.management import CommandError, call_command

    photo = tmp_path / "reference.jpg"
    photo.write_bytes(images["reference.jpg"])
    args = [str(photo), "--organization", org.slug, "--name", "R", "--consent-version", consent_text.version,
            "--signature", "Jordan Advocate", "--method", ConsentMethod.REPRESENTATIVE]
    with pytest.raises(CommandError, match="authority"):
        call_command("enroll", *args)
    document = tmp_path / "attorney.pdf"
    document.write_bytes(b"%PDF-1.4 power of attorney")
    call_command("enroll", *args, "--authority-document", str(document))
    assert org.subjects.get().consents.get().authority_document


def test_the_admin_enrolment_form_takes_the_authority_document(client, org, consent_text, images):
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils.html import escape

    client.force_login(get_user_model().objects.create_superuser("operator", "op@example.org", "x" * 20))
    url = reverse("admin:casework_subject_enrol")

    def post(**extra):
        data = {"organization": org.pk, "display_name": "R", "consent_text": consent_text.pk,
                "purposes": [ConsentPurpose.LIKENESS_MATCHING], "method": ConsentMethod.REPRESENTATIVE,
                "signature": "Jordan Advocate",
                "photo": SimpleUploadedFile("r.jpg", images["reference.jpg"], content_type="image/jpeg"), **extra}
        return client.post(url, data)

    assert escape(str(AUTHORITY_DOCUMENT_REQUIRED)) in post().content.decode()
    response = post(authority_document=SimpleUploadedFile("attorney.pdf", b"%PDF-1.4 attorney"))
    assert response.status_code == 302
    assert org.subjects.get().consents.get().authority_document


@pytest.mark.usefixtures("own_media_root")
def test_rotation_reencrypts_authority_documents_and_encrypts_those_stored_before(settings, org, consent_text,
                                                                                   caseworker):
    grant = {"text": consent_text, "purposes": [ConsentPurpose.LIKENESS_MATCHING],
             "method": ConsentMethod.REPRESENTATIVE, "signature": "Jordan Advocate", "by": caseworker}
    encrypted = consent_grant(subject=subject_create(organization=org, display_name="A"), **grant,
                              authority_document=ContentFile(b"%PDF-1.4 attorney A", name="a.pdf"))
    legacy = consent_grant(subject=subject_create(organization=org, display_name="B"), **grant,
                           authority_document=ContentFile(b"%PDF-1.4 attorney B", name="b.pdf"))
    name = legacy.authority_document.name
    default_storage.delete(name)  # as stored before authority documents were encrypted
    assert default_storage.save(name, ContentFile(b"%PDF-1.4 attorney B")) == name

    new, old = Fernet.generate_key().decode(), settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert "2 consent authority documents" in out.getvalue()
    assert stored_file_read(encrypted.authority_document) == b"%PDF-1.4 attorney A"
    assert is_token(default_storage.open(name).read())
    assert stored_file_read(legacy.authority_document) == b"%PDF-1.4 attorney B"
