# Issue 13: a known video is registered by the MD5 of its file (StopNCII's VideoMD5).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('detection', '0011_crawling'),
    ]

    operations = [
        migrations.AlterField(
            model_name='knownimagehash',
            name='algorithm',
            field=models.CharField(choices=[('pdq', 'PDQ'), ('phash', 'pHash'), ('md5', 'MD5')], max_length=10),
        ),
    ]
