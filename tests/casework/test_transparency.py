"""The transparency export says which notices went where, under which law, and what came of them, and
nothing that identifies the person depicted."""

import datetime as dt
import hashlib
import json

import pytest
from django.core.management import CommandError, call_command

from casework.models import Regime
from casework.services.cases import case_open, takedown_request_create
from casework.services.consent import subject_create
from casework.services.notice_delivery import notice_send, notice_submission_record
from casework.services.notices import NoticeDraft, notice_generate
from casework.services.takedowns import takedown_transition
from casework.services.transparency import transparency_export
from tests.casework.test_notices import COMPLETE
from tests.casework.test_takedowns import clock

SUBJECT = "Robin Private-Person"
URL = "https://video.example.com/robin-private-person/clip-1"
MOMENT = dt.datetime(2025, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def send(org, caseworker, legal):
    subject = subject_create(organization=org, display_name=SUBJECT, contact_email="robin@private.example")
    case = case_open(subject=subject, by=caseworker)

    def send(regime: str, *, at: dt.datetime, by_email: bool = True, representative: bool = False):
        with clock(at):
            request = takedown_request_create(case=case, platform="ExampleTube", target_url=URL, regime=regime,
                                              recipient_email="abuse@exampletube.example", by=caseworker)
            fields = {**COMPLETE[regime], "signer_name": SUBJECT, "data_subject_name": SUBJECT}
            notice = notice_generate(request=request, draft=NoticeDraft.from_fields(fields), by=legal)
            if by_email:
                return notice_send(notice=notice, by=legal)
            return notice_submission_record(notice=notice, by=legal, reference="web form, ticket 7")

    return send


def test_sent_notices_since_the_date_with_their_outcome(send, legal):
    send(Regime.DMCA, at=MOMENT - dt.timedelta(days=30))  # before the period
    dmca = send(Regime.DMCA, at=MOMENT)
    gdpr = send(Regime.GDPR, at=MOMENT + dt.timedelta(days=1), by_email=False)
    with clock(MOMENT + dt.timedelta(days=2)):
        takedown_transition(request=dmca.takedown_request, action="record_removal", by=legal)
    export = transparency_export(since=MOMENT.date())
    assert export["format"] == "reclaim-transparency/1" and export["since"] == "2025-03-10"
    first, second = export["notices"]
    assert (first["id"], second["id"]) == (dmca.pk, gdpr.pk)
    assert first == {
        "id": dmca.pk, "type": "DMCA", "regime": "dmca", "regime_name": "DMCA 512(c)(3)",
        "sender_type": "person_depicted", "sender_organization_type": "victim_support_organisation",
        "recipient_name": "ExampleTube", "date_generated": "2025-03-10", "date_sent": "2025-03-10",
        "sent_via": "email",
        "works": [{"infringing_urls": [{"host": "video.example.com",
                                        "url_sha256": hashlib.sha256(URL.encode()).hexdigest()}]}],
        "known_copies": 0, "action_taken": "removed", "outcome_date": "2025-03-12",
    }
    assert (second["type"], second["sent_via"], second["action_taken"]) == ("DataProtection", "web_form", "pending")


def test_nothing_in_it_identifies_the_person_depicted(send, org):
    notice = send(Regime.GDPR, at=MOMENT)
    dumped = json.dumps(transparency_export(since=MOMENT.date()))
    case = notice.takedown_request.case
    for identifying in (SUBJECT, "robin", "Robin", "legal@support.example.org", case.reference, URL,
                        "/robin-private-person/", "Intimate images of the data subject", notice.pdf_sha256):
        assert identifying not in dumped, identifying
    assert "video.example.com" in dumped


def test_the_command_writes_the_export(send, tmp_path, org):
    send(Regime.DSA, at=MOMENT)
    out = tmp_path / "transparency.json"
    call_command("export_transparency", "--since", "2025-03-01", "--organization", org.slug, str(out))
    written = json.loads(out.read_text())
    assert [n["regime"] for n in written["notices"]] == ["dsa"] and written["organization"] == org.name
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("export_transparency", "--since", "last week", str(out))
