from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from casework.demo import DEMO_PASSWORD, DEMO_USERS, demo_seed


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
        self._two_factor()

    def _two_factor(self):
        """Staff sign-in needs a code (casework.middleware): each demo login gets an authenticator
        device whose key is printed, so a newcomer can add it to an app and sign in."""
        import base64

        from django.contrib.auth import get_user_model

        from casework.services.two_factor import totp_device_create_confirmed

        self.stdout.write("Two-factor codes: add a key to an authenticator app (or open its otpauth:// link):")
        for username, _ in DEMO_USERS:
            user = get_user_model().objects.get(username=username)
            device = totp_device_create_confirmed(user=user, name="Demo authenticator")
            secret = base64.b32encode(device.bin_key).decode().rstrip("=")
            self.stdout.write(f"  {username}: {secret}  {device.config_url}")
        self.stdout.write("Or print the current code with: python -m casework.demo_code <KEY>")
