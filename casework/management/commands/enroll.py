"""Enrol a subject: consent to a published consent text, and one or more reference photos."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError

from casework.models import ConsentMethod, ConsentPurpose, ConsentText, Organization
from casework.services.consent import ConsentError, subject_enroll
from detection.services import EnrolmentError


class Command(BaseCommand):
    help = "Enrol a subject with consent and reference photos (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("photos", nargs="+", type=Path, help="Reference photos, each showing only the subject.")
        parser.add_argument("--organization", required=True, help="Slug of the organisation the subject belongs to.")
        parser.add_argument("--name", required=True, help="Display name (a pseudonym is fine).")
        parser.add_argument("--consent-version", required=True, help="Version of the published consent text.")
        parser.add_argument("--consent-language", default="en",
                            help="Language of the consent text the person read (a version exists once per language).")
        parser.add_argument("--signature", required=True, help="Typed name of the person who consented.")
        parser.add_argument("--method", choices=ConsentMethod.values, default=ConsentMethod.PAPER_WITNESSED)
        parser.add_argument("--authority-document", type=Path,
                            help="With --method representative: the document giving the representative authority.")
        parser.add_argument("--purpose", action="append", choices=ConsentPurpose.values, dest="purposes")
        parser.add_argument("--email", default="", help="Subject's contact e-mail (optional).")
        parser.add_argument("--by", help="Username of the staff member recording the consent.")

    def handle(self, *args, **options):
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organisation with slug {options['organization']!r}.") from None
        try:
            text = ConsentText.objects.get(version=options["consent_version"], language=options["consent_language"])
        except ConsentText.DoesNotExist:
            raise CommandError(f"No consent text with version {options['consent_version']!r} "
                               f"in language {options['consent_language']!r}.") from None
        by = None
        if options["by"]:
            by = get_user_model().objects.filter(username=options["by"]).first()
            if by is None:
                raise CommandError(f"No user {options['by']!r}.")
        photos = []
        for path in options["photos"]:
            try:
                photos.append((path.name, path.read_bytes()))
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}") from None
        authority = None
        if options["authority_document"]:
            path = options["authority_document"]
            try:
                authority = ContentFile(path.read_bytes(), name=path.name)
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}") from None
        try:
            subject = subject_enroll(
                organization=organization,
                display_name=options["name"],
                contact_email=options["email"],
                text=text,
                purposes=options["purposes"],
                method=options["method"],
                signature=options["signature"],
                authority_document=authority,
                photos=photos,
                by=by,
            )
        except (ConsentError, EnrolmentError) as exc:
            raise CommandError(exc.reason) from None
        self.stdout.write(self.style.SUCCESS(f"Enrolled subject {subject.pk} ({subject}) with {len(photos)} reference photo(s)."))
