"""The demo's hash feed (issue 14): a subject who shares the hashes of her known images with platforms, two
platforms admitted to the demo organisation's feed, and what they reported, so the case page, the desk and
the metrics' "uploads blocked" chart have something to show. The first platform's keys are printed once,
so a developer can read the feed with python-threatexchange (README, "For platforms")."""

from __future__ import annotations

import random

from casework.models import ConsentMethod, ConsentPurpose, ConsentText, FeedPlatform, FeedRecord, Organization
from casework.services.cases import case_open
from casework.services.consent import subject_enroll
from casework.services.feed_platforms import feed_platform_admit
from casework.services.hash_feed import FeedbackIn, hash_feed_feedback_record
from casework.services.known_hashes import known_hashes_register

DEMO_SHARING_SUBJECT = "Demo subject (shares hashes)"
SHARING_TITLE = "Known images: matching and sharing their hashes"
SHARING_BODY = (
    "I agree that Reclaim may keep the hashes (fingerprints) of images of me that I choose, never the images, "
    "to find copies in reported and crawled media, and may share those hashes with the platforms my support "
    "organisation has admitted, so they can block uploads that match. I can withdraw this consent at any time: "
    "the hashes are then deleted here and the platforms are told to delete them."
)
# (platform, [(hash index, feedback), ...]): ExamplePlatform blocked three uploads and is reviewing a match.
FEEDBACK = [
    ("ExamplePlatform", [(0, "Blocked"), (1, "Blocked"), (2, "Blocked"), (3, "PendingReview")]),
    ("PhotoShare (demo)", [(0, "Blocked"), (4, "NotBlocked")]),
]


def demo_feed_seed(*, organization: Organization, users: dict, base_url: str = "", log=print) -> None:
    """Idempotent: once the demo organisation has platforms, nothing is added."""
    if FeedPlatform.objects.filter(organization=organization).exists():
        log("Hash feed: platforms were admitted earlier (their keys were printed then; "
            "revoke and admit one again on /platforms/ for new keys).")
        return
    text, _ = ConsentText.objects.get_or_create(
        version="1.1-hashes", language="en",
        defaults={"title": SHARING_TITLE, "body": SHARING_BODY,
                  "purposes": [ConsentPurpose.HASH_MATCHING, ConsentPurpose.HASH_SHARING]},
    )
    subject = subject_enroll(
        organization=organization, display_name=DEMO_SHARING_SUBJECT, text=text,
        method=ConsentMethod.PAPER_WITNESSED, signature="Demo Sharer", photos=[],
        purposes=[ConsentPurpose.HASH_MATCHING, ConsentPurpose.HASH_SHARING], by=users["casey"],
    )
    rng = random.Random(14)  # PDQ-shaped values: the images are nobody's
    values = [f"{rng.getrandbits(256):064x}" for _ in range(6)]
    known_hashes_register(subject=subject, text="\n".join(f"{value} 100" for value in values), by=users["casey"])
    case_open(subject=subject, by=users["casey"])
    for name, feedback in FEEDBACK:
        admitted = feed_platform_admit(organization=organization, name=name, by=users["ada"])
        hash_feed_feedback_record(platform=admitted.platform,
                                  feedbacks=[FeedbackIn(values[index], value) for index, value in feedback])
        if name == "ExamplePlatform":
            shared = FeedRecord.objects.filter(organization=organization, status=FeedRecord.Status.ACTIVE).count()
            log(f"Hash feed: {shared} hashes shared; {name} admitted. Its keys (shown this once), for "
                f"python-threatexchange or HMA (README, \"For platforms\"):")
            log(f"  TX_STOPNCII_KEYS={admitted.function_key},{admitted.subscription_key},"
                f"{base_url}/api/stopncii/v1")
