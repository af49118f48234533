"""Re-encrypt reference photos and face templates under the first key of FIELD_ENCRYPTION_KEYS.

Rotation (README, "Encryption at rest"): set FIELD_ENCRYPTION_KEYS=new,old and restart, run this
command, then drop the old key. Safe to run again: a value already under the first key is rewritten
under it.
"""

from django.core.management.base import BaseCommand

from detection.services import biometrics_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt reference photos and face templates under the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        summary = biometrics_reencrypt()
        self.stdout.write(
            f"Re-encrypted {summary.face_templates} face templates and {summary.reference_photos} reference photo files."
        )
