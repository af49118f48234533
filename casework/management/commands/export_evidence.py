from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from casework.models import Case
from casework.services.evidence import evidence_pack_export, evidence_pack_verify


class Command(BaseCommand):
    help = "Write a case's evidence pack (ZIP: manifest.json, manifest.sha256, media, notices' PDFs, audit chain)."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="The case reference, e.g. RC-ABCD2345.")
        parser.add_argument("out", type=Path, help="Where to write the ZIP.")
        parser.add_argument("--by", help="Username recorded in the audit log as exporting it (default: system).")

    def handle(self, *args, reference, out, by=None, **options):
        case = Case.objects.select_related("organization", "subject").filter(reference=reference).first()
        if case is None:
            raise CommandError(f"No case has the reference {reference}.")
        user = None
        if by:
            user = get_user_model().objects.filter(username=by).first()
            if user is None:
                raise CommandError(f"No user is called {by}.")
        data = evidence_pack_export(case=case, by=user)
        out.write_bytes(data)
        check = evidence_pack_verify(data)
        self.stdout.write(self.style.SUCCESS(
            f"Evidence pack of {case.reference} written to {out} ({len(data)} bytes, "
            f"{len(check.manifest['files'])} files); manifest SHA-256 {check.manifest_sha256}."
        ))
