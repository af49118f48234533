from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from casework.services.evidence import evidence_pack_anchor_check, evidence_pack_verify

PROVES = (
    "This proves the pack is intact: no file was changed, added or removed since its manifest was hashed, and "
    "the case's audit events hash correctly and link into one unbroken chain ending at the head it records. "
    "A hash can be recomputed by whoever edits a pack; that the pack is the one Reclaim exported is shown by "
    "its manifest SHA-256 in Reclaim's audit log (--against-audit-log, or ask the organisation to confirm it)."
)


class Command(BaseCommand):
    help = "Verify an evidence pack offline: files against the manifest, the manifest, the audit chain."

    def add_arguments(self, parser):
        parser.add_argument("pack", type=Path)
        parser.add_argument(
            "--against-audit-log", action="store_true",
            help="Also check this database's audit log recorded the export of exactly this manifest.",
        )

    def handle(self, *args, pack, against_audit_log=False, **options):
        try:
            data = pack.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {pack}: {exc}") from None
        check = evidence_pack_verify(data)
        problems = list(check.problems)
        if against_audit_log and check.manifest is not None:
            problems += evidence_pack_anchor_check(check)
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"The evidence pack fails verification ({len(problems)} problem(s)).")
        manifest = check.manifest
        audit = manifest["audit"]
        self.stdout.write(self.style.SUCCESS(
            f"Evidence pack of {manifest['case']['reference']} verified: {len(manifest['files'])} files, "
            f"{len(audit['events'])} audit events in a chain of {len(audit['chain'])} ending at {audit['chain_head']}; "
            f"manifest SHA-256 {check.manifest_sha256}"
            + (", recorded in the audit log." if against_audit_log else ".")
        ))
        self.stdout.write(PROVES)
