"""The caseworker's desk: what needs doing today, the case list, and how the work is going."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from casework import access, deadlines, hash_feed_reads, selectors
from casework.models import Case, Report
from casework.services.reveals import RevealError, media_reveal, media_reveal_end
from casework.views.totp import next_url
from detection.engine import svgplot

DEADLINE_LISTS = {
    "": _("Deadlines breached or at risk"),
    deadlines.BREACHED: _("Deadlines breached"),
    deadlines.AT_RISK: _("Deadlines at risk"),
}


@require_GET
@login_required
def dashboard(request):
    access.staff_organization_ids(request.user)
    return render(request, "casework/desk.html", {
        "desk": selectors.desk_for_user(request.user),
        "platform_feedback": hash_feed_reads.feedback_for_desk(request.user),  # the hash feed's platforms
    })


@require_GET
@login_required
def case_list(request):
    orgs = access.staff_organization_ids(request.user)
    filters = {key: request.GET.get(key, "") for key in ("status", "priority", "tag", "assignee", "text")}
    page = Paginator(selectors.cases_search(request.user, **filters), 50).get_page(request.GET.get("page"))
    assignees = get_user_model().objects.filter(memberships__organization_id__in=orgs).distinct().order_by("username")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "casework/case_list.html", {
        "page": page, "filters": filters, "statuses": Case.Status.choices, "priorities": Case.Priority.choices,
        "assignees": assignees, "query": query.urlencode(),
    })


@require_GET
@login_required
def report_list(request):
    """Reports from the public form: how caseworkers learn of them (the desk counts the new ones)."""
    access.staff_organization_ids(request.user)
    status = request.GET.get("status", "")
    if status not in Report.Status.values:
        status = ""
    page = Paginator(selectors.reports_search(request.user, status=status), 50).get_page(request.GET.get("page"))
    return render(request, "casework/report_list.html", {
        "page": page, "status": status, "statuses": Report.Status.choices,
        "query": f"status={status}" if status else "",
    })


@require_GET
@login_required
def deadline_list(request):
    """Every request whose deadline is at risk or breached, most urgent first: the desk shows the first few."""
    access.staff_organization_ids(request.user)
    status = request.GET.get("status", "")
    if status not in DEADLINE_LISTS:
        status = ""
    now = timezone.now()
    requests = selectors.takedown_requests_by_deadline(request.user, status=status, now=now)
    page = Paginator(requests, 50).get_page(request.GET.get("page"))
    return render(request, "casework/deadline_list.html", {
        "page": page, "now": now, "status": status, "title": DEADLINE_LISTS[status], "lists": DEADLINE_LISTS,
        "query": f"status={status}" if status else "",
    })


@require_GET
@login_required
def metrics(request):
    access.staff_organization_ids(request.user)
    data = selectors.metrics_for_user(request.user)
    charts = {}
    if data.hours_to_removal:
        charts["removal_hours"] = svgplot.bar_chart(
            data.hours_to_removal, title=gettext("Median hours from sending to removal"),
            y_label=pgettext("chart axis", "hours"))
    if data.removal_rate:
        charts["removal_rate"] = svgplot.bar_chart(
            {p: 100 * r for p, r in data.removal_rate.items()}, title=gettext("Requests that led to removal"),
            y_label="%")
    if data.breached_per_month:
        months = data.breached_per_month
        series = [(n + 1, count) for n, (_month, count) in enumerate(months)]
        charts["breaches"] = svgplot.line_chart(
            {pgettext("chart series", "deadlines breached"): series},
            title=gettext("Deadlines breached per month"),
            x_label=pgettext("chart axis", "month (1 = {first})").format(first=months[0][0]),
            y_label=pgettext("chart axis", "requests"))
    platform_feedback = hash_feed_reads.feedback_for_metrics(request.user)
    if any(row.blocked for row in platform_feedback):
        charts["platform_blocks"] = svgplot.bar_chart(
            {row.platform: row.blocked for row in platform_feedback},
            title=gettext("Uploads blocked, per platform of the hash feed"), y_label=pgettext("chart axis", "uploads"))
    # The charts are built by our own code from numbers and escaped names: safe to inline.
    charts = {name: mark_safe(svg) for name, svg in charts.items()}
    return render(request, "casework/metrics.html",
                  {"metrics": data, "charts": charts, "platform_feedback": platform_feedback})


@require_POST
@login_required
def finding_media_reveal(request, pk: int):
    """Record the choice to look at a finding's media (or to blur it again). reveal.js posts here and is
    answered 204; without JavaScript the button's own form posts here with ``next`` and is sent back
    to the page, which then shows the original (casework.services.reveals)."""
    finding = access.finding_get_for_user(request.user, pk)
    what = request.POST.get("what", "media")
    try:
        if request.POST.get("hide"):
            media_reveal_end(finding=finding, what=what, session=request.session)
        else:
            media_reveal(finding=finding, what=what, by=request.user, session=request.session)
    except RevealError as exc:
        return HttpResponseBadRequest(str(exc))
    if "next" in request.POST:
        return redirect(next_url(request, default=reverse("casework:finding_detail", args=[finding.pk])))
    return HttpResponse(status=204)
