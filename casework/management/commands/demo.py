from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from casework.demo import DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Create demo data (DEBUG only): staff logins, a consented subject, and a finding to review."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data has known passwords; it is only created when DEBUG=1.")
        demo_seed(log=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(
            f"Demo logins (password for all: {DEMO_PASSWORD}): "
            "casey (caseworker), lee (legal staff), ada (admin, also /admin/)."
        ))
