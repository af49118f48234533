from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from casework.demo import DEMO_PASSWORD, DEMO_SUBJECT_EMAIL, DEMO_USERS, demo_seed


class Command(BaseCommand):
    help = "Create demo data (DEBUG only): staff logins, a consented subject, and a finding to review."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000",
                            help="Where the demo is served, for the links it prints.")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data has known passwords; it is only created when DEBUG=1.")
        demo_seed(log=self.stdout.write, base_url=options["base_url"])
        base = options["base_url"].rstrip("/")
        self.stdout.write(self.style.SUCCESS(
            f"Demo logins (password for all: {DEMO_PASSWORD}): "
            "casey (caseworker), lee (legal staff), ada (admin, also /admin/)."
        ))
        self._two_factor()
        self._public_and_portal(base)

    def _public_and_portal(self, base: str):
        """The two people without a staff login: someone reporting, and the demo subject."""
        from django.urls import reverse

        from casework.models import Subject
        from casework.services.portal import portal_link_token
        from casework.services.reports import public_reports_organization

        organization = public_reports_organization()
        if organization is None:
            self.stdout.write("Public report form: not taking reports (set PUBLIC_REPORTS_ORGANIZATION=demo).")
        else:
            self.stdout.write(f"Public report form (for {organization.name}): {base}{reverse('casework:public_report')}")
        subject = Subject.objects.filter(contact_email=DEMO_SUBJECT_EMAIL).first()
        if subject is not None:
            link = reverse("casework:portal_link", args=[portal_link_token(subject=subject)])
            self.stdout.write(
                f"Subject portal for {subject.display_name} (sign-in link, works once, for "
                f"{settings.PORTAL_LINK_MINUTES} minutes; `manage.py demo` prints a new one): {base}{link}"
            )

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
