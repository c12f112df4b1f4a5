""" "Generate login command": a temporary registry login for the signed-in user.

What it may do is what the user's role allows in that registry (registries.access): pull on
what they may see, push where they may push. It lives at most WHARF_LOGIN_COMMAND_MAX_LIFETIME
seconds, its secret is shown once (only its SHA-256 is kept), it can be revoked, and creating
and revoking it are audited (never the secret).

* Token-service registries: a Wharf credential (``wl-...``) the token service checks itself;
  each token request asks the access rule afresh, so an unbind or a role change applies to it
  at once, and expiry or revocation refuses the next token.
* Platform Harbor: a system robot with exactly those permissions, as of its creation, and
  Harbor's own expiry (whole days, so one day); Wharf deletes it when it expires (``sweep``)
  or is revoked, and the periodic reconcile deletes robots of this Wharf's logins it no longer
  knows (``robots.sweep_leftover_login_robots``).
* Other registries: not supported (``supports``).

Pages, the API and the commands call these functions; nothing else writes LoginCredential.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import shlex
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.crypto import DecryptionError
from registries import access, background, outbound, robots, tokens
from registries.clients import RegistryError
from registries.kinds import client_for
from registries.models import LoginCredential, Registry
from registries.services import ServiceError

logger = logging.getLogger("wharf.login_commands")

TOKEN_PREFIX = tokens.LOGIN_PREFIX
ROBOT_PREFIX = robots.LOGIN_ROBOT_PREFIX
SECRET_BYTES = 32
MIN_LIFETIME = 60
# Harbor's robot duration is in whole days: the least it takes.
HARBOR_DAYS = 1

TOKEN_SERVICE, HARBOR = "token", "harbor"


class UnknownLogin(Exception):
    """No login command of this user on this registry has that username."""


def kind(registry: Registry) -> str | None:
    """How this registry gets login commands, or None: not supported."""
    if registry.uses_token_service:
        return TOKEN_SERVICE
    if robots.manages_robots(registry):
        return HARBOR
    return None


def supports(registry: Registry) -> bool:
    return kind(registry) is not None


def max_lifetime() -> int:
    return int(settings.WHARF_LOGIN_COMMAND_MAX_LIFETIME)


def lifetime_from(value) -> int:
    """The lifetime asked for, in seconds, capped at the maximum; None or "" is the maximum.
    Anything but a whole number of at least MIN_LIFETIME seconds is refused."""
    if value is None or value == "":
        return max_lifetime()
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ServiceError(_("The lifetime must be a whole number of seconds."), "lifetime")
    if isinstance(value, str):
        if not re.fullmatch(r"\s*[0-9]{1,9}\s*", value):
            raise ServiceError(_("The lifetime must be a whole number of seconds."), "lifetime")
        value = int(value)
    if value < MIN_LIFETIME:
        raise ServiceError(
            _("The lifetime must be at least %(seconds)d seconds.") % {"seconds": MIN_LIFETIME}, "lifetime"
        )
    return min(value, max_lifetime())


@dataclass(frozen=True)
class Generated:
    """What the user sees once."""

    username: str
    password: str = field(repr=False)
    expires: dt.datetime
    command: str = field(repr=False)
    credential: LoginCredential | None = None


def docker_login_command(registry: Registry, username: str, password: str) -> str:
    return (
        f"echo {shlex.quote(password)} | docker login {shlex.quote(registry.host)} "
        f"--username {shlex.quote(username)} --password-stdin"
    )


def active_for(user, registry: Registry):
    """The user's login commands for ``registry`` that still work, newest first (no secrets)."""
    return (
        LoginCredential.objects.filter(
            user=user,
            registry=registry,
            revoked__isnull=True,
            expires__gt=timezone.now(),
        )
        .exclude(username="")
        .only("id", "username", "expires", "created", "user_id", "registry_id")
    )


def _scopes(user, registry: Registry) -> tuple[list[str], list[str]]:
    """(pull, push): the spaces of ``registry`` the user may pull from and push into now."""
    pull = access.spaces_for_user(user, healthy_only=False).filter(registry=registry)
    push = access.pushable_spaces(user, registry)
    return (sorted(pull.values_list("name", flat=True)), sorted(push.values_list("name", flat=True)))


def generate(user, registry: Registry, lifetime=None) -> Generated:
    """A new login command for ``user`` at ``registry``. The caller has checked the registry is
    one the user may see (``access.registries_for_user``)."""
    seconds = lifetime_from(lifetime)
    how = kind(registry)
    if how is None:
        raise ServiceError(
            _(
                "This registry does not support login commands: only Docker Registries "
                "using Wharf's token service and Harbor registries of the platform do."
            )
        )
    expires = timezone.now() + dt.timedelta(seconds=seconds)
    if how == TOKEN_SERVICE:
        return _generate_token(user, registry, expires)
    return _generate_robot(user, registry, expires)


def _event(actor, action: str, credential: LoginCredential, **extra) -> None:
    audit.record(
        actor,
        action,
        credential,
        label=str(credential),
        after={
            "username": credential.username,
            "registry": credential.registry.name,
            "user": credential.user.get_username(),
            "expires": credential.expires.isoformat(),
            **extra,
        },
    )


@transaction.atomic
def _generate_token(user, registry: Registry, expires: dt.datetime) -> Generated:
    secret = secrets.token_urlsafe(SECRET_BYTES)
    username = f"{TOKEN_PREFIX}{secrets.token_hex(6)}"
    credential = LoginCredential.objects.create(
        user=user,
        registry=registry,
        username=username,
        secret_hash=tokens.hash_secret(secret),
        expires=expires,
    )
    _event(user, "login_command.create", credential)
    _schedule_sweep(expires)
    return Generated(username, secret, expires, docker_login_command(registry, username, secret), credential)


def _client(registry: Registry):
    # A person is waiting: the request's deadline holds.
    return client_for(registry.kind, registry.connection())


def _generate_robot(user, registry: Registry, expires: dt.datetime) -> Generated:
    pull, push = _scopes(user, registry)
    if not pull and not push:
        raise ServiceError(
            _("There is nothing in this registry you may pull or push, so there is nothing to log in to.")
        )
    # The row first (no username yet: it logs in to nothing), so a robot Harbor made is always
    # one this Wharf can name, and the leftover sweep never takes it for a stranger's.
    with transaction.atomic():
        credential = LoginCredential.objects.create(
            user=user, registry=registry, expires=expires, granted={"pull": pull, "push": push}
        )
    name = f"{ROBOT_PREFIX}{user.pk}-{secrets.token_hex(4)}"
    try:
        with _client(registry) as harbor:
            robot = harbor.create_login_robot(
                name, pull, push, robots.login_robot_description(credential), HARBOR_DAYS
            )
    except RegistryError as error:
        LoginCredential.objects.filter(pk=credential.pk).delete()
        outbound.log_failure(registry, "Creating a login robot", error)
        raise ServiceError(
            _("Harbor did not create the robot account: %(error)s")
            % {"error": outbound.shown_message(registry, error, user)}
        ) from None
    except DecryptionError:
        LoginCredential.objects.filter(pk=credential.pk).delete()
        raise ServiceError(
            _("Wharf cannot decrypt this registry's password; an Admin must enter it again.")
        ) from None
    with transaction.atomic():
        credential.username = robot.name
        credential.upstream_id = str(robot.id)
        credential.secret_hash = tokens.hash_secret(robot.secret)
        credential.save(update_fields=["username", "upstream_id", "secret_hash"])
        _event(user, "login_command.create", credential, pull=pull, push=push)
    _schedule_sweep(expires)
    return Generated(
        robot.name,
        robot.secret,
        expires,
        docker_login_command(registry, robot.name, robot.secret),
        credential,
    )


def revoke(user, registry: Registry, username: str) -> None:
    """End one of the user's login commands at ``registry`` now. UnknownLogin if there is none
    by that name (expired and already swept ones included)."""
    if not isinstance(username, str) or not username:
        raise UnknownLogin
    with transaction.atomic():
        credential = (
            LoginCredential.objects.select_for_update(of=("self",))
            .select_related("registry", "user")
            .filter(user=user, registry=registry, username=username, revoked__isnull=True)
            .first()
        )
        if credential is None:
            raise UnknownLogin
        credential.revoked = timezone.now()
        credential.save(update_fields=["revoked"])
        _event(user, "login_command.revoke", credential)
    # The token service refuses it from now on; a robot is deleted now, or by the sweep.
    _finish(credential)


def _finish(credential: LoginCredential) -> bool:
    """Delete an expired or revoked login (its robot first); False when Harbor could not be
    told, so the row stays for the next sweep."""
    if credential.upstream_id.isdigit() and robots.manages_robots(credential.registry):
        errors = robots._delete_quietly(credential.registry, [int(credential.upstream_id)])
        if errors:
            return False
    LoginCredential.objects.filter(pk=credential.pk).delete()
    return True


def sweep(now: dt.datetime | None = None) -> tuple[int, int]:
    """Delete every expired or revoked login command, their robots first. Returns (deleted,
    left for the next run because Harbor did not answer). Idempotent."""
    now = now or timezone.now()
    ended = (
        LoginCredential.objects.filter(Q(expires__lte=now) | Q(revoked__isnull=False))
        .select_related("registry")
        .order_by("registry_id", "id")
    )
    deleted = left = 0
    down: set[int] = set()
    for credential in ended:
        if credential.registry_id in down:
            left += 1
            continue
        if _finish(credential):
            deleted += 1
        else:
            left += 1
            down.add(credential.registry_id)
    if deleted or left:
        logger.info("Login commands swept: %d deleted, %d left for the next run", deleted, left)
    return deleted, left


def _schedule_sweep(when: dt.datetime) -> None:
    """Where the task backend can run a task later, sweep when this one expires; the periodic
    ``manage.py sweep_login_commands`` does it otherwise (and catches any this one missed)."""
    sweep_login_commands_task = background.task("sweep_login_commands_task")

    def enqueue():
        if sweep_login_commands_task.get_backend().supports_defer:
            sweep_login_commands_task.using(run_after=when).enqueue()

    transaction.on_commit(enqueue, robust=True)
