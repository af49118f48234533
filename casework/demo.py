"""Demo data for a laptop: an organisation, staff, a consented subject, and two scanned images.

The demo face is NASA's public-domain portrait of astronaut Eileen Collins, shipped with
scikit-image; nothing is read from outside the installed packages.
"""

import io

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from PIL import Image

from casework.demo_feed import demo_feed_seed
from casework.demo_history import demo_history_seed
from casework.models import ConsentMethod, ConsentPurpose, ConsentText, Membership, Organization, Role
from casework.services.consent import subject_enroll
from detection.models import MediaItem
from detection.services import media_ingest, media_scan

DEMO_PASSWORD = "reclaim-demo-password"
DEMO_SUBJECT_NAME = "Demo subject (astronaut)"
DEMO_SUBJECT_EMAIL = "subject@demo.example.org"  # `manage.py demo` prints her portal sign-in link
DEMO_USERS = [("casey", Role.CASEWORKER), ("lee", Role.LEGAL), ("ada", Role.ADMIN)]
CONSENT_TITLE = "Likeness matching consent"
CONSENT_BODY = (
    "I agree that Reclaim may keep reference photos of my face and a mathematical template computed "
    "from them, and compare them with reported and crawled media to find images of me. I can withdraw "
    "this consent at any time; my photos and templates are then deleted at once."
)
# The same version in the other languages the demo offers (README, "Languages"): a person consents to
# the text they read, and their receipt follows it. Written to be read calmly: what is kept, what for,
# and that it can be taken back.
CONSENT_TRANSLATIONS = {
    "es": (
        "Consentimiento para la búsqueda por rostro",
        "Acepto que Reclaim guarde fotos de referencia de mi rostro y una plantilla matemática calculada a "
        "partir de ellas, y que las compare con el material denunciado y con el encontrado en internet para "
        "localizar imágenes mías. Puedo retirar este consentimiento en cualquier momento; mis fotos y "
        "plantillas se eliminan entonces de inmediato.",
    ),
    "de": (
        "Einwilligung in den Gesichtsabgleich",
        "Ich willige ein, dass Reclaim Referenzfotos meines Gesichts und ein daraus berechnetes "
        "mathematisches Gesichtsmodell speichert und mit gemeldeten und im Internet gefundenen Medien "
        "abgleicht, um Bilder von mir zu finden. Ich kann diese Einwilligung jederzeit widerrufen; meine "
        "Fotos und Gesichtsmodelle werden dann sofort gelöscht.",
    ),
}


def _jpeg(pixels: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def demo_images() -> dict[str, bytes]:
    from skimage import data

    astronaut = data.astronaut()
    reference = astronaut[0:300, 100:380]  # only her face: the full photo also shows her helmet
    # The "reported" copy: the whole photo, downscaled and recompressed, as a re-upload would be.
    reported = np.asarray(Image.fromarray(astronaut).resize((410, 410), Image.Resampling.LANCZOS))
    return {
        "reference.jpg": _jpeg(reference),
        "reported-astronaut.jpg": _jpeg(reported, quality=70),
        "reported-coffee.jpg": _jpeg(data.coffee(), quality=80),
    }


def demo_users(organization: Organization) -> dict:
    User = get_user_model()
    users = {}
    for username, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.save()
        Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": role})
        users[username] = user
    return users


def demo_seed(log=print, base_url: str = "http://127.0.0.1:8000") -> None:
    """Idempotent: running it again adds nothing."""
    images = demo_images()
    with transaction.atomic():
        organization, _ = Organization.objects.get_or_create(slug="demo", defaults={"name": "Demo Support Network"})
        users = demo_users(organization)
        purposes = [ConsentPurpose.LIKENESS_MATCHING, ConsentPurpose.HASH_MATCHING]
        text, _ = ConsentText.objects.get_or_create(
            version="1.0", language="en", defaults={"title": CONSENT_TITLE, "body": CONSENT_BODY, "purposes": purposes},
        )
        for language, (title, body) in CONSENT_TRANSLATIONS.items():
            ConsentText.objects.get_or_create(
                version="1.0", language=language, defaults={"title": title, "body": body, "purposes": purposes},
            )
        if not organization.cases.exists():
            # First, so the audit chain stays in time order: the history happened before today's enrolment.
            requests = demo_history_seed(organization=organization, caseworker=users["casey"], legal=users["lee"])
            log(f"Replayed {requests} takedown requests of the last four months (desk and metrics).")
        if not organization.subjects.filter(display_name=DEMO_SUBJECT_NAME).exists():
            subject_enroll(
                organization=organization,
                display_name=DEMO_SUBJECT_NAME,
                text=text,
                method=ConsentMethod.PAPER_WITNESSED,
                signature="Demo Subject",
                contact_email=DEMO_SUBJECT_EMAIL,
                photos=[("reference.jpg", images["reference.jpg"])],
                by=users["casey"],
            )
        # Platforms reading the hash feed, and what they reported (casework.demo_feed).
        demo_feed_seed(organization=organization, users=users, base_url=base_url.rstrip("/"), log=log)
    for name in ("reported-astronaut.jpg", "reported-coffee.jpg"):
        item = media_ingest(
            data=images[name],
            source=MediaItem.Source.UPLOAD,
            original_name=name,
            source_url=f"https://example.org/posts/{name.removesuffix('.jpg')}",
            organization_id=organization.pk,
        )
        if item.status == MediaItem.Status.RECEIVED:
            media_scan(media_item_id=item.pk)
        log(f"Scanned {name}: {item.findings.count()} finding(s).")
