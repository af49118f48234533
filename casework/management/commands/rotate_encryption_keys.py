"""Re-encrypt everything stored encrypted under the first key of FIELD_ENCRYPTION_KEYS: face
templates, reference photos and media item files (detection), and consent authority documents.

It lives in casework because it covers both apps (casework may import detection, not the reverse).
Rotation (README, "Encryption at rest"): set FIELD_ENCRYPTION_KEYS=new,old and restart, run this
command, then drop the old key. Safe to run again: a value already under the first key is rewritten
under it, and a file stored before its kind was encrypted is encrypted.
"""

from django.core.management.base import BaseCommand

from casework.services.consent import authority_documents_reencrypt
from detection.services import encrypted_data_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt face templates, reference photos, media item files and consent authority documents " \
           "under the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        summary = encrypted_data_reencrypt()
        documents = authority_documents_reencrypt()
        self.stdout.write(
            f"Re-encrypted {summary.face_templates} face templates, {summary.reference_photos} reference photo "
            f"files, {summary.media_files} media item files and {documents} consent authority documents."
        )
