"""Data for the production test (tests/browser/test_production.py), made in its own database through
the real services: a caseworker with an authenticator, a consented subject, and one scanned re-upload
of her photo (a likeness finding). Run under the production settings it is handed; prints JSON."""

import json
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.contrib.auth import get_user_model

from casework.demo import CONSENT_BODY, demo_images
from casework.models import ConsentMethod, ConsentPurpose, ConsentText, Membership, Organization, Role
from casework.services.consent import subject_enroll
from casework.services.two_factor import totp_device_create_confirmed
from detection.models import MediaItem
from detection.services import media_ingest, media_scan

PASSWORD = "production-test-password-0123"


def main() -> None:
    images = demo_images()
    organization = Organization.objects.create(slug="production-test", name="Production Test Network")
    user = get_user_model().objects.create_user("casey", password=PASSWORD)
    Membership.objects.create(user=user, organization=organization, role=Role.CASEWORKER)
    text = ConsentText.objects.create(version="1.0", title="Likeness matching consent", body=CONSENT_BODY,
                                      purposes=[ConsentPurpose.LIKENESS_MATCHING])
    subject_enroll(organization=organization, display_name="Astronaut", text=text,
                   method=ConsentMethod.PAPER_WITNESSED, signature="Astronaut",
                   photos=[("reference.jpg", images["reference.jpg"])], by=user)
    item = media_ingest(data=images["reported-astronaut.jpg"], source=MediaItem.Source.UPLOAD,
                        original_name="reported-astronaut.jpg", source_url="https://example.org/posts/1")
    media_scan(media_item_id=item.pk)
    finding = item.findings.get()
    device = totp_device_create_confirmed(user=user)
    print(json.dumps({"finding": finding.pk, "username": user.username, "password": PASSWORD,
                      "totp_key": device.key, "media_sha256": item.sha256}))


if __name__ == "__main__":
    main()
