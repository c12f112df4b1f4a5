"""Who asks for a token: anonymous, a Wharf user (by password, personal API token, or a login
command's ``wl-...`` credential), or a workspace's ``ws-<workspace>`` pull credential.

Failures count towards the same lockout as the login page's (portal/lockout.py); the endpoint
checks it before any password is (registries/tokens/views.py).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth import authenticate as password_authenticate
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.db.models.functions import Now
from django.http import HttpRequest

from portal import lockout
from portal.permissions import is_admin
from registries.models import LoginCredential, PullCredential, Registry
from registries.tokens.credentials import CREDENTIAL_PREFIX, LOGIN_PREFIX, hash_secret
from workspaces.models import Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

User = get_user_model()

# "Not fetched with the registry": distinct from None, which means "fetched, and there is none".
_NOT_LOOKED_UP = object()


@dataclass(frozen=True)
class Principal:
    """Who asks: anonymous, a Wharf user (``login``: through a login command's credential),
    or a workspace's pull credential."""

    subject: str = ""
    user: AbstractBaseUser | None = None
    credential: PullCredential | None = None
    login: LoginCredential | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.credential is None

    @property
    def workspace(self) -> Workspace | None:
        return self.credential.workspace if self.credential is not None else None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and is_admin(self.user)


ANONYMOUS = Principal()


def _credential(registry: Registry, username: str, password: str) -> PullCredential | None:
    """The workspace credential ``username`` of ``registry`` whose current secret, or previous
    one inside its overlap window, is ``password``."""
    if not username.startswith(CREDENTIAL_PREFIX):
        return None
    digest = hash_secret(password)
    credential = getattr(registry, "wharf_credential", _NOT_LOOKED_UP)
    if credential is _NOT_LOOKED_UP or (credential is not None and credential.username != username):
        credential = (
            PullCredential.objects.select_related("workspace")
            .filter(registry=registry)
            .filter(
                Q(username=username, secret_hash=digest)
                | Q(previous_username=username, previous_secret_hash=digest, previous_valid_until__gt=Now())
            )
            .first()
        )
        if credential is not None:
            credential.wharf_matched_hash = (
                credential.secret_hash
                if credential.secret_hash == digest
                else credential.previous_secret_hash
            )
    if credential is None:
        return None
    # Found by the hash of what was sent, so timing tells nothing about stored secrets; the
    # comparison is constant-time anyway, in case a database compares loosely.
    matched = getattr(credential, "wharf_matched_hash", "")
    if not matched or not hmac.compare_digest(matched, digest):
        return None
    return credential


def _login_credential(registry: Registry, username: str, password: str) -> LoginCredential | None:
    """The login command credential ``username`` of ``registry`` whose secret is ``password``,
    while it has neither expired nor been revoked (the database's clock decides)."""
    if not username.startswith(LOGIN_PREFIX):
        return None
    digest = hash_secret(password)
    login = (
        LoginCredential.objects.select_related("user")
        .filter(
            secret_hash=digest, username=username, registry=registry, revoked__isnull=True, expires__gt=Now()
        )
        .first()
    )
    if login is None or not hmac.compare_digest(login.secret_hash, digest) or not login.user.is_active:
        return None
    return login


def _api_token_user(username: str, password: str) -> AbstractBaseUser | None:
    from rest_framework.exceptions import AuthenticationFailed

    from portal.api.authentication import TokenAuthentication

    try:
        user, _token = TokenAuthentication().authenticate_key(password)
    except AuthenticationFailed:
        return None
    return user if user.get_username() == username else None


def _is_stale_credential(username: str) -> bool:
    """Whether a username no credential matched is a credential's all the same (a stale or
    mistyped secret), rather than a user's whose name happens to look like one."""
    return (
        username.startswith((CREDENTIAL_PREFIX, LOGIN_PREFIX))
        and not User.objects.filter(username=username).exists()
    )


def authenticate(
    registry: Registry, username: str, password: str, request: HttpRequest | None = None
) -> Principal | None:
    """The principal behind Basic credentials, ANONYMOUS without any, None when they are wrong.

    Order: a workspace pull credential of *this* registry (a SHA-256 check), then a personal
    API token, then the user's password (slow by design, so it comes last). A user whose name
    happens to look like a credential's still logs in with their own password.
    """
    if not username and not password:
        return ANONYMOUS
    credential = _credential(registry, username, password)
    if credential is not None:
        return Principal(subject=username, credential=credential)
    login = _login_credential(registry, username, password)
    if login is not None:
        return Principal(subject=username, user=login.user, login=login)
    if _is_stale_credential(username):
        # A stale or mistyped workspace secret (a kubelet retrying after a rotation): refused
        # without the deliberately slow password hash Django would run for an unknown user, and
        # counted towards a lockout as a wrong password would be (authenticate() counts those).
        lockout.record_failure(request, username)
        return None
    user = _api_token_user(username, password)
    if user is None:
        user = password_authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None
    return Principal(subject=user.get_username(), user=user)
