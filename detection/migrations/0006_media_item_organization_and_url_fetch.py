# Issue 11: media items belong to the organisation that sent them (captures are one per organisation, so no
# organisation learns that another sent the same file), and a submitted URL is fetched by a task.
# Existing items keep no organisation: the constraint on captures without one is the old one.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0001_initial'),  # Organization; no later casework migration is needed
        ('detection', '0005_media_item_scan_claim'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='mediaitem',
            name='one_media_item_per_capture',
        ),
        migrations.AddField(
            model_name='mediaitem',
            name='found_media_items',
            field=models.ManyToManyField(blank=True, related_name='found_by', to='detection.mediaitem'),
        ),
        migrations.AddField(
            model_name='mediaitem',
            name='organization',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='media_items', to='casework.organization'),
        ),
        migrations.AlterField(
            model_name='mediaitem',
            name='sha256',
            field=models.CharField(blank=True, db_index=True, max_length=64),
        ),
        migrations.AlterField(
            model_name='mediaitem',
            name='status',
            field=models.CharField(choices=[('fetching', 'Fetching'), ('received', 'Received'), ('processing', 'Processing'), ('done', 'Done'), ('failed', 'Failed'), ('fetched', 'Fetched')], db_index=True, default='received', max_length=20),
        ),
        migrations.AddConstraint(
            model_name='mediaitem',
            constraint=models.UniqueConstraint(condition=models.Q(('sha256', ''), _negated=True), fields=('organization', 'sha256', 'source_url'), name='one_media_item_per_capture_and_organization'),
        ),
        migrations.AddConstraint(
            model_name='mediaitem',
            constraint=models.UniqueConstraint(condition=models.Q(('organization__isnull', True), models.Q(('sha256', ''), _negated=True)), fields=('sha256', 'source_url'), name='one_media_item_per_capture_without_organization'),
        ),
    ]
