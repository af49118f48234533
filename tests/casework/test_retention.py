"""Biometric data no longer used is deleted on schedule, and a subject we can write to is told first."""

import datetime as dt
import time

import pytest
from django.core import mail
from django.core.files.storage import default_storage

from casework.models import AuditEvent, ConsentMethod, ConsentPurpose
from casework.services.cases import case_open
from casework.services.consent import consent_grant, subject_create
from casework.services.retention import biometrics_retention_purge
from detection import services as detection
from detection.models import FaceTemplate, KnownImageHash, ReferencePhoto
from tests.casework.test_deadlines import at
from tests.casework.test_takedowns import clock

T0 = at("2025-01-10 09:00")
YEAR_LATER = T0 + dt.timedelta(days=366)


@pytest.fixture
def hash_subject(org, consent_text, caseworker):
    """A subject with known-image hashes only (no photos): created at T0."""

    def make(name: str, contact_email: str = "", when: dt.datetime = T0):
        with clock(when):
            subject = subject_create(organization=org, display_name=name, contact_email=contact_email, by=caseworker)
            consent_grant(subject=subject, text=consent_text, purposes=[ConsentPurpose.HASH_MATCHING],
                          method=ConsentMethod.ONLINE_SIGNATURE, signature=name, by=caseworker)
            detection.known_hash_add(subject_id=subject.pk, algorithm="pdq", value=f"{subject.pk:064x}", quality=90)
        return subject

    return make


def test_only_inactive_subjects_without_an_open_case_lose_their_biometric_data(
    hash_subject, org, consent_text, caseworker
):
    stale = hash_subject("Stale")
    with_open_case = hash_subject("Open case")
    with clock(T0):
        case_open(subject=with_open_case, by=caseworker)
    recently_active = hash_subject("Recently active")
    with clock(T0 + dt.timedelta(days=200)):  # consented again: activity
        consent_grant(subject=recently_active, text=consent_text, purposes=[ConsentPurpose.HASH_MATCHING],
                      method=ConsentMethod.ONLINE_SIGNATURE, signature="R")
    with clock(T0):
        no_biometrics = subject_create(organization=org, display_name="Nothing held")

    summary = biometrics_retention_purge(now=YEAR_LATER)

    assert (summary.noticed, summary.purged) == ([], [stale.pk])
    assert set(KnownImageHash.objects.values_list("subject_id", flat=True)) == {with_open_case.pk, recently_active.pk}
    purged = AuditEvent.objects.filter(action="subject.biometrics_purged")
    assert [e.target_id for e in purged] == [str(stale.pk)]
    assert not AuditEvent.objects.filter(target_id=str(no_biometrics.pk), action__startswith="subject.biometrics")


def test_nothing_is_purged_before_the_retention_period(hash_subject, settings):
    hash_subject("Stale")
    settings.BIOMETRIC_RETENTION_DAYS = 400
    assert biometrics_retention_purge(now=YEAR_LATER).purged == []
    assert KnownImageHash.objects.count() == 1


def test_face_data_and_its_files_are_purged_and_the_purge_is_audited_without_it(
    astronaut_subject, django_capture_on_commit_callbacks
):
    photo = ReferencePhoto.objects.get(subject=astronaut_subject)
    assert default_storage.exists(photo.image.name)

    with django_capture_on_commit_callbacks(execute=True):
        summary = biometrics_retention_purge(now=photo.created_at + dt.timedelta(days=366))

    assert summary.purged == [astronaut_subject.pk]
    assert not FaceTemplate.objects.exists() and not ReferencePhoto.objects.exists()
    assert not default_storage.exists(photo.image.name)
    event = AuditEvent.objects.get(action="subject.biometrics_purged")
    assert event.data["purged"] == {"reference_photos": 1, "face_templates": 1, "known_hashes": 0,
                                    "pending_findings": 0, "known_videos": 0}
    assert event.data["reason"] == "retention" and event.data["retention_days"] == 365
    assert "embedding" not in str(event.data) and photo.sha256 not in str(event.data)


def test_a_subject_with_an_address_is_told_first_and_purged_after_the_notice_period(hash_subject):
    subject = hash_subject("Told", contact_email="told@example.org")

    first = biometrics_retention_purge(now=YEAR_LATER)
    assert (first.noticed, first.purged) == ([subject.pk], [])
    assert KnownImageHash.objects.filter(subject=subject).exists()
    [notice] = mail.outbox
    assert notice.to == ["told@example.org"]
    assert "25 January 2026" in notice.body  # 14 days after the notice (11 January)
    assert "contact" in notice.body and f"{subject.pk:064x}" not in notice.body  # no hashes in the e-mail
    subject.refresh_from_db()
    assert subject.retention_notice_sent_at == YEAR_LATER

    waiting = biometrics_retention_purge(now=YEAR_LATER + dt.timedelta(days=13, hours=23))
    assert (waiting.noticed, waiting.purged) == ([], [])
    assert len(mail.outbox) == 1  # told once

    done = biometrics_retention_purge(now=YEAR_LATER + dt.timedelta(days=14))
    assert done.purged == [subject.pk]
    assert not KnownImageHash.objects.filter(subject=subject).exists()
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(subject.pk), action__startswith="subject.")
            .exclude(action="subject.created")] == ["subject.retention_notice_sent", "subject.biometrics_purged"]


def test_activity_after_the_notice_cancels_it(hash_subject, consent_text):
    subject = hash_subject("Came back", contact_email="back@example.org")
    biometrics_retention_purge(now=YEAR_LATER)
    came_back = YEAR_LATER + dt.timedelta(days=5)
    with clock(came_back):  # the subject got in touch and consented again
        consent_grant(subject=subject, text=consent_text, purposes=[ConsentPurpose.HASH_MATCHING],
                      method=ConsentMethod.ONLINE_SIGNATURE, signature="B")

    assert biometrics_retention_purge(now=YEAR_LATER + dt.timedelta(days=30)).purged == []
    assert KnownImageHash.objects.filter(subject=subject).exists()

    # A new period of inactivity needs a new notice before any purge.
    again = biometrics_retention_purge(now=came_back + dt.timedelta(days=366))
    assert (again.noticed, again.purged) == ([subject.pk], [])
    assert len(mail.outbox) == 2


def test_the_task_runs_the_purge(hash_subject):
    from casework.tasks import biometrics_retention_purge as task

    stale = hash_subject("Stale", when=dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
    assert task.delay().get() == {"noticed": [], "purged": [stale.pk]}


def test_beat_sends_the_retention_purge_through_the_broker_to_a_worker(worker, hash_subject):
    from celery.beat import Scheduler

    from config.celery import app as celery_app

    stale = hash_subject("Stale", when=dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
    scheduler = Scheduler(app=celery_app, lazy=False)
    scheduler.apply_entry(scheduler.schedule["biometrics-retention-purge"], producer=scheduler.producer)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and KnownImageHash.objects.filter(subject=stale).exists():
        time.sleep(0.2)
    assert not KnownImageHash.objects.filter(subject=stale).exists()
