"""Working a case: who is on it, how urgent it is, its tags and its notes. One AuditEvent per change;
a change to the same value is no change and records nothing."""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from casework.models import Case, CaseNote, Membership
from casework.services.audit import audit_record
from detection.engine.errors import ReadableError

ASSIGNEE_NOT_MEMBER = _("{name} is not a member of this organisation, so the case cannot be assigned to them.")
UNKNOWN_PRIORITY = _("“{priority}” is not a priority; choose low, normal, high or urgent.")
TOO_MANY_TAGS = _("A case can have at most {limit} tags.")
TAG_TOO_LONG = _("The tag “{tag}…” is longer than {limit} characters.")
NOTE_EMPTY = _("Write the note before saving it.")

MAX_TAGS = 20
MAX_TAG_LENGTH = 40


class TriageError(ReadableError):
    pass


def _locked(case: Case) -> Case:
    # Two people changing the same case at once: each sees the other's value before comparing.
    return Case.objects.select_for_update().select_related("organization").get(pk=case.pk)


def case_assign(*, case: Case, assignee, by) -> Case:
    """Give the case to ``assignee`` (a member of its organisation), or to nobody with None."""
    if assignee is not None and not Membership.objects.filter(
        user=assignee, organization_id=case.organization_id
    ).exists():
        raise TriageError(ASSIGNEE_NOT_MEMBER.format(name=assignee.get_username()))
    with transaction.atomic():
        locked = _locked(case)
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        previous = locked.assignee_id
        locked.assignee = assignee
        locked.save(update_fields=["assignee"])
        audit_record(
            action="case.assigned", actor=by, organization=locked.organization, target=locked,
            data={"from": previous, "to": assignee.pk if assignee else None,
                  "assignee_name": assignee.get_username() if assignee else ""},
        )
    return locked


def case_priority_set(*, case: Case, priority: int, by) -> Case:
    try:
        priority = Case.Priority(int(priority))
    except (TypeError, ValueError):
        raise TriageError(UNKNOWN_PRIORITY.format(priority=priority)) from None
    with transaction.atomic():
        locked = _locked(case)
        if locked.priority == priority:
            return locked
        previous = Case.Priority(locked.priority)
        locked.priority = priority
        locked.save(update_fields=["priority"])
        with translation.override(None):  # the record keeps the labels' own words, whatever its writer reads
            labels = {"from_label": str(previous.label), "to_label": str(priority.label)}
        audit_record(
            action="case.priority_set", actor=by, organization=locked.organization, target=locked,
            data={"from": int(previous), "to": int(priority), **labels},
        )
    return locked


def tags_normalize(tags) -> list[str]:
    """Tags as stored: stripped, lower case, inner spaces single, no duplicates, sorted. A string is split
    on commas."""
    if isinstance(tags, str):
        tags = tags.split(",")
    cleaned = sorted({" ".join(str(tag).split()).lower() for tag in tags} - {""})
    for tag in cleaned:
        if len(tag) > MAX_TAG_LENGTH:
            raise TriageError(TAG_TOO_LONG.format(tag=tag[:MAX_TAG_LENGTH], limit=MAX_TAG_LENGTH))
    if len(cleaned) > MAX_TAGS:
        raise TriageError(TOO_MANY_TAGS.format(limit=MAX_TAGS))
    return cleaned


def case_tags_set(*, case: Case, tags, by) -> Case:
    tags = tags_normalize(tags)
    with transaction.atomic():
        locked = _locked(case)
        if locked.tags == tags:
            return locked
        previous = locked.tags
        locked.tags = tags
        locked.save(update_fields=["tags"])
        audit_record(
            action="case.tags_set", actor=by, organization=locked.organization, target=locked,
            data={"from": previous, "tags": tags},
        )
    return locked


def case_note_add(*, case: Case, body: str, by) -> CaseNote:
    """Add a note. The audit event records that a note was written, not its words: the audit log can
    never be edited, and a note may hold what a survivor later asks to have removed."""
    if not body.strip():
        raise TriageError(NOTE_EMPTY)
    with transaction.atomic():
        note = CaseNote.objects.create(case=case, author=by, body=body.strip())
        audit_record(
            action="case.note_added", actor=by, organization=case.organization, target=note,
            data={"case": case.pk, "length": len(note.body)},
        )
    return note
