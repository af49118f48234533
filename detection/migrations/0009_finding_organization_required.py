# Issue 17: every finding now has its subject's organisation (0008), and every new one is written with it
# (detection.services._likeness_finding_write and _hash_finding_write).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0008_finding_organization_backfill'),
    ]

    operations = [
        migrations.AlterField(
            model_name='finding',
            name='organization',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='findings', to='casework.organization'),
        ),
    ]
