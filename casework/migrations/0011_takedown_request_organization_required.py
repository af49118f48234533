# Issue 17: every takedown request now has its case's organisation (0010), and every new one is written
# with it (casework.services.cases.takedown_request_create).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0010_takedown_request_organization_backfill'),
    ]

    operations = [
        migrations.AlterField(
            model_name='takedownrequest',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='takedown_requests', to='casework.organization'),
        ),
    ]
