"""Shared fixtures: an organisation with a caseworker, a legal user and an outsider from another
organisation, so every page can be tested for who may see it; demo images from scikit-image; and
the shared test data folder, which tests skip without."""

import os
from pathlib import Path

import pytest

from casework.demo import demo_images
from casework.models import ConsentMethod, ConsentPurpose, Role
from casework.services.consent import subject_enroll
from tests import factories

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Translation catalogues compiled before Django reads them, as `make install` does, so that
    `pytest` alone tests the Spanish and German pages too (README, "Languages")."""
    from config.catalogues import catalogues_compile

    catalogues_compile()


def _testdata_dir() -> Path | None:
    configured = os.environ.get("TESTDATA_DIR")
    path = Path(configured) if configured else REPO.parent / "shared" / "testdata"
    return path if path.is_dir() else None


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache: rate-limit counters (casework.ratelimit) would otherwise
    carry over from earlier tests in the same minute, as a shared cache does between requests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def site_language():
    """Each test starts and ends in the site's language: the test client's requests run in this thread,
    and LocaleMiddleware leaves the last request's language active after it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_match_index():
    """Each test starts with no cached index: its checkpoint row is rolled back with the test."""
    from detection.index import match_index_forget

    match_index_forget()
    yield
    match_index_forget()


@pytest.fixture(autouse=True)
def staff_sign_in_with_second_factor(monkeypatch):
    """Staff pages need a verified TOTP device (casework.middleware): ``client.force_login(user)``
    also confirms a device for a staff user and marks the session verified, as entering a code
    would. ``force_login(user, otp=False)`` signs in with the password only."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from casework.access import is_staff

    original = Client.force_login

    def force_login(self, user, backend=None, *, otp=True):
        original(self, user, backend)
        if otp and is_staff(user):
            # Made directly, not through totp_device_create_confirmed: tests that read the audit
            # trail should see only what they did, not the sign-in helper's device.
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            device = device or TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(scope="session")
def testdata() -> Path:
    path = _testdata_dir()
    if path is None:
        pytest.skip("shared test data not found: set TESTDATA_DIR to the testdata folder (see README)")
    return path


@pytest.fixture
def own_media_root(settings, tmp_path):
    """Files are content-addressed: one rotated under a throwaway key, or written as it was stored
    before encryption, must not be found by another test that stores the same bytes."""
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(scope="session")
def images() -> dict[str, bytes]:
    return demo_images()


@pytest.fixture
def org(db):
    return factories.OrganizationFactory()


@pytest.fixture
def other_org(db):
    return factories.OrganizationFactory()


@pytest.fixture
def caseworker(org):
    return factories.staff(org, Role.CASEWORKER)


@pytest.fixture
def legal(org):
    return factories.staff(org, Role.LEGAL)


@pytest.fixture
def outsider(other_org):
    """A caseworker of another organisation: must never see this organisation's data."""
    return factories.staff(other_org, Role.ADMIN)


@pytest.fixture
def consent_text(db):
    return factories.ConsentTextFactory()


@pytest.fixture
def enrol(org, consent_text, caseworker):
    def enrol(photos: list[tuple[str, bytes]], name: str = "Subject A", purposes=None):
        return subject_enroll(
            organization=org,
            display_name=name,
            text=consent_text,
            method=ConsentMethod.PAPER_WITNESSED,
            signature=name,
            photos=photos,
            purposes=purposes or [ConsentPurpose.LIKENESS_MATCHING],
            by=caseworker,
        )

    return enrol


@pytest.fixture
def astronaut_subject(enrol, images):
    return enrol([("reference.jpg", images["reference.jpg"])], name="Astronaut")
