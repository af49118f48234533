# Issue 17: existing findings take their subject's organisation. One UPDATE with a correlated subquery (the
# same SQL on SQLite and PostgreSQL), not a loop: it runs in seconds at 100,000 rows.

from django.db import migrations
from django.db.models import OuterRef, Subquery


def findings_organization_fill(apps, schema_editor):
    Subject = apps.get_model('casework', 'Subject')
    Finding = apps.get_model('detection', 'Finding')
    Finding.objects.filter(organization__isnull=True).update(
        organization_id=Subquery(Subject.objects.filter(pk=OuterRef('subject_id')).values('organization_id')[:1])
    )


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0001_initial'),  # Subject
        ('detection', '0007_finding_organization'),
    ]

    operations = [
        migrations.RunPython(findings_organization_fill, migrations.RunPython.noop),
    ]
