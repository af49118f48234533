# Written by hand: only the scan bookkeeping of issue 11 ("Lost scans"), so that other model changes
# of the same round get their own migration.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0004_finding_template_and_suppression'),
    ]

    operations = [
        migrations.AddField(
            model_name='mediaitem',
            name='scan_queued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='mediaitem',
            name='scan_started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='mediaitem',
            name='scan_attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
