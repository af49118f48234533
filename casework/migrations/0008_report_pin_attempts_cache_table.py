from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations, models

# The database cache's table (settings.CACHE_TABLE), made here so that `migrate` is all a deployment
# runs: a forgotten `createcachetable` would otherwise turn every rate-limited request into a 500.
# Made whatever CACHES says now, so that switching from Redis to the database later needs nothing.
CACHE_TABLE = "reclaim_cache"


def cache_table_create(apps, schema_editor):
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def cache_table_drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):

    dependencies = [
        ("casework", "0007_public_reports_portal"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="pin_failures",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="report",
            name="pin_failures_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(cache_table_create, cache_table_drop, elidable=False),
    ]
