"""Fixtures shared by the casework tests: takedown requests, an admin, one object of every kind along the
thin path, and a real Celery worker."""

import os

import pytest

from casework.models import Regime, Role, TakedownRequest
from casework.services.cases import case_open, finding_confirm, takedown_request_create
from casework.services.consent import subject_create
from casework.services.notices import NoticeDraft, notice_generate
from config.celery import app as celery_app
from tests import factories
from tests.casework.test_thin_path import NOTICE, URL
from tests.detection.test_scan import scan

BROKER = os.environ.get("CELERY_BROKER_URL")
TARGET_URL = "https://video.example.com/watch/abc123"


@pytest.fixture
def admin(org):
    return factories.staff(org, Role.ADMIN)


@pytest.fixture
def new_request(org, caseworker):
    """Make a draft takedown request in a new case; the case's assignee is ``assignee`` or the caseworker."""

    def make(regime: str = Regime.TAKE_IT_DOWN, assignee=None) -> TakedownRequest:
        subject = subject_create(organization=org, display_name="Subject")
        case = case_open(subject=subject, by=assignee or caseworker)
        return takedown_request_create(case=case, platform="ExampleTube", target_url=TARGET_URL, regime=regime,
                                       by=assignee or caseworker)

    return make


@pytest.fixture
def path_objects(astronaut_subject, images, caseworker, legal):
    """A finding of the astronaut subject, confirmed into a case and a takedown request with a notice,
    the subject's consent, and a public report: what the access tests need in one organisation."""
    finding = scan(images["reported-astronaut.jpg"], url=URL).findings.get()
    case, takedown = finding_confirm(finding=finding, by=caseworker, platform="P", target_url=URL,
                                     regime=Regime.TAKE_IT_DOWN)
    notice = notice_generate(request=takedown, draft=NoticeDraft(**NOTICE), by=legal)
    consent = astronaut_subject.consents.get()
    report = factories.ReportFactory(organization=astronaut_subject.organization)
    return {"finding": finding, "case": case, "takedown": takedown, "notice": notice, "consent": consent,
            "report": report}


@pytest.fixture
def worker(transactional_db):
    """A Celery worker in this process, consuming from the real broker (CELERY_BROKER_URL)."""
    from celery.contrib.testing.worker import start_worker

    if not BROKER:
        pytest.skip("CELERY_BROKER_URL is not set: no broker to run a worker on")
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url")}
    celery_app.conf.update(task_always_eager=False, broker_url=BROKER)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield
    celery_app.conf.update(saved)
