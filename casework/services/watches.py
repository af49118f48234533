"""Watches on the desk: the sites an organisation monitors, and who decided what about them.

Caseworkers and admins create, edit, pause and resume watches and start a crawl now; detection does
the crawling (detection.crawling). Whether a crawl obeys robots.txt is a legal decision: only legal
staff and admins may turn it off, only with a reason, and the decision is audited with the reason, so
the organisation can later say who chose to read pages a site asked robots not to read, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from casework.access import NOTICE_ISSUERS, REVIEWERS, role_in
from casework.models import Organization
from casework.services.audit import audit_record
from detection.engine.errors import ReadableError
from detection.models import CrawlRun, Watch

# Marked here for the catalogue (gettext_noop), translated where they are raised (_): the constants stay
# the English words the tests compare.
ROBOTS_REASON_NEEDED = gettext_noop("Say why this watch may ignore robots.txt: the reason is kept in the audit trail.")
ROBOTS_ROLE_REQUIRED = gettext_noop("Only legal staff and admins decide whether a watch ignores robots.txt.")
EDIT_ROLE_REQUIRED = gettext_noop("Only caseworkers and admins create, change and start watches.")
PAUSED_NOT_CRAWLED = gettext_noop("{watch} is paused: resume it before crawling it.")
ALREADY_CRAWLING = gettext_noop("{watch} is being crawled already: its current run is on this page.")
# A run in one of these states is still working through its frontier.
ACTIVE = (CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING)


class WatchError(ReadableError):
    pass


@dataclass(frozen=True)
class WatchSettings:
    """What staff choose about a watch (the form's fields); robots.txt is decided apart (watch_robots_set)."""

    name: str
    start_urls: list[str]
    patterns: list[str]
    max_depth: int
    max_pages: int
    schedule_minutes: int
    per_host_rate: float

    def as_dict(self) -> dict:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def _require(by, organization_id: int, roles: set[str], message: str) -> None:
    # Checked here as well as in the views: the API, the admin and commands call these services too.
    if role_in(by, organization_id) not in roles:
        raise WatchError(_(message))


def watch_create(*, organization: Organization, settings: WatchSettings, by) -> Watch:
    _require(by, organization.pk, REVIEWERS, EDIT_ROLE_REQUIRED)
    with transaction.atomic():
        watch = Watch.objects.create(organization=organization, created_by=by, **settings.as_dict())
        audit_record(action="watch.created", actor=by, organization=organization, target=watch,
                     data=settings.as_dict())
    return watch


def watch_update(*, watch: Watch, settings: WatchSettings, by) -> Watch:
    """Change a watch; a run under way keeps the settings it started with (CrawlRun copies them)."""
    _require(by, watch.organization_id, REVIEWERS, EDIT_ROLE_REQUIRED)
    with transaction.atomic():
        locked = Watch.objects.select_for_update().get(pk=watch.pk)
        changed = {name: {"was": getattr(locked, name), "now": value}
                   for name, value in settings.as_dict().items() if getattr(locked, name) != value}
        if changed:
            for name, value in settings.as_dict().items():
                setattr(locked, name, value)
            locked.save(update_fields=list(changed))
            audit_record(action="watch.updated", actor=by, organization=locked.organization, target=locked,
                         data={"changed": changed})
    return locked


def watch_pause(*, watch: Watch, by) -> bool:
    """Stop scheduled runs (a run under way finishes). False if it was paused already: nothing recorded."""
    return _paused_set(watch=watch, paused=True, by=by)


def watch_resume(*, watch: Watch, by) -> bool:
    return _paused_set(watch=watch, paused=False, by=by)


def _paused_set(*, watch: Watch, paused: bool, by) -> bool:
    _require(by, watch.organization_id, REVIEWERS, EDIT_ROLE_REQUIRED)
    with transaction.atomic():
        # Two people pressing the same button: the row count says which one changed it, one event.
        if not Watch.objects.filter(pk=watch.pk, paused=not paused).update(paused=paused):
            return False
        watch.paused = paused
        audit_record(action="watch.paused" if paused else "watch.resumed", actor=by,
                     organization=watch.organization, target=watch)
    return True


def watch_robots_set(*, watch: Watch, respect_robots: bool, reason: str, by) -> Watch:
    """Obey robots.txt again, or ignore it with a reason (legal staff and admins)."""
    _require(by, watch.organization_id, NOTICE_ISSUERS, ROBOTS_ROLE_REQUIRED)
    reason = reason.strip()
    if not respect_robots and not reason:
        raise WatchError(_(ROBOTS_REASON_NEEDED))
    with transaction.atomic():
        locked = Watch.objects.select_for_update().get(pk=watch.pk)
        was = locked.respect_robots
        locked.respect_robots = respect_robots
        # The reason and its author stay with the watch while the override holds, and only then.
        locked.robots_override_reason = "" if respect_robots else reason
        locked.robots_override_by = None if respect_robots else by
        locked.save(update_fields=["respect_robots", "robots_override_reason", "robots_override_by"])
        audit_record(action="watch.robots_obeyed" if respect_robots else "watch.robots_ignored", actor=by,
                     organization=locked.organization, target=locked,
                     data={"was_respecting": was, "reason": reason})
    return locked


def watch_crawl_now(*, watch: Watch, by) -> CrawlRun:
    """Start a run of the watch now, outside its schedule. One run at a time: a second press while one
    is queued or running is refused rather than crawling the site twice over."""
    # Imported here: casework.forms (every page) imports this module, and need not load the crawler.
    from detection.crawling import CrawlStartError, crawl_run_start

    _require(by, watch.organization_id, REVIEWERS, EDIT_ROLE_REQUIRED)
    with transaction.atomic():
        locked = Watch.objects.select_for_update(of=("self",)).select_related("organization").get(pk=watch.pk)
        if locked.paused:
            raise WatchError(_(PAUSED_NOT_CRAWLED).format(watch=locked.name))
        if locked.runs.filter(status__in=ACTIVE).exists():
            raise WatchError(_(ALREADY_CRAWLING).format(watch=locked.name))
        try:
            run = crawl_run_start(watch=locked, organization=locked.organization, start_urls=list(locked.start_urls))
        except CrawlStartError as exc:
            raise WatchError(_(exc.reason)) from exc  # detection's English reason, in the reader's language
        audit_record(action="watch.crawl_started", actor=by, organization=locked.organization, target=locked,
                     data={"run": run.pk})
    return run


def crawl_run_stop(*, run: CrawlRun, by) -> bool:
    """Cancel a run under way: its queued addresses are skipped, a page being fetched finishes.
    False if it had ended already (nothing recorded)."""
    from detection.crawling import crawl_run_cancel

    _require(by, run.organization_id, REVIEWERS, EDIT_ROLE_REQUIRED)
    with transaction.atomic():
        # Locked so that two people stopping it at once record one cancellation.
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the outer join (a command-line
        # run may have no organisation).
        run = CrawlRun.objects.select_for_update(of=("self",)).select_related("organization").get(pk=run.pk)
        if run.status not in ACTIVE:
            return False
        run = crawl_run_cancel(run=run)
        audit_record(action="crawl_run.cancelled", actor=by, organization=run.organization, target=run,
                     data={"watch": run.watch_id, "pages_fetched": run.pages_fetched})
    return True
