"""The hash feed for platforms (issue 14): what enters it (consent to sharing), what leaves it and how
(Withdrawn, Deleted, tombstones and their purge), its pages and their tokens, the keys, the throttle, and
platforms' feedback on the case, the desk and the metrics. The StopNCII client itself reads it in
test_stopncii_client.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from casework import feed_pages
from casework.models import (
    AuditEvent,
    ConsentMethod,
    ConsentPurpose,
    FeedCase,
    FeedFeedback,
    FeedPlatform,
    FeedRecord,
    Regime,
    Role,
)
from casework.services.cases import case_open, finding_confirm
from casework.services.consent import consent_grant, consent_withdraw, subject_create
from casework.services.feed_platforms import feed_platform_admit, feed_platform_revoke
from casework.services.hash_feed import FeedbackIn, hash_feed_feedback_record, hash_feed_tombstones_purge
from casework.services.known_hashes import known_hash_remove, known_hashes_register
from casework.services.retention import biometrics_retention_purge
from tests import factories

PDQ = "ab" * 32
PDQ_2 = "12" * 32
PHASH = "cd" * 8
MD5 = "ef" * 16
FETCH = "/api/stopncii/v1/FetchHashes"
FEEDBACK = "/api/stopncii/v1/SubmitFeedback"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SHARE = [ConsentPurpose.HASH_MATCHING, ConsentPurpose.HASH_SHARING]


@pytest.fixture
def sharing_text(db):
    return factories.ConsentTextFactory(purposes=[ConsentPurpose.LIKENESS_MATCHING, *SHARE])


def subject_with(org, text, purposes, name="Kim", by=None):
    subject = subject_create(organization=org, display_name=name)
    consent_grant(subject=subject, text=text, purposes=purposes, method=ConsentMethod.PAPER_WITNESSED,
                  signature=name, by=by)
    return subject


@pytest.fixture
def sharer(org, sharing_text, caseworker):
    return subject_with(org, sharing_text, SHARE, by=caseworker)


@pytest.fixture
def admin(org):
    return factories.staff(org, Role.ADMIN)


@pytest.fixture
def admitted(org, admin):
    return feed_platform_admit(organization=org, name="ExamplePlatform", by=admin)


def keys(admitted) -> dict:
    return {"x-functions-key": admitted.function_key, "Ocp-Apim-Subscription-Key": admitted.subscription_key}


def fetch(client, admitted, **params) -> dict:
    response = client.get(FETCH, params, headers=keys(admitted))
    assert response.status_code == 200, response.content
    return response.json()


def everything(client, admitted, start=10, page_size=800) -> list[dict]:
    records, token = [], ""
    while True:
        page = fetch(client, admitted, startTimestamp=start, pageSize=page_size,
                     **({"nextPageToken": token} if token else {}))
        records += page["hashRecords"]
        if not page["hasMoreRecords"]:
            return records
        token = page["nextPageToken"]


def by_value(records: list[dict]) -> dict[str, dict]:
    return {r["hashValue"]: r for r in records}


# --- What is in the feed --------------------------------------------------------------------------

def test_only_hashes_whose_subject_consents_to_sharing_are_in_the_feed(client, org, sharing_text, sharer,
                                                                       caseworker, admitted):
    matching_only = subject_with(org, sharing_text, [ConsentPurpose.HASH_MATCHING], name="Ana")
    known_hashes_register(subject=matching_only, text=PDQ_2, by=caseworker)
    known_hashes_register(subject=sharer, text=f"{PDQ} 90\n{PHASH}\nmd5:{MD5}", by=caseworker)

    records = by_value(everything(client, admitted))
    assert set(records) == {PDQ, MD5}  # not pHash (no StopNCII type), not the non-sharing subject's
    assert records[PDQ]["signalType"] == "ImagePDQ" and records[MD5]["signalType"] == "VideoMD5"
    record = records[PDQ]
    assert record["hashStatus"] == "Active" and record["CSPFeedbacks"] == []
    ((number, status),) = record["caseNumbers"].items()
    assert status == "Active" and UUID4.match(number)
    assert isinstance(record["lastModtimestamp"], int)
    assert abs(record["lastModtimestamp"] - timezone.now().timestamp()) < 60
    # Per record, random: the same subject's two hashes share nothing that would link them.
    assert number != next(iter(records[MD5]["caseNumbers"])) and sharer.display_name not in str(records)
    # Reclaim's own case reference is nowhere in the feed.
    case = case_open(subject=sharer, by=caseworker)
    assert case.reference not in str(everything(client, admitted))


def test_granting_sharing_later_shares_the_hashes_registered_before(client, org, sharing_text, caseworker,
                                                                    admitted):
    subject = subject_with(org, sharing_text, [ConsentPurpose.HASH_MATCHING])
    known_hashes_register(subject=subject, text=PDQ, by=caseworker)
    assert everything(client, admitted) == []
    consent_grant(subject=subject, text=sharing_text, purposes=[ConsentPurpose.HASH_SHARING],
                  method=ConsentMethod.PAPER_WITNESSED, signature="Kim", by=caseworker)
    assert [r["hashValue"] for r in everything(client, admitted)] == [PDQ]
    assert AuditEvent.objects.filter(action="consent.granted").last().data["shared"] == 1


def test_withdrawing_sharing_turns_the_records_withdrawn_and_forgets_whose_they_were(
        client, org, sharing_text, caseworker, admitted):
    subject = subject_with(org, sharing_text, [ConsentPurpose.HASH_MATCHING])
    sharing = consent_grant(subject=subject, text=sharing_text, purposes=[ConsentPurpose.HASH_SHARING],
                            method=ConsentMethod.PAPER_WITNESSED, signature="Kim", by=caseworker)
    known_hashes_register(subject=subject, text=f"{PDQ}\nmd5:{MD5}", by=caseworker)
    number = next(iter(by_value(everything(client, admitted))[PDQ]["caseNumbers"]))

    consent_withdraw(consent=sharing, by=caseworker, reason="No longer wants platforms to have them")

    records = by_value(everything(client, admitted))
    assert {v: r["hashStatus"] for v, r in records.items()} == {PDQ: "Withdrawn", MD5: "Withdrawn"}
    assert records[PDQ]["caseNumbers"] == {number: "Withdrawn"}
    assert subject.known_hashes.count() == 2  # still matched by Reclaim: that consent stands
    tombstone = FeedCase.objects.get(number=number)
    assert tombstone.subject_id is None and tombstone.known_hash_id is None
    assert AuditEvent.objects.filter(action="consent.withdrawn").last().data["unshared"] == 2


def test_withdrawing_the_only_consent_withdraws_the_hashes_it_deleted(client, sharer, caseworker, admitted):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    consent_withdraw(consent=sharer.consents.get(), by=caseworker)
    assert not sharer.known_hashes.exists()
    assert [(r["hashValue"], r["hashStatus"]) for r in everything(client, admitted)] == [(PDQ, "Withdrawn")]


def test_a_caseworkers_removal_turns_the_record_deleted(client, sharer, caseworker, admitted):
    known_hashes_register(subject=sharer, text=f"{PDQ}\n{PDQ_2}", by=caseworker)
    known = sharer.known_hashes.get(value=PDQ)
    client.force_login(caseworker)
    response = client.post(reverse("casework:known_hash_remove", args=[known.pk]))
    assert response.status_code == 302
    statuses = {r["hashValue"]: r["hashStatus"] for r in everything(client, admitted)}
    assert statuses == {PDQ: "Deleted", PDQ_2: "Active"}
    event = AuditEvent.objects.get(action="known_hash.removed")
    assert event.actor == caseworker and PDQ not in str(event.data) and event.data["unshared"] == 1


def test_only_reviewers_of_the_subjects_organisation_remove_a_hash(client, sharer, caseworker, legal, outsider):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    known = sharer.known_hashes.get()
    for user, status in ((outsider, 404), (legal, 403)):
        client.force_login(user)
        assert client.post(reverse("casework:known_hash_remove", args=[known.pk])).status_code == status
    assert sharer.known_hashes.exists()


def test_the_same_hash_registered_again_reactivates_its_record_with_a_new_case(client, sharer, caseworker,
                                                                              admitted):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    known_hash_remove(subject=sharer, known_hash_id=sharer.known_hashes.get().pk, by=caseworker)
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    (record,) = everything(client, admitted)
    assert record["hashStatus"] == "Active"
    assert sorted(record["caseNumbers"].values()) == ["Active", "Deleted"]


def test_the_retention_purge_turns_records_deleted_and_tombstones_go_after_their_days(
        client, settings, sharer, caseworker, admitted):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    # The purge runs "a year later" here while the tombstone is stamped now: keep tombstones longer than that.
    settings.HASH_FEED_TOMBSTONE_DAYS = settings.BIOMETRIC_RETENTION_DAYS + 30
    later = timezone.now() + dt.timedelta(days=settings.BIOMETRIC_RETENTION_DAYS + 1)
    assert biometrics_retention_purge(now=later).purged == [sharer.pk]
    assert [(r["hashValue"], r["hashStatus"]) for r in everything(client, admitted)] == [(PDQ, "Deleted")]

    not_yet = timezone.now() + dt.timedelta(days=settings.HASH_FEED_TOMBSTONE_DAYS - 1)
    assert hash_feed_tombstones_purge(now=not_yet) == 0
    much_later = timezone.now() + dt.timedelta(days=settings.HASH_FEED_TOMBSTONE_DAYS + 1)
    summary = biometrics_retention_purge(now=much_later)
    assert summary.feed_tombstones_purged == 1
    assert not FeedRecord.objects.exists() and not FeedCase.objects.exists()


def test_an_active_record_is_never_purged(settings, sharer, caseworker):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    assert hash_feed_tombstones_purge(now=timezone.now() + dt.timedelta(days=10 * 365)) == 0
    assert FeedRecord.objects.get().status == FeedRecord.Status.ACTIVE


def test_a_confirmed_findings_media_joins_the_feed_when_consent_covers_sharing(
        client, org, sharing_text, caseworker, images, admitted, django_capture_on_commit_callbacks):
    from casework.services.consent import subject_enroll
    from tests.detection.test_scan import scan

    subject_enroll(organization=org, display_name="Astronaut", text=sharing_text,
                   method=ConsentMethod.PAPER_WITNESSED, signature="Astronaut",
                   photos=[("reference.jpg", images["reference.jpg"])],
                   purposes=[ConsentPurpose.LIKENESS_MATCHING, *SHARE], by=caseworker)
    finding = scan(images["reported-astronaut.jpg"], url="https://forum.example.org/p/1").findings.get()
    with django_capture_on_commit_callbacks(execute=True):
        finding_confirm(finding=finding, by=caseworker, platform="Forum", target_url="https://forum.example.org/p/1",
                        regime=Regime.TAKE_IT_DOWN)
    (record,) = everything(client, admitted)
    assert record["signalType"] == "ImagePDQ" and record["hashValue"] == finding.media_item.pdq
    assert finding.subject.known_hashes.get().label == f"finding {finding.pk}"


def test_a_confirmed_finding_is_not_shared_without_consent_to_sharing(
        client, astronaut_subject, caseworker, images, admitted, django_capture_on_commit_callbacks):
    from tests.detection.test_scan import scan

    finding = scan(images["reported-astronaut.jpg"], url="https://forum.example.org/p/1").findings.get()
    with django_capture_on_commit_callbacks(execute=True):
        finding_confirm(finding=finding, by=caseworker, platform="Forum", target_url="https://forum.example.org/p/1")
    assert everything(client, admitted) == [] and not astronaut_subject.known_hashes.exists()


def test_a_shared_findings_hash_leaves_the_feed_when_its_case_is_recorded_as_depicting_a_minor(
        client, org, sharing_text, caseworker, images, admitted, django_capture_on_commit_callbacks):
    from casework.services.consent import subject_enroll
    from casework.services.minors import case_minor_record
    from tests.detection.test_scan import scan

    subject = subject_enroll(organization=org, display_name="Astronaut", text=sharing_text,
                             method=ConsentMethod.PAPER_WITNESSED, signature="Astronaut",
                             photos=[("reference.jpg", images["reference.jpg"])],
                             purposes=[ConsentPurpose.LIKENESS_MATCHING, *SHARE], by=caseworker)
    finding = scan(images["reported-astronaut.jpg"], url="https://forum.example.org/p/1").findings.get()
    with django_capture_on_commit_callbacks(execute=True):
        case, _ = finding_confirm(finding=finding, by=caseworker, platform="Forum",
                                  target_url="https://forum.example.org/p/1", regime=Regime.TAKE_IT_DOWN)
    assert [r["hashStatus"] for r in everything(client, admitted)] == ["Active"]

    with django_capture_on_commit_callbacks(execute=True):
        case_minor_record(case=case, by=caseworker)
    (record,) = everything(client, admitted)
    assert record["hashValue"] == finding.media_item.pdq and record["hashStatus"] == "Deleted"
    assert list(record["caseNumbers"].values()) == ["Deleted"]
    assert not subject.known_hashes.filter(value=finding.media_item.pdq).exists()
    event = AuditEvent.objects.get(action="case.minor_recorded")
    assert event.data["known_hashes_removed"] == 1 and event.data["unshared"] == 1


def test_a_finding_of_a_minor_case_is_never_shared(sharer, caseworker):
    from casework.services.hash_feed import finding_hash_share
    from casework.services.minors import case_minor_record
    from detection.models import Finding, MediaItem

    item = MediaItem.objects.create(source=MediaItem.Source.values[0], kind=MediaItem.Kind.IMAGE, sha256="0" * 64,
                                    size=1, pdq=PDQ, pdq_quality=90)
    finding = Finding.objects.create(subject=sharer, organization_id=sharer.organization_id, media_item=item,
                                     kind=Finding.Kind.values[0], distance=0.1, threshold=0.5, model_version="t",
                                     status=Finding.Status.CONFIRMED)
    case = case_open(subject=sharer, by=caseworker, findings=[finding])
    case_minor_record(case=case, by=caseworker)
    assert finding_hash_share(finding_id=finding.pk) is None
    assert not sharer.known_hashes.exists() and not FeedRecord.objects.exists()


# --- Pages, tokens, keys ---------------------------------------------------------------------------

@pytest.fixture
def five_records(sharer, caseworker):
    known_hashes_register(subject=sharer, text="\n".join(f"{n:02x}" * 32 for n in range(5)), by=caseworker)


def test_pages_walk_the_feed_once_in_order_and_the_checkpoint_never_goes_back(client, five_records, admitted):
    pages, token = [], ""
    while True:
        page = fetch(client, admitted, startTimestamp=10, pageSize=2, **({"nextPageToken": token} if token else {}))
        pages.append(page)
        if not page["hasMoreRecords"]:
            break
        token = page["nextPageToken"]
    assert [p["count"] for p in pages] == [2, 2, 1]
    assert pages[-1]["nextPageToken"] is None
    values = [r["hashValue"] for p in pages for r in p["hashRecords"]]
    assert sorted(values) == [f"{n:02x}" * 32 for n in range(5)] and len(set(values)) == 5
    checkpoints = [p["nextSetTimestamp"] for p in pages]
    assert checkpoints == sorted(checkpoints) and checkpoints[0] >= 10
    # Never past a moment whose changes may still be committing.
    assert checkpoints[-1] <= timezone.now().timestamp() - feed_pages.SETTLE_S
    # From the final checkpoint, nothing new: changes since then only.
    assert fetch(client, admitted, startTimestamp=int(timezone.now().timestamp()) + 5)["hashRecords"] == []


def test_a_larger_page_size_is_served_as_the_largest(client, five_records, admitted):
    page = fetch(client, admitted, startTimestamp=0, pageSize=10**6)
    assert page["count"] == 5 and page["hasMoreRecords"] is False


def test_another_organisations_keys_see_nothing_and_cannot_use_a_token(client, other_org, five_records, admitted):
    theirs = feed_platform_admit(organization=other_org, name="ExamplePlatform", by=None)
    assert everything(client, theirs) == []
    token = fetch(client, admitted, startTimestamp=10, pageSize=2)["nextPageToken"]
    response = client.get(FETCH, {"startTimestamp": 10, "pageSize": 2, "nextPageToken": token},
                          headers=keys(theirs))
    assert response.status_code == 400 and response.json()["detail"] == feed_pages.TOKEN_INVALID


def test_a_forged_or_edited_token_is_refused(client, org, five_records, admitted):
    token = fetch(client, admitted, startTimestamp=10, pageSize=2)["nextPageToken"]
    data = signing.loads(token, salt=feed_pages._TOKEN_SALT)
    # Signed with the real key but not for the feed (another salt), a token naming another organisation does
    # not verify: only the feed's own signature does.
    forged = signing.dumps({**data, "o": data["o"] + 1}, salt="guessed", compress=True)
    edited = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for bad in (forged, edited, "not-a-token"):
        response = client.get(FETCH, {"startTimestamp": 10, "nextPageToken": bad}, headers=keys(admitted))
        assert response.status_code == 400 and response.json()["detail"] == feed_pages.TOKEN_INVALID
    response = client.get(FETCH, {"startTimestamp": 11, "pageSize": 2, "nextPageToken": token}, headers=keys(admitted))
    assert response.json()["detail"] == feed_pages.TOKEN_OTHER_START


def test_an_expired_token_says_so(client, settings, five_records, admitted, monkeypatch):
    token = fetch(client, admitted, startTimestamp=10, pageSize=2)["nextPageToken"]
    monkeypatch.setattr(signing.time, "time", lambda: timezone.now().timestamp() + 2 * 24 * 3600)
    response = client.get(FETCH, {"startTimestamp": 10, "pageSize": 2, "nextPageToken": token},
                          headers=keys(admitted))
    assert response.status_code == 400 and response.json()["detail"] == feed_pages.TOKEN_EXPIRED


def test_keys_are_both_needed_stored_hashed_and_revocable(client, admin, five_records, admitted):
    platform = admitted.platform
    stored = str(platform.__dict__)
    assert admitted.function_key not in stored and admitted.subscription_key not in stored
    assert client.get(FETCH).status_code == 401
    wrong = {**keys(admitted), "x-functions-key": admitted.function_key + "x"}
    assert client.get(FETCH, headers=wrong).status_code == 401
    swapped = {"x-functions-key": admitted.subscription_key, "Ocp-Apim-Subscription-Key": admitted.function_key}
    assert client.get(FETCH, headers=swapped).status_code == 401
    assert client.get(FETCH, headers=keys(admitted)).status_code == 200
    platform.refresh_from_db()
    assert platform.last_fetched_at is not None
    feed_platform_revoke(platform=platform, by=admin)
    assert client.get(FETCH, headers=keys(admitted)).status_code == 401
    assert client.post(FEEDBACK, {"hashFeedbacks": []}, content_type="application/json",
                       headers=keys(admitted)).status_code == 401


def test_the_feed_is_throttled_per_platform_like_the_partner_api(client, settings, org, five_records, admitted):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api_read": "3/minute", "api_write": "1/minute"}}
    other = feed_platform_admit(organization=org, name="OtherPlatform", by=None)
    statuses = [client.get(FETCH, headers=keys(admitted)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert client.get(FETCH, headers=keys(other)).status_code == 200  # its own count
    response = client.get(FETCH, headers=keys(admitted))
    assert int(response["Retry-After"]) > 0


# --- Feedback --------------------------------------------------------------------------------------

def submit(client, admitted, feedbacks, status=200):
    body = {"count": len(feedbacks), "hashFeedbacks": feedbacks}
    response = client.post(FEEDBACK, body, content_type="application/json", headers=keys(admitted))
    assert response.status_code == status, response.content
    return response.json()


def test_feedback_shows_on_the_case_the_desk_and_the_metrics_and_is_audited(client, sharer, caseworker,
                                                                             admitted):
    known_hashes_register(subject=sharer, text=f"{PDQ}\n{PDQ_2}\nmd5:{MD5}", by=caseworker)
    case = case_open(subject=sharer, by=caseworker)
    answer = submit(client, admitted, [
        {"hashValue": PDQ, "feedbackValue": "Blocked", "tags": ["Nude"]},
        {"hashValue": PDQ_2.upper(), "feedbackValue": "Blocked", "tags": []},
        {"hashValue": MD5, "feedbackValue": "Blocked", "tags": []},
        {"hashValue": "99" * 32, "feedbackValue": "Blocked", "tags": []},
    ])
    assert answer == {"count": 3, "unknownHashValues": ["99" * 32]}
    submit(client, admitted, [{"hashValue": PDQ, "feedbackValue": "PendingReview", "tags": []}])

    client.force_login(caseworker)
    case_page = client.get(reverse("casework:case_detail", args=[case.pk])).content.decode()
    assert "ExamplePlatform blocked 3 uploads" in case_page
    desk = client.get(reverse("casework:home")).content.decode()
    assert "ExamplePlatform blocked 3 uploads" in desk and "ExamplePlatform is reviewing 1 match" in desk
    metrics = client.get(reverse("casework:metrics")).content.decode()
    assert "Uploads blocked, per platform of the hash feed" in metrics and "<svg" in metrics
    event = AuditEvent.objects.filter(action="hash_feed.feedback_received").first()
    assert event.actor_label == f"platform:{admitted.platform.pk}:ExamplePlatform"
    assert event.data["received"] == {"Blocked": 3} and event.data["unknown"] == 1

    # Every platform of the feed reads the latest opinion of each.
    record = by_value(everything(client, admitted))[PDQ]
    assert record["CSPFeedbacks"] == [{"source": "ExamplePlatform", "feedbackValue": "PendingReview", "tags": []}]


def test_feedback_values_outside_stopnciis_three_are_refused_whole(client, sharer, caseworker, admitted):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    answer = submit(client, admitted, [{"hashValue": PDQ, "feedbackValue": "Blocked"},
                                       {"hashValue": PDQ, "feedbackValue": "Deleted"}], status=400)
    assert "Blocked, NotBlocked, PendingReview" in str(answer)
    assert not FeedFeedback.objects.exists()
    submit(client, admitted, [{"hashValue": "not hex", "feedbackValue": "Blocked"}], status=400)


def test_feedback_on_another_organisations_hash_is_unknown(client, other_org, sharer, caseworker):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    theirs = feed_platform_admit(organization=other_org, name="ExamplePlatform", by=None)
    assert submit(client, theirs, [{"hashValue": PDQ, "feedbackValue": "Blocked"}]) == {
        "count": 0, "unknownHashValues": [PDQ]}
    assert not FeedFeedback.objects.exists()


def test_feedback_on_a_withdrawn_hash_is_counted_but_shown_on_no_case(client, sharer, caseworker, admitted):
    from casework.hash_feed_reads import feedback_for_subject

    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    consent_withdraw(consent=sharer.consents.get(), by=caseworker)
    hash_feed_feedback_record(platform=admitted.platform, feedbacks=[FeedbackIn(PDQ, "Blocked")])
    assert FeedFeedback.objects.count() == 1 and feedback_for_subject(sharer) == []


def test_feedback_on_a_tombstone_is_kept_but_does_not_restart_its_purge_clock(sharer, caseworker, admitted):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    consent_withdraw(consent=sharer.consents.get(), by=caseworker)
    tombstone = FeedRecord.objects.get()
    assert tombstone.status == FeedRecord.Status.WITHDRAWN
    hash_feed_feedback_record(platform=admitted.platform, feedbacks=[FeedbackIn(PDQ, "Blocked")])
    assert FeedFeedback.objects.get().record == tombstone
    again = FeedRecord.objects.get()
    assert again.modified_at == tombstone.modified_at and again.feedbacks == tombstone.feedbacks


def test_a_timestamp_out_of_range_is_refused_readably(client, five_records, admitted):
    from casework.api.stopncii import LARGEST_NUMBER

    for start in ("1764500000000", "9" * 20, "-1"):
        response = client.get(FETCH, {"startTimestamp": start}, headers=keys(admitted))
        assert response.status_code == 400, start
        assert response.json()["startTimestamp"] == [
            f"startTimestamp must be a whole number from 0 to {LARGEST_NUMBER}."]
    assert fetch(client, admitted, startTimestamp=LARGEST_NUMBER)["hashRecords"] == []


# --- The demo --------------------------------------------------------------------------------------

def test_the_demo_admits_a_platform_whose_printed_keys_read_the_feed(db, client, settings, capsys):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("demo", "--base-url", "http://demo.test:8000")
    call_command("demo", "--base-url", "http://demo.test:8000")  # idempotent: no second platform
    out = capsys.readouterr().out
    (line,) = re.findall(r"TX_STOPNCII_KEYS=(\S+)", out)
    function_key, subscription_key, base_url = line.split(",")
    assert base_url == "http://demo.test:8000/api/stopncii/v1"
    response = client.get(FETCH, {"startTimestamp": 10},
                          headers={"x-functions-key": function_key, "Ocp-Apim-Subscription-Key": subscription_key})
    assert response.json()["count"] == 6
    casey = factories.UserFactory._meta.model.objects.get(username="casey")
    client.force_login(casey)
    assert "ExamplePlatform blocked 3 uploads" in client.get(reverse("casework:home")).content.decode()


# --- Staff pages -----------------------------------------------------------------------------------

def test_an_admin_admits_a_platform_whose_keys_are_shown_once_and_work(client, admin, caseworker, sharer):
    known_hashes_register(subject=sharer, text=PDQ, by=caseworker)
    client.force_login(admin)
    response = client.post(reverse("casework:feed_platform_admit"),
                           {"organization": sharer.organization_id, "name": " Example  Platform "})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    page = response.content.decode()
    function_key = re.search(r"rfk_[\w-]+", page)[0]
    subscription_key = re.search(r"rsk_[\w-]+", page)[0]
    assert "http://testserver/api/stopncii/v1" in page
    listed = client.get(reverse("casework:feed_platform_list")).content.decode()
    assert "Example Platform" in listed and function_key not in listed and subscription_key not in listed
    headers = {"x-functions-key": function_key, "Ocp-Apim-Subscription-Key": subscription_key}
    assert client.get(FETCH, {"startTimestamp": 10}, headers=headers).json()["count"] == 1
    event = AuditEvent.objects.get(action="feed_platform.admitted")
    assert event.actor == admin and function_key not in str(event.data)

    again = client.post(reverse("casework:feed_platform_admit"),
                        {"organization": sharer.organization_id, "name": "Example Platform"})
    assert again.status_code == 400 and "already admitted" in again.content.decode()


def test_only_an_admin_admits_or_revokes(client, org, caseworker, admin, admitted, outsider):
    client.force_login(caseworker)
    assert client.post(reverse("casework:feed_platform_admit"), {"organization": org.pk, "name": "X"}).status_code == 403
    revoke = reverse("casework:feed_platform_revoke", args=[admitted.platform.pk])
    assert client.post(revoke).status_code == 403
    assert "Revoke its keys" not in client.get(reverse("casework:feed_platform_list")).content.decode()
    client.force_login(outsider)
    assert client.post(revoke).status_code == 404
    client.force_login(admin)
    assert client.post(revoke).status_code == 302
    assert client.get(FETCH, headers=keys(admitted)).status_code == 401
    assert AuditEvent.objects.filter(action="feed_platform.revoked").count() == 1


def test_the_subject_page_lists_hashes_with_what_is_shared(client, org, sharing_text, sharer, caseworker, legal):
    known_hashes_register(subject=sharer, text=f"{PDQ}\n{PHASH}", by=caseworker)
    client.force_login(caseworker)
    page = client.get(reverse("casework:subject_detail", args=[sharer.pk])).content.decode()
    assert "Registered hashes" in page and page.count(">yes<") == 1 and page.count(">no<") == 1  # pHash: not shared
    assert page.count("Remove</button>") == 2
    client.force_login(legal)
    assert "Remove</button>" not in client.get(reverse("casework:subject_detail", args=[sharer.pk])).content.decode()


def test_the_feed_benchmark_pages_through_every_record(db, capsys):
    """bench --feed at a tiny size: the same paging a million records get (README, "For platforms")."""
    from django.core.management import call_command

    call_command("bench", "--feed", "--feed-records", "30", "--feed-page-size", "7")
    out = capsys.readouterr().out
    assert "30 records in 5 pages" in out and "3 queries a page" in out
    assert FeedRecord.objects.count() == 33  # and the other organisation's tenth
    assert not FeedPlatform.objects.filter(revoked_at__isnull=True).exists()  # its keys revoked after the run
