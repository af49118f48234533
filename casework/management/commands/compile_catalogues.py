from django.conf import settings
from django.core.management.base import BaseCommand

from config.catalogues import catalogues_compile


class Command(BaseCommand):
    help = ("Compile locale/*/LC_MESSAGES/*.po into .mo files with polib (no system gettext needed), and print "
            "each catalogue's translated, untranslated and fuzzy entries. The install step runs the same code.")

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Write every .mo, even where it is newer than its .po.")

    def handle(self, *args, **options):
        for locale_dir in settings.LOCALE_PATHS:
            for stats in catalogues_compile(locale_dir, force=options["force"]):
                self.stdout.write(str(stats))
