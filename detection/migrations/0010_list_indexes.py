# Issue 17: the review queue and the desk's count read one organisation's waiting findings from this index.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0009_finding_organization_required'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='finding',
            index=models.Index(fields=['organization', 'status', 'created_at'], name='finding_org_status_created'),
        ),
    ]
