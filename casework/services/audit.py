"""The append-only, hash-chained audit log.

Each event's hash covers its own fields and the previous event's hash, so editing, deleting or
reordering any row breaks the chain from that row on (``audit_verify`` finds where).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from casework.models import AuditChainHead, AuditEvent, Organization

GENESIS = "0" * 64


def audit_payload(event: AuditEvent) -> dict:
    """What an event's hash covers. Evidence packs carry it, so a pack's events verify offline."""
    return {
        "id": event.pk,
        "at": event.at.isoformat(),
        "actor": event.actor_label,
        "organization": event.organization_id,
        "action": event.action,
        "target": [event.target_type, event.target_id],
        "data": event.data,
        "prev": event.prev_hash,
    }


def audit_payload_digest(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _digest(event: AuditEvent) -> str:
    return audit_payload_digest(audit_payload(event))


def _actor_label(actor) -> str:
    if actor is None:
        return "system"
    return f"user:{actor.pk}:{actor.get_username()}"


def audit_record(
    *,
    action: str,
    actor,
    organization: Organization | None,
    target: models.Model | None = None,
    data: dict | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """``actor_label`` names an actor that is no user (a platform of the hash feed); by default the user's."""
    with transaction.atomic():
        # The head row serialises appends: two writers reading the same "last hash" would fork the chain.
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1, defaults={"last_hash": GENESIS})
        event = AuditEvent.objects.create(
            at=timezone.now(),
            actor=actor,
            actor_label=actor_label or _actor_label(actor),
            organization=organization,
            action=action,
            target_type=target._meta.label_lower if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            data=data or {},
            prev_hash=head.last_hash,
            hash="pending-" + timezone.now().isoformat(),
        )
        # The id is part of the hash (so a reorder shows), and is only known after the insert.
        event.refresh_from_db(fields=["at", "data"])  # hash what the database stores (rounding, JSON)
        event.hash = _digest(event)
        AuditEvent.objects.filter(pk=event.pk).update(hash=event.hash)
        head.last_hash = event.hash
        head.save(update_fields=["last_hash"])
    return event


@dataclass(frozen=True)
class AuditProblem:
    event_id: int | None
    problem: str


AUDIT_EDITED = "event #{id} does not match its hash: it was edited"
AUDIT_BROKEN_LINK = "event #{id} does not follow the event before it: an event was deleted or reordered"
AUDIT_HEAD_MISMATCH = "the newest events were deleted: the chain ends before its recorded head"


def audit_verify() -> list[AuditProblem]:
    problems: list[AuditProblem] = []
    previous = GENESIS
    for event in AuditEvent.objects.order_by("id").iterator():
        if event.prev_hash != previous:
            problems.append(AuditProblem(event.pk, AUDIT_BROKEN_LINK.format(id=event.pk)))
        if _digest(event) != event.hash:
            problems.append(AuditProblem(event.pk, AUDIT_EDITED.format(id=event.pk)))
        previous = event.hash
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != previous:
        problems.append(AuditProblem(None, AUDIT_HEAD_MISMATCH))
    return problems
