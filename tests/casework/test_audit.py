import pytest

from casework.models import AuditChainHead, AuditEvent
from casework.services.audit import AUDIT_HEAD_MISMATCH, audit_record, audit_verify


@pytest.fixture
def chain(org, caseworker):
    return [audit_record(action=f"test.{n}", actor=caseworker, organization=org, data={"n": n}) for n in range(4)]


def test_an_untouched_chain_verifies(chain):
    assert audit_verify() == []
    assert [e.prev_hash for e in chain[1:]] == [e.hash for e in chain[:-1]]


def test_an_edited_event_is_caught(chain):
    AuditEvent.objects.filter(pk=chain[1].pk).update(data={"n": 99})
    assert [p.event_id for p in audit_verify()] == [chain[1].pk]


def test_a_deleted_event_is_caught(chain):
    AuditEvent.objects.filter(pk=chain[2].pk).delete()
    assert [p.event_id for p in audit_verify()] == [chain[3].pk]


def test_a_deleted_newest_event_is_caught(chain):
    AuditEvent.objects.filter(pk=chain[3].pk).delete()
    assert [p.problem for p in audit_verify()] == [AUDIT_HEAD_MISMATCH]


def test_a_reordered_pair_is_caught(chain):
    a, b = AuditEvent.objects.get(pk=chain[1].pk), AuditEvent.objects.get(pk=chain[2].pk)
    fields = ["at", "action", "data", "prev_hash", "hash"]
    swapped = {f: getattr(b, f) for f in fields}, {f: getattr(a, f) for f in fields}
    AuditEvent.objects.filter(pk=a.pk).update(hash="x" * 64)  # free the unique hash while swapping
    AuditEvent.objects.filter(pk=b.pk).update(**swapped[1])
    AuditEvent.objects.filter(pk=a.pk).update(**swapped[0])
    assert audit_verify()


def test_the_head_follows_the_newest_event(chain):
    assert AuditChainHead.objects.get().last_hash == chain[-1].hash
