"""Issue a partner organisation's API token. The token is printed once; only its SHA-256 is kept."""

from django.core.management.base import BaseCommand, CommandError

from casework.models import Organization, Role
from casework.services.api_tokens import ApiTokenError, api_token_create


class Command(BaseCommand):
    help = "Create an API token for a partner organisation and print it (once)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="Slug of the partner organisation.")
        parser.add_argument("--name", required=True, help="What the token is for, e.g. “ExampleTube crawler”.")
        parser.add_argument("--role", choices=Role.values, default=Role.CASEWORKER,
                            help="The token's role: which takedown actions it may take (default caseworker).")

    def handle(self, *args, **options):
        try:
            organization = Organization.objects.get(slug=options["organization"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organisation with slug {options['organization']!r}.") from None
        try:
            issued = api_token_create(organization=organization, name=options["name"], role=options["role"])
        except ApiTokenError as exc:
            raise CommandError(exc.reason) from None
        self.stderr.write(f"Token “{issued.token.name}” for {organization}. It is shown only now; store it safely.")
        self.stdout.write(issued.plaintext)
