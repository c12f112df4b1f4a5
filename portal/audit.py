"""Audit events: written inside the same transaction as the change they record."""

from contextvars import ContextVar
from typing import TYPE_CHECKING, cast

from django.db import transaction

if TYPE_CHECKING:
    # For the types only: portal.logs imports this module while logging is configured, before
    # the apps (and so the User model) are loaded.
    from django.contrib.auth.models import User

    from portal.roles import Person

current_request_id: ContextVar[str] = ContextVar("wharf_request_id", default="")

SECRET_FIELDS = {"password", "password_encrypted", "secret", "token", "ca_bundle_key"}


def _scrub(data: dict | None) -> dict | None:
    if data is None:
        return None
    return {key: ("***" if key in SECRET_FIELDS else value) for key, value in data.items()}


class SystemActor:
    """Who acted when no person did, by name (e.g. ``EXPIRY`` for bindings that ended)."""

    is_authenticated = False
    pk = None

    def __init__(self, name: str):
        self.name = name

    def __str__(self):
        return self.name


EXPIRY = SystemActor("expiry")

# Whom a change is recorded for: a person (``request.user``) or the system by name; services
# that may also run with nobody at all take ``Actor | None``.
type Actor = Person | SystemActor


def signed_in(actor: Actor | None) -> "User | None":
    """The signed-in user who acted, or None (an anonymous visitor, the system)."""
    if actor is not None and actor.is_authenticated:
        # Only a User is authenticated (AnonymousUser and SystemActor never are).
        return cast("User", actor)
    return None


def record(
    actor,
    action: str,
    target,
    *,
    before: dict | None = None,
    after: dict | None = None,
    label: str | None = None,
):
    """Write one event. Callers are inside ``transaction.atomic``; we insist on it."""
    from portal.models import AuditEvent

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record() must run inside the transaction of the change")
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_name=actor.get_username() if is_user else getattr(actor, "name", "system"),
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=label if label is not None else str(target),
        before=_scrub(before),
        after=_scrub(after),
        request_id=current_request_id.get(),
    )
