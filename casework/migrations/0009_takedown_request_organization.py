# Issue 17: a takedown request carries its case's organisation, so one organisation's lists (the desk, the
# API) read their own rows from an index. Three steps, each its own migration and transaction: add the
# column empty, fill it (0010), then require it (0011). On PostgreSQL the fill leaves deferred foreign-key
# checks pending until commit, and ALTER TABLE refuses to run in the same transaction.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0008_report_pin_attempts_cache_table'),
    ]

    operations = [
        migrations.AddField(
            model_name='takedownrequest',
            name='organization',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='takedown_requests', to='casework.organization'),
        ),
    ]
