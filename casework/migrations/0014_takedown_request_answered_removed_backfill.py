"""Fill answered_at and removed_at of requests sent before they existed, from the audit trail: the first
answer (acknowledged, removed, refused) and the first removal since the request was (last) sent."""

from django.db import migrations
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast

# The transitions as they stood when this was written (casework.services.takedowns).
ANSWERED = ["takedown_request.acknowledge", "takedown_request.record_removal", "takedown_request.record_refusal"]
REMOVED = ["takedown_request.record_removal"]


def backfill(apps, schema_editor):
    TakedownRequest = apps.get_model("casework", "TakedownRequest")
    AuditEvent = apps.get_model("casework", "AuditEvent")

    def first(actions):
        return Subquery(
            AuditEvent.objects.filter(
                target_type="casework.takedownrequest",
                target_id=Cast(OuterRef("pk"), output_field=CharField()),
                action__in=actions,
                at__gte=OuterRef("sent_at"),
            ).order_by("at").values("at")[:1]
        )

    TakedownRequest.objects.filter(sent_at__isnull=False).update(answered_at=first(ANSWERED), removed_at=first(REMOVED))


class Migration(migrations.Migration):
    dependencies = [("casework", "0013_takedown_request_answered_removed")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
