# Issue 17: existing takedown requests take their case's organisation. One UPDATE with a correlated
# subquery (the same SQL on SQLite and PostgreSQL), not a loop: it runs in seconds at 100,000 rows.

from django.db import migrations
from django.db.models import OuterRef, Subquery


def takedown_requests_organization_fill(apps, schema_editor):
    Case = apps.get_model('casework', 'Case')
    TakedownRequest = apps.get_model('casework', 'TakedownRequest')
    TakedownRequest.objects.filter(organization__isnull=True).update(
        organization_id=Subquery(Case.objects.filter(pk=OuterRef('case_id')).values('organization_id')[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0009_takedown_request_organization'),
    ]

    operations = [
        migrations.RunPython(takedown_requests_organization_fill, migrations.RunPython.noop),
    ]
