import pytest
from django.core.management import CommandError, call_command

from casework.models import AuditChainHead, AuditEvent
from casework.services.audit import (
    AUDIT_BROKEN_LINK,
    AUDIT_EDITED,
    AUDIT_HEAD_MISMATCH,
    AuditProblem,
    audit_payload,
    audit_payload_digest,
    audit_record,
    audit_verify,
)


@pytest.fixture
def chain(org, caseworker):
    return [audit_record(action=f"test.{n}", actor=caseworker, organization=org, data={"n": n}) for n in range(4)]


def test_an_untouched_chain_verifies(chain):
    assert audit_verify() == []
    assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]


def test_an_edited_event_is_caught(chain):
    AuditEvent.objects.filter(pk=chain[1].pk).update(data={"n": 99})
    assert audit_verify() == [AuditProblem(chain[1].pk, AUDIT_EDITED.format(id=chain[1].pk))]


def test_an_edited_event_with_a_recomputed_hash_is_caught_by_the_next_link(chain):
    event = AuditEvent.objects.get(pk=chain[1].pk)
    event.data = {"n": 99}
    AuditEvent.objects.filter(pk=event.pk).update(data=event.data, hash=audit_payload_digest(audit_payload(event)))
    assert audit_verify() == [AuditProblem(chain[2].pk, AUDIT_BROKEN_LINK.format(id=chain[2].pk))]


def test_a_deleted_event_is_caught(chain):
    AuditEvent.objects.filter(pk=chain[2].pk).delete()
    assert audit_verify() == [AuditProblem(chain[3].pk, AUDIT_BROKEN_LINK.format(id=chain[3].pk))]


def test_a_deleted_newest_event_is_caught(chain):
    AuditEvent.objects.filter(pk=chain[3].pk).delete()
    assert [p.problem for p in audit_verify()] == [AUDIT_HEAD_MISMATCH]


def _swap_contents(a_pk: int, b_pk: int) -> None:
    """Reorder two events by swapping everything but their ids (the ids stay in sequence)."""
    a, b = AuditEvent.objects.get(pk=a_pk), AuditEvent.objects.get(pk=b_pk)
    fields = ["at", "action", "data", "prev_hash", "hash"]
    swapped = {f: getattr(b, f) for f in fields}, {f: getattr(a, f) for f in fields}
    AuditEvent.objects.filter(pk=a.pk).update(hash="x" * 64)  # free the unique hash while swapping
    AuditEvent.objects.filter(pk=b.pk).update(**swapped[1])
    AuditEvent.objects.filter(pk=a.pk).update(**swapped[0])


def test_a_reordered_pair_is_caught(chain):
    _swap_contents(chain[1].pk, chain[2].pk)
    problems = audit_verify()
    # The first moved event no longer follows its predecessor, and neither hashes with its new id.
    assert AuditProblem(chain[1].pk, AUDIT_BROKEN_LINK.format(id=chain[1].pk)) in problems
    assert {p.event_id for p in problems if p.problem == AUDIT_EDITED.format(id=p.event_id)} == {
        chain[1].pk, chain[2].pk}


def test_a_pair_reordered_by_swapping_ids_is_caught(chain):
    a, b = chain[1].pk, chain[2].pk
    spare = chain[-1].pk + 100
    AuditEvent.objects.filter(pk=a).update(id=spare)
    AuditEvent.objects.filter(pk=b).update(id=a)
    AuditEvent.objects.filter(pk=spare).update(id=b)
    problems = audit_verify()
    assert AuditProblem(a, AUDIT_BROKEN_LINK.format(id=a)) in problems
    assert AuditProblem(a, AUDIT_EDITED.format(id=a)) in problems


@pytest.mark.parametrize("tamper", ["edit", "delete", "delete_newest", "reorder"])
def test_the_verify_audit_command_fails_on_each_tampering(chain, tamper, capsys):
    call_command("verify_audit")
    if tamper == "edit":
        AuditEvent.objects.filter(pk=chain[1].pk).update(action="test.innocent")
    elif tamper == "delete":
        AuditEvent.objects.filter(pk=chain[2].pk).delete()
    elif tamper == "delete_newest":
        AuditEvent.objects.filter(pk=chain[-1].pk).delete()
    else:
        _swap_contents(chain[1].pk, chain[2].pk)
    with pytest.raises(CommandError, match="fails verification"):
        call_command("verify_audit")
    assert capsys.readouterr().err.strip()  # it says which event and what happened


def test_the_head_follows_the_newest_event(chain):
    assert AuditChainHead.objects.get().last_hash == chain[-1].hash
