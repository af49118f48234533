"""Every route, every kind of caller (issue 7, security baseline).

The project's URL patterns and API routes are walked, and each one is shown to refuse an anonymous
visitor, every caller of another organisation and every role without the right, unless the route is
meant to be public (its view carries ``casework.access.public``). ``RULES`` says who may use each
route; a route added without a rule fails ``test_every_route_has_a_rule``, so no page is added
without deciding whom it is for. The rules are checked both ways: the roles they allow must be
served, so a rule cannot pass by a route refusing everyone.

Each request runs in a savepoint that is rolled back, so a caller allowed to confirm, reject or send
leaves the objects as the next caller expects them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from casework.models import ConsentMethod, ConsentPurpose, FeedPlatform, MediaSubmission, Role, Subject
from casework.services.api_tokens import api_token_create
from casework.services.consent import consent_grant
from casework.services.feed_platforms import feed_platform_admit
from casework.services.known_hashes import known_hashes_register
from casework.services.watches import WatchSettings, watch_create
from detection.crawling import crawl_run_start
from tests import factories

# The operator runs the platform through Django's admin (a superuser); organisations' staff work in
# Reclaim's own pages, subjects in the portal, partners through the API with a token.
CASEWORKER, LEGAL, ADMIN = Role.CASEWORKER.value, Role.LEGAL.value, Role.ADMIN.value
SUBJECT, PARTNER, OPERATOR = "subject", "partner", "operator"
PLATFORM = "platform"  # a platform admitted to the hash feed, with its two keys (casework.api.stopncii)
CALLERS = (CASEWORKER, LEGAL, ADMIN, SUBJECT, PARTNER, OPERATOR, PLATFORM)
STAFF = frozenset({CASEWORKER, LEGAL, ADMIN})
REVIEWERS = frozenset({CASEWORKER, ADMIN})
NOTICE_ISSUERS = frozenset({LEGAL, ADMIN})

# Reachable by anyone though their views are not Reclaim's (Django's and drf-spectacular's): signing in
# and out, and the API description partners read before they have a token.
PUBLIC_NAMES = {"login", "logout", "admin:login", "admin:logout", "api_schema", "api_docs"}
SIGN_IN_PAGES = ("/accounts/login/", "/admin/login/", "/portal/sign-in")
REFUSED = {401, 403, 404}
SHARED_HASH = "5a" * 32


@dataclass(frozen=True)
class Rule:
    """Who may use a route, and which object its URL names (None: the caller's own organisation or
    account, such as a list, a dashboard or a form that creates something)."""

    allowed: frozenset[str]
    object: str | None = None


RULES: dict[str, Rule] = {
    # The caseworker's desk
    "casework:home": Rule(STAFF),
    "casework:case_list": Rule(STAFF),
    "casework:metrics": Rule(STAFF),
    "casework:deadline_list": Rule(STAFF),
    "casework:review_queue": Rule(STAFF),
    # Findings: every member of staff may look; caseworkers and admins decide
    "casework:finding_detail": Rule(STAFF, "finding"),
    "casework:finding_media": Rule(STAFF, "finding"),
    "casework:finding_media_reveal": Rule(STAFF, "finding"),
    "casework:finding_probe_crop": Rule(STAFF, "finding"),
    "casework:finding_reference_crop": Rule(STAFF, "finding"),
    "casework:finding_confirm": Rule(REVIEWERS, "finding"),
    "casework:finding_reject": Rule(REVIEWERS, "finding"),
    # Cases and reports: everyone who works a case triages it; caseworkers open cases and add media
    "casework:case_detail": Rule(STAFF, "case"),
    "casework:case_triage": Rule(STAFF, "case"),
    "casework:case_note_create": Rule(STAFF, "case"),
    "casework:case_status": Rule(STAFF, "case"),
    "casework:case_minor_record": Rule(STAFF, "case"),
    "casework:case_media_upload": Rule(REVIEWERS, "case"),
    "casework:media_item_scan_again": Rule(REVIEWERS, "media_item"),  # a failed or lost scan
    "casework:case_evidence": Rule(STAFF, "case"),
    "casework:case_evidence_export": Rule(STAFF, "case"),
    "casework:report_list": Rule(STAFF),
    "casework:report_detail": Rule(STAFF, "report"),
    "casework:report_case_open": Rule(REVIEWERS, "report"),
    "casework:report_hashes_move": Rule(REVIEWERS, "report"),  # to a subject of the report's organisation
    "casework:consent_receipt": Rule(STAFF, "consent"),
    "casework:consent_withdraw": Rule(STAFF, "consent"),
    # Subjects: every member of staff may look; caseworkers enrol them and reset their sign-in codes
    "casework:subject_list": Rule(STAFF),
    "casework:subject_enrol": Rule(REVIEWERS),
    "casework:subject_detail": Rule(STAFF, "subject"),
    "casework:subject_codes_reset": Rule(REVIEWERS, "subject"),
    "casework:subject_hashes_add": Rule(REVIEWERS, "subject"),
    "casework:subject_photo_add": Rule(REVIEWERS, "subject"),
    "casework:known_hash_remove": Rule(REVIEWERS, "known_hash"),
    # The hash feed's platforms (issue 14): every member of staff may look; an organisation admin admits and
    # revokes them
    "casework:feed_platform_list": Rule(STAFF),
    "casework:feed_platform_admit": Rule(frozenset({ADMIN})),
    "casework:feed_platform_revoke": Rule(frozenset({ADMIN}), "feed_platform"),
    # Watches (issue 12): every member of staff may look; caseworkers and admins run them; legal staff and
    # admins decide whether one ignores robots.txt
    "casework:watch_list": Rule(STAFF),
    "casework:watch_create": Rule(REVIEWERS),
    "casework:watch_detail": Rule(STAFF, "watch"),
    "casework:watch_edit": Rule(REVIEWERS, "watch"),
    "casework:watch_pause": Rule(REVIEWERS, "watch"),
    "casework:watch_resume": Rule(REVIEWERS, "watch"),
    "casework:watch_crawl": Rule(REVIEWERS, "watch"),
    "casework:watch_robots": Rule(NOTICE_ISSUERS, "watch"),
    "casework:crawl_run_detail": Rule(STAFF, "crawl_run"),
    "casework:crawl_run_stop": Rule(REVIEWERS, "crawl_run"),
    # Takedown requests (each transition's roles are the state machine's, tested in test_takedowns)
    "casework:takedown_detail": Rule(STAFF, "takedown"),
    "casework:takedown_transition": Rule(STAFF, "takedown"),
    "casework:takedown_deadline_extend": Rule(STAFF, "takedown"),
    "casework:notice_create": Rule(NOTICE_ISSUERS, "takedown"),
    # Notices: any member of staff may read them; legal staff and admins send them
    "casework:notice_detail": Rule(STAFF, "notice"),
    "casework:notice_pdf": Rule(STAFF, "notice"),
    "casework:notice_eml": Rule(STAFF, "notice"),
    "casework:notice_send": Rule(NOTICE_ISSUERS, "notice"),
    "casework:notice_submission": Rule(NOTICE_ISSUERS, "notice"),
    # The subject portal: the subject and no one else
    "casework:portal_home": Rule(frozenset({SUBJECT})),
    "casework:portal_password": Rule(frozenset({SUBJECT})),
    "casework:portal_photo_add": Rule(frozenset({SUBJECT})),
    "casework:portal_hashes_add": Rule(frozenset({SUBJECT})),
    "casework:portal_photo_remove": Rule(frozenset({SUBJECT}), "reference_photo"),
    "casework:portal_consent_withdraw": Rule(frozenset({SUBJECT}), "consent"),
    "casework:portal_consent_receipt": Rule(frozenset({SUBJECT}), "consent"),
    "casework:portal_two_factor_setup": Rule(frozenset({SUBJECT})),
    "casework:portal_two_factor_verify": Rule(frozenset({SUBJECT})),
    "casework:portal_two_factor_remove": Rule(frozenset({SUBJECT})),
    # Staff's own second factor
    "two_factor_setup": Rule(STAFF | {OPERATOR}),
    "two_factor_verify": Rule(STAFF | {OPERATOR}),
    # The partner API: partners' tokens, and staff signed in to the desk
    "api:media_submit": Rule(STAFF | {PARTNER}),
    "api:media_item_detail": Rule(STAFF | {PARTNER}, "media_item"),
    "api:media_item_findings": Rule(STAFF | {PARTNER}, "media_item"),
    "api:takedown_requests": Rule(STAFF | {PARTNER}),
    "api:takedown_request_detail": Rule(STAFF | {PARTNER}, "takedown"),
    # StopNCII's hash API: the platforms admitted to the organisation's feed, with their keys only
    "stopncii:fetch_hashes": Rule(frozenset({PLATFORM})),
    "stopncii:submit_feedback": Rule(frozenset({PLATFORM})),
}
# Django's admin is the operator's, across organisations (casework.admin).
ADMIN_SITE_RULE = Rule(frozenset({OPERATOR}))

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
SAMPLES = {"int": "1", "str": "x", "slug": "x", "uuid": "00000000-0000-0000-0000-000000000001", "path": "x/y"}


def _route(pattern) -> str:
    text = str(pattern.pattern)
    if hasattr(pattern.pattern, "_route"):
        return _ROUTE_PARAM.sub(lambda m: SAMPLES.get(m["converter"] or "str", "1"), text)
    text = _REGEX_GROUP.sub("1", text)
    return text.lstrip("^").replace("\\Z", "").replace("$", "").replace("\\", "")


def every_url(resolver=None, prefix="", namespace=""):
    """(qualified name, sample path) for every URL pattern of the project, includes walked."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from every_url(pattern, prefix + _route(pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name or ''}", "/" + prefix + _route(pattern)


def is_public(name: str, path: str) -> bool:
    return name in PUBLIC_NAMES or getattr(resolve(path).func, "public_page", False)


URLS = sorted(set(every_url()))
PRIVATE = [(name, path) for name, path in URLS if not is_public(name, path)]


def rule_for(name: str) -> Rule:
    return ADMIN_SITE_RULE if name.startswith("admin:") else RULES[name]


def test_the_walk_finds_the_project_urls():
    names = {name for name, _ in URLS}
    assert {"login", "casework:review_queue", "casework:case_detail", "admin:index", "api:media_submit"} <= names
    assert len(URLS) > 50


def test_exactly_the_report_form_sign_in_and_api_description_are_public():
    public = {name for name, path in URLS if is_public(name, path)}
    assert public == PUBLIC_NAMES | {
        "casework:public_report", "casework:public_report_review", "casework:public_report_status",
        "casework:public_report_add", "casework:public_report_leave",
        "casework:portal_sign_in", "casework:portal_link", "casework:portal_sign_out",
        "casework:language_set",  # the language switcher on every page, before anyone signs in
        "healthz",  # a probe has no account; it answers "ok" or "failed" per dependency, nothing else
    }


def test_every_route_has_a_rule():
    names = {name for name, _ in PRIVATE if not name.startswith("admin:")}
    assert names - RULES.keys() == set(), "decide who may use these routes and add them to RULES"
    assert RULES.keys() - names == set(), "these rules name routes that no longer exist"


# --- Anonymous -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "path"), PRIVATE, ids=lambda v: v)
@pytest.mark.django_db
def test_every_route_refuses_an_anonymous_visitor(client, name, path):
    for method in ("get", "post", "patch"):
        response = request(client, method, path)
        assert refused(response, path) or response.status_code == 405, (name, path, method, response.status_code)
        if path.startswith("/api/") and response.status_code != 404:
            assert response.status_code in {401, 405}, (name, path, response.status_code)


# --- Callers of this organisation and of another ---------------------------------------------------

@dataclass
class Caller:
    client: Client
    headers: dict  # a partner's token, a platform's keys; signed-in callers carry a session cookie instead
    platform: FeedPlatform | None = None


@pytest.fixture
def world(path_objects, org, other_org, caseworker, legal, astronaut_subject):
    """Objects of every kind in ``org``, and a caller of every kind in ``org`` and in ``other_org``."""
    cache.clear()  # API throttle histories
    finding = path_objects["finding"]
    ours = callers(org, subject=astronaut_subject, staff={CASEWORKER: caseworker, LEGAL: legal})
    MediaSubmission.objects.create(organization=org, media_item=finding.media_item)
    watch = watch_create(organization=org, by=caseworker, settings=WatchSettings(
        name="Forum of the astronaut", start_urls=["https://forum.example.org/"], patterns=[], max_depth=2,
        max_pages=10, schedule_minutes=0, per_host_rate=1.0))
    run = crawl_run_start(watch=watch, organization=org, start_urls=watch.start_urls, enqueue=False)
    # A hash the astronaut shares with platforms: in the feed our platform reads, and nowhere for another.
    sharing = factories.ConsentTextFactory(purposes=[ConsentPurpose.HASH_MATCHING, ConsentPurpose.HASH_SHARING])
    consent_grant(subject=astronaut_subject, text=sharing, purposes=sharing.purposes, signature="Astronaut",
                  method=ConsentMethod.PAPER_WITNESSED, by=caseworker)
    known_hashes_register(subject=astronaut_subject, text=SHARED_HASH, by=caseworker)
    objects = {**path_objects, "media_item": finding.media_item, "subject": astronaut_subject,
               "reference_photo": astronaut_subject.reference_photos.get(), "watch": watch, "crawl_run": run,
               "known_hash": astronaut_subject.known_hashes.get(), "feed_platform": ours[PLATFORM].platform}
    theirs = callers(other_org, subject=Subject.objects.create(organization=other_org, display_name="Sam"))
    del theirs[OPERATOR]  # the operator works across organisations: there is no operator of another
    # What our data looks like on a page: a page of another organisation must show none of it.
    markers = [astronaut_subject.display_name, path_objects["case"].reference, path_objects["takedown"].target_url,
               watch.name, SHARED_HASH]
    yield {"objects": objects, "ours": ours, "theirs": theirs, "markers": markers}
    cache.clear()


def callers(organization, *, subject: Subject, staff=None) -> dict[str, Caller]:
    found = {}
    for role in (CASEWORKER, LEGAL, ADMIN):
        user = (staff or {}).get(role) or factories.staff(organization, role)
        found[role] = signed_in(user)
    subject.user = factories.UserFactory()
    subject.save(update_fields=["user"])
    found[SUBJECT] = signed_in(subject.user)
    issued = api_token_create(organization=organization, name="Partner")
    found[PARTNER] = Caller(Client(), {"Authorization": f"Token {issued.plaintext}"})
    admitted = feed_platform_admit(organization=organization, name="ExamplePlatform", by=None)
    found[PLATFORM] = Caller(Client(), {"x-functions-key": admitted.function_key,
                                        "Ocp-Apim-Subscription-Key": admitted.subscription_key}, admitted.platform)
    operator = get_user_model().objects.create_superuser(f"operator-{organization.slug}", password=None)
    found[OPERATOR] = signed_in(operator)
    return found


def signed_in(user) -> Caller:
    client = Client()
    client.force_login(user)
    return Caller(client, {})


def path_for(name: str, sample: str, objects: dict) -> str:
    kind = rule_for(name).object
    return reverse(name, args=[objects[kind].pk]) if kind else sample


def request(client, method: str, path: str, headers=None):
    """One request whose writes are rolled back afterwards."""
    # Past the admin site's gate, sample paths name no object, and a third-party admin view answers a
    # missing one with a server error (django-otp's device configuration page): only the gate is
    # under test there (see refused), so such an answer is a response, not an exception.
    client.raise_request_exception = not path.startswith("/admin/")
    with transaction.atomic():
        if method == "patch":
            response = client.patch(path, json.dumps({}), content_type="application/json", headers=headers)
        else:
            response = getattr(client, method)(path, headers=headers)
        transaction.set_rollback(True)
    return response


def refused(response, path: str) -> bool:
    to_sign_in = response.status_code in (301, 302) and response["Location"].startswith(SIGN_IN_PAGES)
    if path.startswith("/admin/"):
        # The admin site's gate sends everyone but the operator to its sign-in page. Past the gate the
        # admin's own permissions answer, with 403 or 404 even to the operator (read-only models have
        # no add or delete page; the sample path names no object), so only the gate counts here.
        return to_sign_in
    return to_sign_in or response.status_code in REFUSED


def methods_for(path: str) -> tuple[str, ...]:
    return ("get", "post", "patch") if path.startswith("/api/") else ("get", "post")


def body(response) -> str:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return data.decode(errors="replace")


def answers(caller: Caller, path: str) -> dict:
    """The caller's response to each method the route has (a 405 means it has no such method)."""
    found = {method: request(caller.client, method, path, caller.headers) for method in methods_for(path)}
    return {method: response for method, response in found.items() if response.status_code != 405}


def served_methods(world, name: str, path: str) -> list[str]:
    """The methods the route has, as answered to a caller it allows."""
    return list(answers(world["ours"][min(rule_for(name).allowed)], path))


@pytest.mark.django_db
def test_every_route_serves_the_roles_with_the_right(world):
    wrong = []
    for name, sample in PRIVATE:
        path = path_for(name, sample, world["objects"])
        for role in sorted(rule_for(name).allowed):
            served = answers(world["ours"][role], path)
            if not served or all(refused(response, path) for response in served.values()):
                wrong.append((name, role, {method: response.status_code for method, response in served.items()}))
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.django_db
def test_every_route_refuses_a_role_without_the_right(world):
    wrong = []
    for name, sample in PRIVATE:
        path = path_for(name, sample, world["objects"])
        served = served_methods(world, name, path)
        for role in sorted(set(CALLERS) - rule_for(name).allowed):
            caller = world["ours"][role]
            for method in served:
                response = request(caller.client, method, path, caller.headers)
                if not refused(response, path):
                    wrong.append((name, role, method, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))


@pytest.mark.django_db
def test_every_route_refuses_another_organisation(world):
    """Another organisation's callers: an object of ours is missing to them (404, so its existence is
    not revealed); a page about their own organisation shows none of our data."""
    wrong = []
    for name, sample in PRIVATE:
        rule = rule_for(name)
        path = path_for(name, sample, world["objects"])
        served = served_methods(world, name, path)
        for role, caller in world["theirs"].items():
            for method in served:
                response = request(caller.client, method, path, caller.headers)
                if role not in rule.allowed:
                    ok = refused(response, path)
                elif rule.object:
                    ok = response.status_code == 404
                else:
                    ok = response.status_code < 500 and not any(m in body(response) for m in world["markers"])
                if not ok:
                    wrong.append((name, role, method, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))
