"""The security baseline: every URL refuses an anonymous visitor unless it is meant to be public,
staff need a second factor, repeated wrong passwords lock the login, and no page runs inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from casework.middleware import TWO_FACTOR_REQUIRED
from casework.models import AuditEvent
from casework.services.two_factor import WRONG_CODE
from tests.conftest import REPO

# Meant for people without an account: signing in, the public report form and its status pages
# (names under a `public` or `report` namespace), and the API description partners read first.
PUBLIC_NAMES = {"login", "logout", "admin:login", "admin:logout", "api_schema", "api_docs"}
# Matched against the name without its namespace; the subject portal's sign-in, sign-in link and
# sign-out are how a subject gets in (and out) without a staff account.
PUBLIC_PREFIXES = ("public_", "report_", "portal_sign_in", "portal_link", "portal_sign_out")
SIGN_IN_PAGES = ("login", "sign-in")
# A refusal: a redirect to a sign-in page, or a status that gives nothing away.
REFUSED = {401, 403, 404, 405}
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


def _is_public(name: str) -> bool:
    return name in PUBLIC_NAMES or name.rsplit(":", 1)[-1].startswith(PUBLIC_PREFIXES) or name.startswith("public:")


URLS = sorted(set(every_url()))


def test_the_walk_finds_the_project_urls():
    names = {name for name, _ in URLS}
    assert {"login", "casework:review_queue", "casework:case_detail", "admin:index"} <= names
    assert len(URLS) > 50


@pytest.mark.parametrize(("name", "path"), [u for u in URLS if not _is_public(u[0])], ids=lambda v: v)
@pytest.mark.django_db
def test_every_url_refuses_an_anonymous_visitor(client, name, path):
    for method in (client.get, client.post):
        response = method(path)
        if response.status_code == 302:
            assert any(page in response["Location"] for page in SIGN_IN_PAGES), (name, path, response["Location"])
        else:
            assert response.status_code in REFUSED, (name, path, method.__name__, response.status_code)
        if path.startswith("/api/") and response.status_code != 404:
            assert response.status_code in {401, 403, 405}, (name, path, response.status_code)


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, caseworker):
    client.force_login(caseworker, otp=False)
    response = client.get(reverse("casework:review_queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_setup"))


def test_staff_set_up_a_device_with_a_code_and_the_confirmation_is_audited(client, caseworker):
    client.force_login(caseworker, otp=False)
    queue = reverse("casework:review_queue")
    page = client.get(reverse("two_factor_setup"), {"next": queue})
    assert page.status_code == 200 and "otpauth://totp/" in page.content.decode()
    device = TOTPDevice.objects.get(user=caseworker, confirmed=False)
    wrong = client.post(reverse("two_factor_setup"), {"token": "000000" if _code(device) != "000000" else "111111"})
    assert WRONG_CODE in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0  # the wrong code above started django-otp's back-off
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(reverse("two_factor_setup"), {"token": _code(device), "next": queue})
    assert response.status_code == 302 and response["Location"] == queue
    assert client.get(queue).status_code == 200
    assert AuditEvent.objects.filter(action="two_factor.device_confirmed", actor=caseworker).exists()


def test_staff_with_a_device_enter_a_code_at_each_sign_in(client, caseworker):
    device = TOTPDevice.objects.create(user=caseworker, name="Phone", confirmed=True)
    client.force_login(caseworker, otp=False)
    response = client.get(reverse("casework:review_queue"))
    assert response["Location"].startswith(reverse("two_factor_verify"))
    response = client.post(reverse("two_factor_verify"), {"token": _code(device), "next": "/review/"})
    assert response.status_code == 302 and client.get("/review/").status_code == 200


def test_an_api_call_from_an_unverified_staff_session_is_refused(client, caseworker):
    client.force_login(caseworker, otp=False)
    response = client.get("/api/schema/")
    assert response.status_code == 403 and response.json()["detail"] == TWO_FACTOR_REQUIRED


def _code(device) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_wrong_passwords_lock_the_login(client, caseworker):
    caseworker.set_password("the-right-password-1234")
    caseworker.save()
    login = reverse("login")
    for _ in range(3):
        client.post(login, {"username": caseworker.username, "password": "wrong"})
    response = client.post(login, {"username": caseworker.username, "password": "the-right-password-1234"})
    assert response.status_code == 429 and "Signing in is paused" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_right_password_before_the_limit_signs_in(client, caseworker):
    caseworker.set_password("the-right-password-1234")
    caseworker.save()
    client.post(reverse("login"), {"username": caseworker.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": caseworker.username, "password": "the-right-password-1234"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_every_page_sends_a_content_security_policy_without_inline_script(client, db):
    policy = client.get(reverse("login"))["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe-inline" not in policy


PDF_TEMPLATES = {"consent_receipt.html"}
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted(
    p for root in ("templates", "casework/templates", "detection/templates") for p in (REPO / root).rglob("*.html")
    # e-mails and PDFs (rendered by WeasyPrint, never served as pages) may carry their own styles
    if "emails" not in p.parts and "notices" not in p.parts and p.name not in PDF_TEMPLATES
), ids=lambda p: str(p.relative_to(REPO)))
def test_no_template_has_inline_script_or_style(template: Path):
    found = INLINE.findall(template.read_text())
    assert not found, found
