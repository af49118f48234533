"""Partner API tokens: created once (the token is shown then and never again), checked, revoked."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from casework.models import ApiToken, Membership, Organization, Role
from casework.services.audit import audit_record
from detection.engine.errors import ReadableError

TOKEN_PREFIX = "rcl_"
TOKEN_NAME_TAKEN = "This organisation already has a token named “{name}”; choose another name or revoke that one."


class ApiTokenError(ReadableError):
    pass


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown to the person once; only its SHA-256 is stored


def api_token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_token_create(*, organization: Organization, name: str, role: str = Role.CASEWORKER, by=None) -> IssuedToken:
    """Issue a token for ``organization``, acting through a new password-less service account."""
    name = name.strip()
    if ApiToken.objects.filter(organization=organization, name=name).exists():
        raise ApiTokenError(TOKEN_NAME_TAKEN.format(name=name))
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        user = get_user_model()(username=f"api-{secrets.token_hex(6)}", first_name=name[:150])
        user.set_unusable_password()  # a service account never signs in to the pages
        user.save()
        Membership.objects.create(user=user, organization=organization, role=role)
        token = ApiToken.objects.create(
            organization=organization, name=name, user=user,
            secret_sha256=api_token_digest(plaintext), prefix=plaintext[:12],
        )
        audit_record(action="api_token.created", actor=by, organization=organization, target=token,
                     data={"name": name, "role": role, "prefix": token.prefix})
    return IssuedToken(token=token, plaintext=plaintext)


def api_token_revoke(*, token: ApiToken, by=None) -> ApiToken:
    with transaction.atomic():
        # Conditional update: revoking twice records one event.
        changed = ApiToken.objects.filter(pk=token.pk, revoked=False).update(revoked=True, revoked_at=timezone.now())
        if changed:
            audit_record(action="api_token.revoked", actor=by, organization=token.organization, target=token,
                         data={"name": token.name, "prefix": token.prefix})
    token.refresh_from_db()
    return token


def api_token_authenticate(*, plaintext: str) -> ApiToken | None:
    """The live token for ``plaintext``, or None. Marks it used (not audited: it is not a state change)."""
    token = (
        ApiToken.objects.select_related("user", "organization")
        .filter(secret_sha256=api_token_digest(plaintext), revoked=False, user__is_active=True)
        .first()
    )
    if token is not None:
        now = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
