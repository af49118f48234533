# Issue 13: a known video is also registered by the hashes of its sampled frames (vPDQ), so that a
# re-encoded copy is found, not only the same bytes.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0012_known_hash_md5'),
    ]

    operations = [
        migrations.CreateModel(
            name='KnownVideo',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('frames', models.JSONField()),
                ('fingerprint', models.CharField(max_length=64)),
                ('label', models.CharField(blank=True, max_length=200)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('subject', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='known_videos', to='casework.subject')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('subject', 'fingerprint'), name='known_video_once_per_subject')],
            },
        ),
    ]
