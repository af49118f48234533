import pytest
from django.core.files.storage import default_storage

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose
from casework.services import consent as consent_services
from casework.services.consent import ConsentError, consent_grant, consent_withdraw, reference_photo_add, subject_create
from detection import services as detection
from detection.models import FaceTemplate, Finding, MediaItem, ReferencePhoto
from tests.detection.test_scan import scan


def test_no_reference_photo_without_active_consent(org, images):
    subject = subject_create(organization=org, display_name="No consent yet")
    with pytest.raises(ConsentError) as error:
        reference_photo_add(subject=subject, data=images["reference.jpg"], filename="r.jpg")
    assert error.value.reason == consent_services.NO_ACTIVE_CONSENT.format(subject=subject)
    assert not FaceTemplate.objects.exists() and not ReferencePhoto.objects.exists()


def test_hash_only_consent_does_not_allow_reference_photos(enrol, images):
    subject = enrol([], purposes=[ConsentPurpose.HASH_MATCHING])
    with pytest.raises(ConsentError):
        reference_photo_add(subject=subject, data=images["reference.jpg"], filename="r.jpg")


def test_a_purpose_the_text_does_not_ask_for_is_refused(org, consent_text):
    subject = subject_create(organization=org, display_name="S")
    with pytest.raises(ConsentError) as error:
        consent_grant(subject=subject, text=consent_text, purposes=[ConsentPurpose.HASH_SHARING],
                      method=ConsentMethod.ONLINE_SIGNATURE, signature="S")
    assert "hash_sharing" in error.value.reason


def test_enrolment_is_all_or_nothing(enrol, images, org):
    with pytest.raises(detection.EnrolmentError) as error:
        enrol([("ok.jpg", images["reference.jpg"]), ("coffee.jpg", images["reported-coffee.jpg"])])
    assert error.value.reason == detection.NO_FACE_IN_REFERENCE
    assert not org.subjects.exists() and not FaceTemplate.objects.exists()


def test_a_reference_photo_with_several_faces_is_refused(enrol, testdata):
    with pytest.raises(detection.EnrolmentError) as error:
        enrol([("two.jpg", (testdata / "faces/face_recognition/examples/two_people.jpg").read_bytes())])
    assert "faces" in error.value.reason


def test_withdrawal_purges_photos_templates_files_and_pending_findings(
    astronaut_subject, images, caseworker, django_capture_on_commit_callbacks
):
    scan(images["reported-astronaut.jpg"])
    photo = astronaut_subject.reference_photos.get()
    assert default_storage.exists(photo.image.name)

    with django_capture_on_commit_callbacks(execute=True):
        summary = consent_withdraw(consent=astronaut_subject.consents.get(), by=caseworker, reason="asked by subject")

    assert summary.as_dict() == {"reference_photos": 1, "face_templates": 1, "known_hashes": 0, "pending_findings": 1,
                                 "known_videos": 0}
    assert not FaceTemplate.objects.exists() and not ReferencePhoto.objects.exists()
    assert not Finding.objects.exists()
    assert not default_storage.exists(photo.image.name)
    assert MediaItem.objects.count() == 1  # the reported media is evidence, not the subject's biometrics


def test_withdrawn_consent_stops_matching(astronaut_subject, images):
    consent_withdraw(consent=astronaut_subject.consents.get())
    item = scan(images["reported-astronaut.jpg"])
    assert len(item.faces) == 1 and not item.findings.exists()


def test_withdrawal_is_audited_without_biometric_data(astronaut_subject, caseworker):
    consent = astronaut_subject.consents.get()
    consent_withdraw(consent=consent, by=caseworker)
    event = AuditEvent.objects.get(action="consent.withdrawn")
    assert event.actor == caseworker and event.target_id == str(consent.pk)
    assert event.data["purged"]["face_templates"] == 1
    assert "embedding" not in str(event.data)


def test_consent_cannot_be_withdrawn_twice(astronaut_subject):
    consent = astronaut_subject.consents.get()
    consent_withdraw(consent=consent)
    with pytest.raises(ConsentError):
        consent_withdraw(consent=consent)


def test_another_active_consent_keeps_the_data_it_covers(astronaut_subject, consent_text):
    consent_grant(subject=astronaut_subject, text=consent_text, purposes=[ConsentPurpose.LIKENESS_MATCHING],
                  method=ConsentMethod.ONLINE_SIGNATURE, signature="Astronaut")
    first = astronaut_subject.consents.order_by("granted_at").first()
    summary = consent_withdraw(consent=first)
    assert summary.face_templates == 0 and FaceTemplate.objects.count() == 1
