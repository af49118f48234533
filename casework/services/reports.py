"""Reports from the public: filed without an account, followed with a reference and a PIN.

The PIN is shown once, when the report is filed, and kept only as a password hash, like StopNCII's
case number and PIN. Imagery of a person who was under 18 in it is never accepted
(casework.services.minors says why); a reporter who does not know their age is treated the same way
for imagery, because holding it is the risk whatever the answer would have been.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.models import Organization, Report, ReporterRole
from casework.ratelimit import rate_limit_hit
from casework.services.audit import audit_record
from casework.services.cases import new_reference
from casework.services.known_hashes import known_hashes_parse
from casework.services.minors import MinorImageryRefused
from detection import services as detection
from detection.engine.errors import ReadableError
from detection.models import MediaItem

IWF_REPORT_URL = "https://report.iwf.org.uk"
PIN_DIGITS = 8
PIN_ATTEMPT_WINDOW_S = 60 * 60
MAX_URLS = 50

NOT_CONFIGURED = _(
    "Reports cannot be made on this site yet: no organisation has been set up to receive them. "
    "Nothing you type here would reach anyone."
)
NOTHING_REPORTED = _("Tell us where the content is (a web address), describe it, or add a file.")
# Hashes are not imagery, but the minors rule stays where it was: those reports go to Take It Down, which
# exists for exactly this (hashes made on the device, shared with platforms), and Reclaim keeps none.
MINOR_HASHES_REFUSED = _(
    "We cannot take images or their hashes of a person who may have been under 18 in them, so none were kept. "
    "NCMEC's Take It Down (takeitdown.ncmec.org) makes the hashes on your device and shares them with platforms."
)
MINOR_UPLOAD_REFUSED = _(
    "We cannot accept images or videos of a person who may have been under 18 in them, so nothing was "
    "uploaded. Use NCMEC's Take It Down (takeitdown.ncmec.org) or the IWF (report.iwf.org.uk) instead: "
    "they can get it removed without anyone sending them the image."
)
TOO_MANY_URLS = _("Give at most {max} web addresses at a time; you can add more later on the status page.")
PIN_WRONG = _("That reference and PIN do not match a report. Check both and try again.")
PIN_LOCKED = _(
    "Too many wrong PINs were entered for this reference, so we have paused checking it to keep your "
    "report safe. Please try again in an hour."
)
REPORT_CLOSED = _("This report is closed, so nobody would read what you add. Please make a new report instead.")
NOTHING_TO_ADD = _("Add a web address or a note.")


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
    known_hashes: str = "",
) -> ReportReceipt:
    """File a report the reporter has confirmed; the upload, if any, is ingested and scanned only now.

    ``known_hashes``: hash lines of images the reporter chose but did not send (made in their browser),
    read by the parser the portal uses (KnownHashError names bad lines) and kept on the report without
    the file names: a caseworker registers them on a subject, under that subject's consent."""
    ReporterRole(reporter_role)  # a bad role is a programming error: the form offers only these
    if upload is not None and depicts_minor is not False:
        raise MinorImageryRefused(MINOR_UPLOAD_REFUSED)
    hashes = known_hashes_parse(known_hashes) if known_hashes.strip() else []
    if hashes and depicts_minor is not False:
        raise MinorImageryRefused(MINOR_HASHES_REFUSED)
    if len(urls) > MAX_URLS:
        raise ReportError(TOO_MANY_URLS.format(max=MAX_URLS))
    if not urls and not description.strip() and upload is None and not hashes:
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
            known_hashes="\n".join(
                f"{h.algorithm}:{h.value}" + (f" {h.quality}" if h.quality is not None else "")
                for h in dict.fromkeys(hashes)),
        )
        media = []
        if upload is not None:
            filename, data = upload
            item = detection.media_ingest(data=data, source=MediaItem.Source.REPORT, original_name=filename,
                                          organization_id=organization.pk)
            report.media_items.add(item)
            media.append({"media_item": item.pk, "sha256": item.sha256})
            detection.media_scan_enqueue_if_stale(item)  # received, or a lost scan of the same file
        audit_record(
            action="report.received", actor=None, organization=organization, target=report,
            data={"reference": report.reference, "reporter_role": reporter_role, "urls": len(urls),
                  "depicts_minor": depicts_minor, "media": media, "contact_given": bool(contact_email),
                  "known_hashes": len(hashes)},
        )
    return ReportReceipt(report=report, pin=pin)


def _unknown_reference_unlock(reference: str, pin: str) -> None:
    """Answer a reference that matches no report exactly as one that does: the same hash, the same
    count of wrong PINs (in the shared cache: there is no row to hold it), the same lock."""
    if rate_limit_hit(key=f"report-pin:{reference}", limit=settings.PUBLIC_REPORT_PIN_ATTEMPTS,
                      window_s=PIN_ATTEMPT_WINDOW_S):
        raise ReportError(PIN_LOCKED)
    check_password(pin, make_password(None))  # a real report costs one hash here; so does this
    raise ReportError(PIN_WRONG)


def report_unlock(*, reference: str, pin: str) -> Report:
    """The report with this reference, if the PIN is its PIN.

    Wrong PINs are counted on the report's row for an hour from the first; past the limit even the
    right PIN is refused until the hour is over, so a PIN cannot be guessed by trying them all. The
    row is locked while the PIN is checked: two workers checking guesses at once still count each,
    so the limit holds exactly however many web workers answer.
    """
    reference = reference.strip().upper()
    pin = pin.strip()
    limit = settings.PUBLIC_REPORT_PIN_ATTEMPTS
    with transaction.atomic():
        report = (Report.objects.select_for_update(of=("self",)).select_related("organization")
                  .filter(reference=reference).first())
        if report is None:
            outcome = None
        else:
            now = timezone.now()
            since = report.pin_failures_since
            if since is None or now - since >= timedelta(seconds=PIN_ATTEMPT_WINDOW_S):
                failures, since = 0, now  # the hour is over: counting starts again
            else:
                failures = report.pin_failures
            if failures >= limit:
                outcome = PIN_LOCKED
            elif check_password(pin, report.pin_hash):
                outcome = "unlocked"
            else:
                failures += 1
                Report.objects.filter(pk=report.pk).update(pin_failures=failures, pin_failures_since=since)
                if failures == limit:
                    # Recorded once per lock, on the report that someone may be trying to break into.
                    audit_record(action="report.pin_locked", actor=None, organization=report.organization,
                                 target=report, data={"failures": failures})
                outcome = PIN_WRONG
    # Raised after the transaction, so the counted failure is committed, not rolled back with the error.
    if report is None:
        _unknown_reference_unlock(reference, pin)
    if outcome != "unlocked":
        raise ReportError(outcome)
    return report


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

