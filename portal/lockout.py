"""Lockout after repeated failed logins, on every way in, with django-axes.

Axes counts failures in the database (shared by all workers) per what
``WHARF_LOGIN_LOCKOUT_PARAMETERS`` names, and its authentication backend refuses a locked-out
client before Django's password hasher runs, so guessing costs the server no hashing once
locked out. Password logins (the login page, the API's Basic auth, users at the token
service) reach axes through ``django.contrib.auth.authenticate``; the ways in that check no
password (API tokens, workspace pull credentials) ask ``is_locked`` first and report their
failures with ``record_failure``. The start of each lockout is an event in Wharf's audit log.

Valid credentials write nothing: no counter reset, no access log row (see the AXES_* settings);
only a login on the login page has axes delete expired failures, next to Django's own session
writes.
"""

import logging
from datetime import timedelta

from axes.backends import AxesStandaloneBackend
from axes.conf import settings as axes_settings
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_credentials, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import connections, router, transaction
from django.dispatch import receiver
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portal import audit
from portal.proxies import client_address

logger = logging.getLogger("wharf.lockout")

ACTION = "login.lockout"


class LockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check, first in AUTHENTICATION_BACKENDS. A login without a request (the
    test client's ``login()``, a script calling ``authenticate()``) comes from no client, so
    there is nothing to count it against; every way in over HTTP passes its request."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or not _failures_on_record(request, username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _failures_on_record(request, username: str | None) -> bool:
    """Whether axes holds any failed attempt by ``username`` or from this client's address.

    A client with none cannot be locked out, whatever the lockout parameters (the limit is at
    least one), and that is nearly every request with valid credentials. This answers it with
    one indexed read in plain SQL: axes' own check builds its ORM queries anew on every call,
    which costs more CPU than a whole token request, and the token service must sustain
    hundreds a second. Axes' exact check runs only when something is on record.
    """
    alias = router.db_for_read(AccessAttempt)
    connection = connections[alias]
    quote = connection.ops.quote_name
    conditions, params = [], []
    for column, value in (
        ("username", username),
        ("ip_address", connection.ops.adapt_ipaddressfield_value(client_address(request))),
    ):
        if value is None:
            conditions.append(f"{quote(column)} IS NULL")
        else:
            conditions.append(f"{quote(column)} = %s")
            params.append(value)
    sql = (
        f"SELECT 1 FROM {quote(AccessAttempt._meta.db_table)} "  # noqa: S608 - names, not input
        f"WHERE {' OR '.join(conditions)} LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def is_locked(request, username: str | None, *, username_on_record: bool | None = None) -> bool:
    """Whether ``username`` (None for an API token, which names nobody) may not log in from
    this request's client now. A locked-out request is marked as such for axes' middleware.

    ``username_on_record``: whether a failure by ``username`` is on record, when the caller
    learnt it in a query of its own (the token service's credential lookup). Unless an address
    alone is counted, that settles the first question without another read.
    """
    if not axes_settings.AXES_ENABLED or request is None:
        return False
    counts_addresses_alone = "ip_address" in settings.AXES_LOCKOUT_PARAMETERS
    if username_on_record is not None and not counts_addresses_alone:
        if not username_on_record:
            return False
    elif not _failures_on_record(request, username):
        return False
    credentials = get_credentials(username)
    if AxesProxyHandler.is_allowed(request, credentials):
        return False
    request.axes_locked_out = True
    request.axes_credentials = credentials
    return True


def record_failure(request, username: str | None) -> bool:
    """Count a failed login that did not go through ``authenticate()``; True if it started a
    lockout. Sent as Django's ``user_login_failed``, the signal axes counts."""
    if request is None:
        return False
    user_login_failed.send(sender=__name__, credentials=get_credentials(username), request=request)
    return locked_out(request)


def locked_out(request) -> bool:
    """Whether axes refused this request's login, or its failure started a lockout."""
    return bool(getattr(request, "axes_locked_out", False))


def cool_off(request=None) -> timedelta | None:
    return get_cool_off(request)


def retry_after(request=None) -> int | None:
    """Seconds a client waits at most before trying again; None until an Admin lifts it."""
    period = cool_off(request)
    return max(1, int(period.total_seconds())) if period else None


def _duration(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = (seconds + 59) // 60
    if minutes < 120:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = (minutes + 59) // 60
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def message(request=None) -> str:
    seconds = retry_after(request)
    if seconds is None:
        return _(
            "Too many failed login attempts: logging in is blocked, even with the right "
            "password, until an Admin lifts the lockout."
        )
    return _(
        "Too many failed login attempts: logging in is blocked for up to %(duration)s, "
        "even with the right password. Try again later, or ask an Admin to lift the "
        "lockout."
    ) % {"duration": _duration(seconds)}


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs):
    """The failure that starts a lockout is audited; attempts refused during it are not (axes
    leaves their failure count unset), so a client hammering a locked door adds no events."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    attempt = (
        AccessAttempt.objects.filter(username=username, ip_address=ip_address)
        .order_by("-attempt_time")
        .first()
    ) or AccessAttempt(username=username, ip_address=ip_address)
    who = username if username is not None else "API token"
    label = f"{who} from {ip_address or 'unknown address'}"[:255]
    seconds = retry_after(request)
    logger.warning("login lockout: %s after %d failed attempts at %s", label, failures, request.path)
    with transaction.atomic():
        audit.record(
            None,
            ACTION,
            attempt,
            label=label,
            after={
                "username": username,
                "address": ip_address,
                "failures": failures,
                "limit": get_failure_limit(request, kwargs.get("credentials")),
                "cooloff_seconds": seconds,
                "path": request.path[:255],
                "parameters": [
                    param if isinstance(param, str) else "+".join(param)
                    for param in settings.AXES_LOCKOUT_PARAMETERS
                ],
            },
        )
