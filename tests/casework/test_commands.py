import json
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from casework.demo import DEMO_PASSWORD, DEMO_SUBJECT_NAME
from casework.demo_history import STORIES
from casework.models import AuditEvent, Subject, TakedownRequest
from casework.selectors import desk_for_user, metrics_for_user
from casework.services.audit import audit_verify
from detection.models import Finding, MediaItem


@pytest.fixture
def files(tmp_path, images) -> dict[str, Path]:
    paths = {}
    for name, data in images.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def enroll(org, consent_text, files, *extra):
    call_command("enroll", str(files["reference.jpg"]), "--organization", org.slug, "--name", "Pat",
                 "--consent-version", consent_text.version, "--signature", "Pat", *extra)


def test_enroll_then_scan_finds_the_subject(org, consent_text, files, capsys):
    enroll(org, consent_text, files)
    subject = Subject.objects.get(display_name="Pat")
    assert subject.face_templates.count() == 1
    call_command("scan", str(files["reported-astronaut.jpg"]), str(files["reported-coffee.jpg"]), "--json")
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [len(r["findings"]) for r in records] == [1, 0]
    assert records[0]["findings"][0]["subject"] == subject.pk and records[0]["faces"]
    indicators = {i["name"]: i for i in records[0]["indicators"]}
    assert "spectrum_high_frequency" in indicators and indicators["spectrum_high_frequency"]["meaning"]


def test_enroll_explains_what_is_wrong(org, consent_text, files):
    with pytest.raises(CommandError, match="No organisation"):
        call_command("enroll", str(files["reference.jpg"]), "--organization", "nope", "--name", "P",
                     "--consent-version", consent_text.version, "--signature", "P")
    with pytest.raises(CommandError, match="No face was found"):
        call_command("enroll", str(files["reported-coffee.jpg"]), "--organization", org.slug, "--name", "P",
                     "--consent-version", consent_text.version, "--signature", "P")
    assert not Subject.objects.exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_scan_exits_non_zero_when_a_file_fails_and_still_scans_the_rest(db, files, tmp_path, workers):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    with pytest.raises(CommandError) as error:
        call_command("scan", str(tmp_path), "--workers", workers)
    assert error.value.returncode == 1
    assert MediaItem.objects.filter(status=MediaItem.Status.DONE).count() == 3
    assert MediaItem.objects.get(original_name="broken.jpg").status == MediaItem.Status.FAILED


def test_demo_refuses_without_debug(db):
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo")


@override_settings(DEBUG=True)
def test_demo_creates_a_finding_to_review_and_is_idempotent(db, client, capsys):
    call_command("demo")
    call_command("demo")
    assert Finding.objects.count() == 1 and Subject.objects.filter(display_name=DEMO_SUBJECT_NAME).count() == 1
    assert TakedownRequest.objects.count() == len(STORIES) + 2  # the history, once
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out and "otpauth://totp/" in out
    response = client.post(reverse("login"), {"username": "casey", "password": DEMO_PASSWORD})
    assert response.status_code == 302 and int(client.session["_auth_user_id"]) > 0


@override_settings(DEBUG=True, PUBLIC_REPORTS_ORGANIZATION="demo")
def test_demo_shows_every_takedown_stage_months_of_metrics_and_prints_the_public_and_portal_links(db, client, capsys):
    call_command("demo", "--base-url", "http://demo.test:8000")
    out = capsys.readouterr().out
    assert "Public report form (for Demo Support Network): http://demo.test:8000/report/" in out
    [portal_link] = re.findall(r"http://demo\.test:8000(/portal/link/\S+)", out)
    assert client.post(portal_link).url == reverse("casework:portal_home")  # the link signs the subject in
    assert set(TakedownRequest.objects.values_list("state", flat=True)) == set(TakedownRequest.State.values)
    casey = get_user_model().objects.get(username="casey")
    desk = desk_for_user(casey)
    assert len(desk.at_risk) == 1 and len(desk.breached) == 1
    metrics = metrics_for_user(casey)
    assert set(metrics.sent) == {"PicShare", "ExampleTube", "ChatBoard", "ForumHost"}
    assert len(metrics.breached_per_month) >= 3 and metrics.hours_to_removal["PicShare"] < 10
    assert audit_verify() == []
    client.logout()
    client.force_login(casey)
    # Removal hours, removal rate, breaches, and the hash feed's uploads blocked per platform (demo_feed).
    assert client.get(reverse("casework:metrics")).content.decode().count("<svg") == 4


def test_verify_audit_command(org, caseworker):
    from casework.services.audit import audit_record

    audit_record(action="test", actor=caseworker, organization=org)
    call_command("verify_audit")
    AuditEvent.objects.update(action="edited")
    with pytest.raises(CommandError, match="fails verification"):
        call_command("verify_audit")
