from django.core.management.base import BaseCommand, CommandError

from casework.models import AuditEvent
from casework.services.audit import audit_verify


class Command(BaseCommand):
    help = "Check the hash chain of the audit log; exit non-zero if any event was edited, deleted or reordered."

    def handle(self, *args, **options):
        problems = audit_verify()
        for problem in problems:
            self.stderr.write(problem.problem)
        if problems:
            raise CommandError(f"The audit log fails verification ({len(problems)} problem(s)).")
        self.stdout.write(self.style.SUCCESS(f"Audit log intact: {AuditEvent.objects.count()} events verified."))
