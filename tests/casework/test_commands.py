import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from casework.demo import DEMO_PASSWORD
from casework.models import AuditEvent, Subject
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
    assert Finding.objects.count() == 1 and Subject.objects.count() == 1
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out and "otpauth://totp/" in out
    response = client.post(reverse("login"), {"username": "casey", "password": DEMO_PASSWORD})
    assert response.status_code == 302 and int(client.session["_auth_user_id"]) > 0


def test_verify_audit_command(org, caseworker):
    from casework.services.audit import audit_record

    audit_record(action="test", actor=caseworker, organization=org)
    call_command("verify_audit")
    AuditEvent.objects.update(action="edited")
    with pytest.raises(CommandError, match="fails verification"):
        call_command("verify_audit")
