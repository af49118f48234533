"""Watches on the desk: the sites an organisation monitors, their runs, and a run's progress.

Everyone in the organisation sees watches; caseworkers and admins create, change, pause, resume and
crawl them now, and stop a run; legal staff and admins decide about robots.txt (casework.services.watches). A page
of a run under way reloads itself with a meta refresh: the CSP allows no inline script.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from casework import access, selectors
from casework.forms import RobotsForm, WatchForm
from casework.models import Membership, Organization
from casework.services.watches import (
    ACTIVE,
    WatchError,
    crawl_run_stop,
    watch_crawl_now,
    watch_create,
    watch_pause,
    watch_resume,
    watch_robots_set,
    watch_update,
)
from detection.models import CrawlPage, CrawlRun

WATCH_CREATED = _("Watch {watch} created. Nothing is crawled until you press Crawl now or its schedule comes round.")
WATCH_SAVED = _("Watch {watch} saved; a run under way keeps the settings it started with.")
WATCH_PAUSED = _("Watch {watch} paused: no scheduled runs until it is resumed.")
WATCH_RESUMED = _("Watch {watch} resumed.")
CRAWL_STARTED = _("Crawl of {watch} queued; its progress is below.")
ROBOTS_IGNORED = _("{watch} now ignores robots.txt; your reason is in the audit trail.")
ROBOTS_OBEYED = _("{watch} obeys robots.txt again.")
RUN_STOPPED = _("Crawl run {run} stopped: its queued addresses are skipped; a page being fetched now finishes.")
RUN_ENDED_ALREADY = _("Crawl run {run} had ended already.")
ROBOTS_CHOICE_NEEDED = _("Choose whether this watch obeys robots.txt.")
REFRESH_SECONDS = 10  # a run's page reloads itself this often while the run is under way
RUNS_PER_PAGE = 20
PAGES_PER_PAGE = 50


def _editing_organizations(user):
    memberships = Membership.objects.filter(user=user, role__in=access.REVIEWERS)
    return Organization.objects.filter(pk__in=memberships.values("organization_id")).order_by("name")


@require_GET
@login_required
def watch_list(request):
    access.staff_organization_ids(request.user)
    page = Paginator(selectors.watches_search(request.user), 50).get_page(request.GET.get("page"))
    for watch in page.object_list:  # the page's rows, read once: the template reuses them
        watch.last_run_status_label = CrawlRun.Status(watch.last_run_status).label if watch.last_run_status else ""
    return render(request, "casework/watch_list.html", {
        "page": page, "query": "", "may_create": _editing_organizations(request.user).exists(),
    })


@require_http_methods(["GET", "POST"])
@login_required
def watch_create_view(request):
    organizations = _editing_organizations(request.user)
    if not organizations.exists():
        access.staff_organization_ids(request.user)  # not staff: 403 saying so
        raise PermissionDenied(access.ROLE_REQUIRED)
    form = WatchForm(request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        try:
            watch = watch_create(organization=form.cleaned_data["organization"], settings=form.settings(),
                                 by=request.user)
        except WatchError as exc:
            form.add_error(None, exc.reason)
        else:
            messages.success(request, WATCH_CREATED.format(watch=watch))
            return redirect("casework:watch_detail", pk=watch.pk)
    return render(request, "casework/watch_form.html", {"form": form, "watch": None},
                  status=400 if form.errors else 200)


@require_GET
@login_required
def watch_detail(request, pk: int):
    watch = access.watch_get_for_user(request.user, pk)
    role = access.role_in(request.user, watch.organization_id)
    current = selectors.watch_current_run(watch)
    runs = Paginator(selectors.watch_runs(watch), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "casework/watch_detail.html", {
        "watch": watch, "runs": runs, "query": "", "current": current,
        "frontier": selectors.crawl_run_frontier_counts(current) if current else [],
        "refresh_seconds": REFRESH_SECONDS if current else None,
        "may_edit": role in access.REVIEWERS,
        "robots_form": RobotsForm(initial={"respect_robots": "1" if watch.respect_robots else "0",
                                           "reason": watch.robots_override_reason})
        if role in access.NOTICE_ISSUERS else None,
    })


@require_http_methods(["GET", "POST"])
@login_required
def watch_edit(request, pk: int):
    watch = access.watch_get_for_user(request.user, pk)
    access.require_role(request.user, watch.organization_id, access.REVIEWERS)
    form = WatchForm(request.POST or None, organizations=None, watch=watch)
    if request.method == "POST" and form.is_valid():
        try:
            watch = watch_update(watch=watch, settings=form.settings(), by=request.user)
        except WatchError as exc:
            form.add_error(None, exc.reason)
        else:
            messages.success(request, WATCH_SAVED.format(watch=watch))
            return redirect("casework:watch_detail", pk=watch.pk)
    return render(request, "casework/watch_form.html", {"form": form, "watch": watch},
                  status=400 if form.errors else 200)


def _act(request, pk: int, roles: set[str], act) -> object:
    """Fetch, authorise, run ``act(watch)`` (a service call), say what happened, back to the watch."""
    watch = access.watch_get_for_user(request.user, pk)
    access.require_role(request.user, watch.organization_id, roles)
    try:
        said = act(watch)
    except WatchError as exc:
        messages.error(request, exc.reason)
    else:
        if said:
            messages.success(request, said.format(watch=watch))
    return redirect("casework:watch_detail", pk=watch.pk)


@require_POST
@login_required
def watch_pause_view(request, pk: int):
    return _act(request, pk, access.REVIEWERS,
                lambda watch: watch_pause(watch=watch, by=request.user) and WATCH_PAUSED)


@require_POST
@login_required
def watch_resume_view(request, pk: int):
    return _act(request, pk, access.REVIEWERS,
                lambda watch: watch_resume(watch=watch, by=request.user) and WATCH_RESUMED)


@require_POST
@login_required
def watch_crawl_view(request, pk: int):
    return _act(request, pk, access.REVIEWERS,
                lambda watch: watch_crawl_now(watch=watch, by=request.user) and CRAWL_STARTED)


@require_POST
@login_required
def watch_robots_view(request, pk: int):
    def decide(watch):
        form = RobotsForm(request.POST)
        if not form.is_valid():
            raise WatchError(ROBOTS_CHOICE_NEEDED)
        respect = form.cleaned_data["respect_robots"]
        watch_robots_set(watch=watch, respect_robots=respect, reason=form.cleaned_data["reason"], by=request.user)
        return ROBOTS_OBEYED if respect else ROBOTS_IGNORED

    return _act(request, pk, access.NOTICE_ISSUERS, decide)


@require_GET
@login_required
def crawl_run_detail(request, pk: int):
    """A run's progress: its counters, its frontier by status, and the URLs of one status with why."""
    run = access.crawl_run_get_for_user(request.user, pk)
    run = selectors.crawl_runs_counted(CrawlRun.objects.filter(pk=run.pk).select_related("watch")).get()
    status = request.GET.get("status", "")
    if status not in CrawlPage.Status.values:
        status = ""
    pages = Paginator(selectors.crawl_run_pages(run, status=status), PAGES_PER_PAGE).get_page(request.GET.get("page"))
    under_way = run.status in ACTIVE
    return render(request, "casework/watch_run.html", {
        "run": run, "frontier": selectors.crawl_run_frontier_counts(run), "pages": pages, "status": status,
        "statuses": CrawlPage.Status.choices, "query": f"status={status}" if status else "",
        "refresh_seconds": REFRESH_SECONDS if under_way else None,
        "may_stop": under_way and access.role_in(request.user, run.organization_id) in access.REVIEWERS,
    })


@require_POST
@login_required
def crawl_run_stop_view(request, pk: int):
    run = access.crawl_run_get_for_user(request.user, pk)
    access.require_role(request.user, run.organization_id, access.REVIEWERS)
    if crawl_run_stop(run=run, by=request.user):
        messages.success(request, RUN_STOPPED.format(run=run.pk))
    else:
        messages.error(request, RUN_ENDED_ALREADY.format(run=run.pk))
    return redirect("casework:crawl_run_detail", pk=run.pk)
