# Issue 17: a finding carries its subject's organisation, so one organisation's review queue reads its own
# rows from an index. Three steps, each its own migration and transaction: add the column empty, fill it
# (0008), then require it (0009). On PostgreSQL the fill leaves deferred foreign-key checks pending until
# commit, and ALTER TABLE refuses to run in the same transaction.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0001_initial'),  # Organization
        ('detection', '0006_media_item_organization_and_url_fetch'),
    ]

    operations = [
        migrations.AddField(
            model_name='finding',
            name='organization',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='findings', to='casework.organization'),
        ),
    ]
