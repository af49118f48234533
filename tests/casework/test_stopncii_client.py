"""python-threatexchange, the library HMA runs, reads Reclaim's hash feed as it reads StopNCII (issue 14).

The client is python-threatexchange's own ``StopNCIIAPI`` over HTTP, against Reclaim served by pytest-django's
live server: it fetches every page of a feed, sees a withdrawal as Withdrawn, and submits feedback that shows
on the subject's case. Its StopNCII signal exchange turns the feed into PDQ and MD5 signals, merged and
indexed as HMA's fetcher does; another organisation's keys see nothing.
"""

from __future__ import annotations

import typing as t

import pytest
from threatexchange.exchanges import fetch_state
from threatexchange.exchanges.clients.stopncii.api import (
    StopNCIIAPI,
    StopNCIICaseStatus,
    StopNCIICSPFeedbackValue,
    StopNCIIEndpoint,
    StopNCIISignalType,
)
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.exchanges.impl.stop_ncii_api import (
    StopNCIICredentials,
    StopNCIISignalExchangeAPI,
    StopNCIISignalMetadata,
)
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from casework.models import ConsentMethod, ConsentPurpose, Role
from casework.services.cases import case_open
from casework.services.consent import consent_grant, consent_withdraw, subject_create
from casework.services.feed_platforms import feed_platform_admit
from casework.services.known_hashes import known_hashes_register
from for_platforms.reclaim_exchange import ReclaimSignalExchangeAPI
from tests import factories

PDQS = [f"{n:02x}" * 32 for n in range(1, 8)]  # seven: pages of three are 3 + 3 + 1
MD5 = "ef" * 16
BASE_PATH = "/api/stopncii/v1"


@pytest.fixture
def feed(transactional_db, org):
    """A subject of ``org`` sharing seven PDQ hashes and a video's MD5, another one not sharing; a platform."""
    admin = factories.staff(org, Role.ADMIN)
    text = factories.ConsentTextFactory(purposes=[ConsentPurpose.HASH_MATCHING, ConsentPurpose.HASH_SHARING])
    sharer = subject_create(organization=org, display_name="Kim")
    consent = consent_grant(subject=sharer, text=text, method=ConsentMethod.PAPER_WITNESSED, signature="Kim",
                            purposes=[ConsentPurpose.HASH_MATCHING, ConsentPurpose.HASH_SHARING], by=admin)
    known_hashes_register(subject=sharer, text="\n".join(PDQS) + f"\nmd5:{MD5}", by=admin)
    private = subject_create(organization=org, display_name="Ana")
    consent_grant(subject=private, text=text, method=ConsentMethod.PAPER_WITNESSED, signature="Ana",
                  purposes=[ConsentPurpose.HASH_MATCHING], by=admin)
    known_hashes_register(subject=private, text="99" * 32, by=admin)
    admitted = feed_platform_admit(organization=org, name="ExamplePlatform", by=admin)
    return {"subject": sharer, "consent": consent, "admin": admin, "admitted": admitted}


@pytest.fixture
def stopncii(live_server, monkeypatch):
    """python-threatexchange's client class, its BASE_URL pointed at the live server."""
    monkeypatch.setattr(StopNCIIAPI, "BASE_URL", live_server.url + BASE_PATH)

    def client(admitted) -> StopNCIIAPI:
        # One function key for both endpoints: the client asks for one per endpoint, as StopNCII issues them.
        return StopNCIIAPI(admitted.subscription_key, admitted.function_key,
                           additional_function_keys={StopNCIIEndpoint.SubmitFeedback: admitted.function_key})

    return client


def every_record(api: StopNCIIAPI, start: int = StopNCIIAPI.DEFAULT_START_TIME, page_size: int = 3):
    """Like StopNCIIAPI.fetch_hashes_iter, with a page size small enough to see several pages."""
    pages, token = [], ""
    while True:
        page = api.fetch_hashes(page_size=page_size, start_timestamp=start, next_page=token)
        pages.append(page)
        if not page.hasMoreRecords:
            return pages
        token = page.nextPageToken


def test_the_client_fetches_every_page_and_sees_a_withdrawal_as_withdrawn(feed, stopncii):
    api = stopncii(feed["admitted"])
    pages = every_record(api)
    assert [page.count for page in pages] == [3, 3, 2]
    records = {r.hashValue: r for page in pages for r in page.hashRecords}
    assert set(records) == {*PDQS, MD5}  # and not the subject who did not agree to sharing
    assert {r.signalType for r in records.values()} == {StopNCIISignalType.ImagePDQ, StopNCIISignalType.VideoMD5}
    assert all(r.hashStatus == StopNCIICaseStatus.Active for r in records.values())
    checkpoint = pages[-1].nextSetTimestamp
    # The whole feed through the library's own iterator too (its default page size, one page).
    assert sum(len(p.hashRecords) for p in api.fetch_hashes_iter()) == 8

    consent_withdraw(consent=feed["consent"], by=feed["admin"], reason="Changed her mind")

    changed = [r for page in every_record(api, start=checkpoint) for r in page.hashRecords]
    assert {r.hashValue for r in changed} == {*PDQS, MD5}
    assert all(r.hashStatus == StopNCIICaseStatus.Withdrawn for r in changed)
    assert all(set(r.caseNumbers.values()) == {StopNCIICaseStatus.Withdrawn} for r in changed)


def test_feedback_the_client_submits_shows_on_the_case(feed, stopncii, client):
    api = stopncii(feed["admitted"])
    case = case_open(subject=feed["subject"], by=feed["admin"])
    for value in PDQS[:3]:
        api.submit_feedback(StopNCIISignalType.ImagePDQ, value, StopNCIICSPFeedbackValue.Blocked, {"Nude"})
    api.submit_feedbacks({(StopNCIISignalType.ImagePDQ, PDQS[3]): _feedback(StopNCIICSPFeedbackValue.PendingReview),
                          (StopNCIISignalType.VideoMD5, MD5): _feedback(StopNCIICSPFeedbackValue.NotBlocked)})

    client.force_login(feed["admin"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "ExamplePlatform blocked 3 uploads" in page
    assert "ExamplePlatform is reviewing 1 match" in page
    assert "ExamplePlatform reviewed 1 match and did not block it" in page
    # And every platform of the feed reads it back as StopNCII's CSPFeedbacks.
    records = {r.hashValue: r for p in every_record(api) for r in p.hashRecords}
    (opinion,) = records[PDQS[0]].CSPFeedbacks
    assert (opinion.source, opinion.feedbackValue, opinion.tags) == (
        "ExamplePlatform", StopNCIICSPFeedbackValue.Blocked, {"Nude"})


def _feedback(value):
    from threatexchange.exchanges.clients.stopncii.api import StopNCIICSPFeedback

    return StopNCIICSPFeedback(value)


def test_another_organisations_keys_see_nothing(feed, stopncii, other_org):
    theirs = feed_platform_admit(organization=other_org, name="ExamplePlatform", by=None)
    api = stopncii(theirs)
    assert [r for p in every_record(api) for r in p.hashRecords] == []
    # Their feedback on our hashes is not recorded either.
    api.submit_feedback(StopNCIISignalType.ImagePDQ, PDQS[0], StopNCIICSPFeedbackValue.Blocked)
    ours = {r.hashValue: r for p in every_record(stopncii(feed["admitted"])) for r in p.hashRecords}
    assert ours[PDQS[0]].CSPFeedbacks == []


# --- The signal exchange, as HMA runs it ----------------------------------------------------------

def hma_fetch(exchange, checkpoint, store: dict) -> t.Any:
    """What HMA's fetcher does with an exchange (OpenMediaMatch.background_tasks.fetcher): fetch_iter from the
    stored checkpoint, merge each delta into what it holds (a None value deletes), keep the last checkpoint."""
    for delta in exchange.fetch_iter([PdqSignal, VideoMD5Signal], checkpoint):
        previous = checkpoint.get_progress_timestamp() if checkpoint else None
        assert previous is None or previous <= delta.checkpoint.get_progress_timestamp()  # HMA's rewind check
        exchange.naive_fetch_merge(store, delta.updates)
        checkpoint = delta.checkpoint
    return checkpoint


def test_the_signal_exchange_turns_the_feed_into_pdq_and_md5_signals(feed, live_server):
    admitted = feed["admitted"]
    # HMA's credentials for a StopNCII exchange: "function_key,subscription_key,base_url_override".
    credentials = StopNCIICredentials._from_str(
        f"{admitted.function_key},{admitted.subscription_key},{live_server.url}{BASE_PATH}")
    collab = CollaborationConfigWithDefaults(name="Reclaim demo feed")
    exchange = StopNCIISignalExchangeAPI.for_collab(collab, credentials)
    store: dict = {}
    checkpoint = hma_fetch(exchange, None, store)

    signals = exchange.naive_convert_to_signal_type([PdqSignal, VideoMD5Signal], collab, store)
    assert set(signals[PdqSignal]) == set(PDQS) and set(signals[VideoMD5Signal]) == {MD5}
    metadata = signals[PdqSignal][PDQS[0]]
    assert isinstance(metadata, StopNCIISignalMetadata)
    # User-submitted hashes no platform has reviewed, as StopNCII's are: a seed for investigation.
    assert metadata.get_as_aggregate_opinion().category == fetch_state.AggregateSignalOpinionCategory.INVESTIGATION_SEED
    # Once a platform blocked it, the next fetch carries that opinion: HMA reads it as a positive.
    exchange.api._function_keys[StopNCIIEndpoint.SubmitFeedback] = admitted.function_key
    exchange.api.submit_feedback(StopNCIISignalType.ImagePDQ, PDQS[0], StopNCIICSPFeedbackValue.Blocked)
    hma_fetch(exchange, checkpoint, store)
    metadata = exchange.naive_convert_to_signal_type([PdqSignal], collab, store)[PdqSignal][PDQS[0]]
    assert metadata.get_as_aggregate_opinion().category == fetch_state.AggregateSignalOpinionCategory.POSITIVE_CLASS
    assert str(metadata).endswith("+1 +ExamplePlatform")


def test_the_1_2_17_exchange_keeps_a_withdrawn_hash_and_for_platforms_exchange_deletes_it(feed, live_server):
    """python-threatexchange 1.2.17 (and its main branch of July 2026) decides deletion by comparing a record's
    hashValue, not its hashStatus, with Withdrawn/Deleted, so HMA keeps a withdrawn hash. README's "For
    platforms" gives platforms for_platforms/reclaim_exchange.py instead; this test fails when upstream fixes
    the comparison, so that README can say so."""
    admitted = feed["admitted"]
    credentials = StopNCIICredentials(fetch_function_key=admitted.function_key,
                                      subscription_key=admitted.subscription_key,
                                      base_url_override=f"{live_server.url}{BASE_PATH}")
    collab = CollaborationConfigWithDefaults(name="Reclaim demo feed")
    exchanges = {"stock": StopNCIISignalExchangeAPI.for_collab(collab, credentials),
                 "reclaim": ReclaimSignalExchangeAPI.for_collab(collab, credentials)}
    held = {name: {} for name in exchanges}
    checkpoints = {name: hma_fetch(exchange, None, held[name]) for name, exchange in exchanges.items()}
    consent_withdraw(consent=feed["consent"], by=feed["admin"])
    signals = {}
    for name, exchange in exchanges.items():
        hma_fetch(exchange, checkpoints[name], held[name])
        converted = exchange.naive_convert_to_signal_type([PdqSignal, VideoMD5Signal], collab, held[name])
        signals[name] = {value for by_value in converted.values() for value in by_value}

    assert signals["stock"] == {*PDQS, MD5}  # the upstream bug: still matched after the withdrawal
    assert signals["reclaim"] == set()
    assert ReclaimSignalExchangeAPI.get_name() == "reclaim"
