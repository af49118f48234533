"""Platforms admitted to the organisation's hash feed (StopNCII's API, casework.api.stopncii).

Every member of staff sees which platforms read the feed and what they reported; only an organisation
admin admits one (its two keys are shown once, on the answer to that POST, never again) or revokes it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from casework import access, hash_feed_reads
from casework.forms import FeedPlatformAdmitForm
from casework.models import Membership, Organization, Role
from casework.services.feed_platforms import FeedPlatformError, feed_platform_admit, feed_platform_revoke

REVOKED = _("{platform}'s keys no longer work. Its feedback stays on cases and in the metrics.")


def _admin_organizations(user):
    memberships = Membership.objects.filter(user=user, role=Role.ADMIN)
    return Organization.objects.filter(pk__in=memberships.values("organization_id")).order_by("name")


def feed_base_url(request) -> str:
    """What platforms configure as the StopNCII base URL: python-threatexchange appends "/FetchHashes"."""
    return request.build_absolute_uri(reverse("stopncii:fetch_hashes")).removesuffix("/FetchHashes")


def _list(request, form, status=200):
    orgs = access.staff_organization_ids(request.user)
    page = Paginator(hash_feed_reads.feed_platforms_for_user(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "casework/feed_platform_list.html", {
        "page": page, "form": form, "base_url": feed_base_url(request),
        "shared_count": hash_feed_reads.shared_hash_count(orgs),
        "may_revoke": set(_admin_organizations(request.user).values_list("pk", flat=True)),
    }, status=status)


@require_GET
@login_required
def feed_platform_list(request):
    admin_of = _admin_organizations(request.user)
    return _list(request, FeedPlatformAdmitForm(organizations=admin_of) if admin_of.exists() else None)


@never_cache  # the keys are on this answer: no cache may keep a copy
@require_POST
@login_required
def feed_platform_admit_view(request):
    admin_of = _admin_organizations(request.user)
    if not admin_of.exists():
        access.staff_organization_ids(request.user)  # not staff: 403 saying so
        raise PermissionDenied(access.ROLE_REQUIRED)
    form = FeedPlatformAdmitForm(request.POST, organizations=admin_of)
    if form.is_valid():
        try:
            admitted = feed_platform_admit(organization=form.cleaned_data["organization"],
                                           name=form.cleaned_data["name"], by=request.user)
        except FeedPlatformError as exc:
            form.add_error("name", exc.reason)
        else:
            return render(request, "casework/feed_platform_keys.html",
                          {"admitted": admitted, "base_url": feed_base_url(request)})
    return _list(request, form, status=400)


@require_POST
@login_required
def feed_platform_revoke_view(request, pk: int):
    platform = access.feed_platform_get_for_user(request.user, pk)
    access.require_role(request.user, platform.organization_id, {Role.ADMIN})
    feed_platform_revoke(platform=platform, by=request.user)
    messages.success(request, REVOKED.format(platform=platform.name))
    return redirect("casework:feed_platform_list")
