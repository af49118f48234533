"""Reports from the public: filed without an account, followed with a reference and a PIN.

The PIN is shown once, when the report is filed, and kept only as a password hash, like StopNCII's
case number and PIN. Imagery of a person who was under 18 in it is never accepted
(casework.services.minors says why); a reporter who does not know their age is treated the same way
for imagery, because holding it is the risk whatever the answer would have been.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from casework.models import Organization, Report, ReporterRole
from casework.services.audit import audit_record
from casework.services.cases import new_reference
from casework.services.minors import MinorImageryRefused
from detection import services as detection
from detection.engine.errors import ReadableError
from detection.models import MediaItem

IWF_REPORT_URL = "https://report.iwf.org.uk"
PIN_DIGITS = 8
PIN_ATTEMPT_WINDOW_S = 60 * 60
MAX_URLS = 50

NOT_CONFIGURED = (
    "Reports cannot be made on this site yet: no organisation has been set up to receive them. "
    "Nothing you type here would reach anyone."
)
NOTHING_REPORTED = "Tell us where the content is (a web address), describe it, or add a file."
MINOR_UPLOAD_REFUSED = (
    "We cannot accept images or videos of a person who may have been under 18 in them, so nothing was "
    "uploaded. Use NCMEC's Take It Down (takeitdown.ncmec.org) or the IWF (report.iwf.org.uk) instead: "
    "they can get it removed without anyone sending them the image."
)
TOO_MANY_URLS = "Give at most {max} web addresses at a time; you can add more later on the status page."
PIN_WRONG = "That reference and PIN do not match a report. Check both and try again."
PIN_LOCKED = (
    "Too many wrong PINs were entered for this reference, so we have paused checking it to keep your "
    "report safe. Please try again in an hour."
)
REPORT_CLOSED = "This report is closed, so nobody would read what you add. Please make a new report instead."
NOTHING_TO_ADD = "Add a web address or a note."


class ReportError(ReadableError):
    pass


@dataclass(frozen=True)
class ReportReceipt:
    """The filed report and its PIN: the only time the PIN exists outside its hash."""

    report: Report
    pin: str


def public_reports_organization() -> Organization | None:
    slug = settings.PUBLIC_REPORTS_ORGANIZATION
    return Organization.objects.filter(slug=slug).first() if slug else None


def _pin_new() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))


def report_submit(
    *,
    organization: Organization,
    reporter_role: str,
    urls: list[str],
    depicts_minor: bool | None,
    description: str = "",
    contact_email: str = "",
    upload: tuple[str, bytes] | None = None,
) -> ReportReceipt:
    """File a report the reporter has confirmed; the upload, if any, is ingested and scanned only now."""
    ReporterRole(reporter_role)  # a bad role is a programming error: the form offers only these
    if upload is not None and depicts_minor is not False:
        raise MinorImageryRefused(MINOR_UPLOAD_REFUSED)
    if len(urls) > MAX_URLS:
        raise ReportError(TOO_MANY_URLS.format(max=MAX_URLS))
    if not urls and not description.strip() and upload is None:
        raise ReportError(NOTHING_REPORTED)
    pin = _pin_new()
    with transaction.atomic():
        report = Report.objects.create(
            organization=organization,
            reference=new_reference("RR"),
            pin_hash=make_password(pin),
            reporter_role=reporter_role,
            urls="\n".join(urls),
            description=description.strip(),
            contact_email=contact_email,
            depicts_minor=depicts_minor,
        )
        media = []
        if upload is not None:
            filename, data = upload
            item = detection.media_ingest(data=data, source=MediaItem.Source.REPORT, original_name=filename)
            report.media_items.add(item)
            media.append({"media_item": item.pk, "sha256": item.sha256})
            if item.status == MediaItem.Status.RECEIVED:
                detection.media_scan_enqueue(item)
        audit_record(
            action="report.received", actor=None, organization=organization, target=report,
            data={"reference": report.reference, "reporter_role": reporter_role, "urls": len(urls),
                  "depicts_minor": depicts_minor, "media": media, "contact_given": bool(contact_email)},
        )
    return ReportReceipt(report=report, pin=pin)


def _attempts_key(reference: str) -> str:
    return f"casework:report-pin-failures:{reference}"


def report_unlock(*, reference: str, pin: str) -> Report:
    """The report with this reference, if the PIN is its PIN.

    Wrong PINs are counted per reference in the cache for an hour; past the limit even the right PIN
    is refused until the hour is over, so a PIN cannot be guessed by trying them all.
    """
    reference = reference.strip().upper()
    key = _attempts_key(reference)
    if cache.get(key, 0) >= settings.PUBLIC_REPORT_PIN_ATTEMPTS:
        raise ReportError(PIN_LOCKED)
    report = Report.objects.filter(reference=reference).select_related("organization").first()
    # Against an unusable hash Django still runs the hasher once, so timing does not tell which references exist.
    matched = check_password(pin.strip(), report.pin_hash if report else make_password(None))
    if report is not None and matched:
        return report
    cache.add(key, 0, timeout=PIN_ATTEMPT_WINDOW_S)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=PIN_ATTEMPT_WINDOW_S)
        failures = 1
    if report is not None and failures == settings.PUBLIC_REPORT_PIN_ATTEMPTS:
        # Recorded once per lock, on the report that someone may be trying to break into.
        audit_record(action="report.pin_locked", actor=None, organization=report.organization, target=report,
                     data={"failures": failures})
    raise ReportError(PIN_WRONG)


def report_information_add(*, report: Report, urls: list[str], note: str = "") -> Report:
    """Add web addresses or a note from the reporter. The note is appended, dated, never replaces."""
    note = note.strip()
    with transaction.atomic():
        # Two tabs adding at once must not overwrite each other's addresses.
        locked = Report.objects.select_for_update().select_related("organization").get(pk=report.pk)
        if locked.status == Report.Status.CLOSED:
            raise ReportError(REPORT_CLOSED)
        known = locked.urls.split()
        new_urls = [url for url in dict.fromkeys(urls) if url not in known]
        if not new_urls and not note:
            raise ReportError(NOTHING_TO_ADD)
        if len(new_urls) > MAX_URLS:
            raise ReportError(TOO_MANY_URLS.format(max=MAX_URLS))
        fields = []
        if new_urls:
            locked.urls = "\n".join(known + new_urls)
            fields.append("urls")
        if note:
            stamp = timezone.now().strftime("%Y-%m-%d %H:%M UTC")
            locked.description = (locked.description + f"\n\nAdded by the reporter on {stamp}:\n{note}").strip()
            fields.append("description")
        locked.save(update_fields=fields)
        audit_record(action="report.information_added", actor=None, organization=locked.organization,
                     target=locked, data={"urls_added": len(new_urls), "note_added": bool(note)})
    return locked

