import datetime as dt
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from casework.models import Organization
from casework.services.transparency import transparency_export


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since takes a date as YYYY-MM-DD, not “{value}”.") from None


class Command(BaseCommand):
    help = "Write redacted metadata of the notices sent since a date (Lumen-like JSON, nothing identifying victims)."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="YYYY-MM-DD: notices sent on or after this day (UTC).")
        parser.add_argument("--organization", help="Only this organisation's notices (its slug).")
        parser.add_argument("out", type=Path)

    def handle(self, *args, since, out, organization=None, **options):
        org = None
        if organization:
            org = Organization.objects.filter(slug=organization).first()
            if org is None:
                raise CommandError(f"No organisation has the slug {organization}.")
        export = transparency_export(since=_date(since), organization=org)
        out.write_text(json.dumps(export, indent=2, ensure_ascii=False) + "\n")
        self.stdout.write(self.style.SUCCESS(f"{len(export['notices'])} notice(s) written to {out}."))
