"""Re-encrypt face templates, reference photos and media item files under the first key of
FIELD_ENCRYPTION_KEYS.

Rotation (README, "Encryption at rest"): set FIELD_ENCRYPTION_KEYS=new,old and restart, run this
command, then drop the old key. Safe to run again: a value already under the first key is rewritten
under it, and a media file stored before media was encrypted is encrypted.
"""

from django.core.management.base import BaseCommand

from detection.services import encrypted_data_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt face templates, reference photos and media item files under the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        summary = encrypted_data_reencrypt()
        self.stdout.write(
            f"Re-encrypted {summary.face_templates} face templates, {summary.reference_photos} reference photo "
            f"files and {summary.media_files} media item files."
        )
