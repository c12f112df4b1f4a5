"""Writes to user accounts, each with its audit event.

Django admin is where platform Admins manage accounts; it calls these, like everything else.
Passwords never reach the audit log: an event says only that one was set.
"""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor
from portal.errors import ServiceError

if TYPE_CHECKING:
    from portal.models import UserPreference

PROFILE_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_superuser")


def user_snapshot(user: User) -> dict[str, Any]:
    snapshot = {name: getattr(user, name) for name in PROFILE_FIELDS}
    snapshot["groups"] = sorted(user.groups.values_list("name", flat=True)) if user.pk else []
    return snapshot


@transaction.atomic
def create_user(actor: Actor | None, *, username: str, password: str | None, **fields: Any) -> User:
    """``password=None`` creates an account that cannot sign in with a password."""
    user = get_user_model()(username=username, **fields)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    after = user_snapshot(user)
    after["password_sign_in"] = bool(password)
    audit.record(actor, "user.create", user, after=after)
    return user


@transaction.atomic
def update_user(
    user: User, actor: Actor | None, *, groups: Iterable[Group] | None = None, **fields: Any
) -> User:
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    before = user_snapshot(user)
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not a profile field: {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(user, name, value)
    if fields:
        user.save(update_fields=list(fields))
    if groups is not None:
        user.groups.set(groups)
    after = user_snapshot(user)
    if after != before:
        audit.record(
            actor,
            "user.update",
            user,
            before={key: value for key, value in before.items() if after[key] != value},
            after={key: value for key, value in after.items() if before[key] != value},
        )
    return user


@transaction.atomic
def set_password(user: User, actor: Actor | None, raw: str | None) -> User:
    """Set a new password, or with ``None`` turn password sign-in off."""
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if raw:
        user.set_password(raw)
    else:
        user.set_unusable_password()
    user.save(update_fields=["password"])
    audit.record(actor, "user.password", user, after={"password_sign_in": bool(raw)})
    return user


@transaction.atomic
def delete_user(user: User, actor: Actor | None) -> None:
    """Leave every workspace through the membership service first, then delete the account.

    A cascade would drop the memberships around the last-Workspace-Admin rule and around
    everything that follows a member leaving.
    """
    from workspaces import services as workspace_services

    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if actor is not None and user.pk == actor.pk:
        raise ServiceError(_("You cannot delete your own account."))
    for membership in user.memberships.select_related("user", "workspace"):
        workspace_services.remove_member(membership, actor)
    audit.record(actor, "user.delete", user, before=user_snapshot(user))
    user.delete()


def set_language_preference(user: User, language: str) -> "UserPreference":
    """Keep ``language`` as the person's own choice; it applies at their next sign-in too."""
    from portal.models import UserPreference

    if language not in dict(settings.LANGUAGES):
        raise ServiceError(_("Unknown language."))
    preference, _created = UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    return preference
