"""Signing in with the provider's verified claims: find or create the user, then set the roles.

Everything is decided before the first write, and all writes share one transaction, so a refused
sign-in creates no user and changes nothing.
"""

import hashlib
import logging
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal import audit
from portal.permissions import ADMIN_GROUP
from sso.conf import provider_name
from sso.errors import AccountDisabled, ClaimsRefused
from sso.models import OidcIdentity
from sso.roles import ClaimedRoles, roles_from_claims
from workspaces import services as workspace_services

log = logging.getLogger(__name__)

# Profile claims copied to the user at every sign-in (never used to find the user).
PROFILE_CLAIMS = {"email": "email", "given_name": "first_name", "family_name": "last_name"}


def subject_of(claims: dict) -> str:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise ClaimsRefused(f"the sub claim is missing or unusable: {type(subject).__name__}")
    return subject


def sign_in(issuer: str, claims: dict, *, via: str):
    """The user for verified ``claims`` from ``issuer``, with roles set from its groups.

    ``via`` is "browser" (a sign-in: records the time) or "api" (a bearer token: writes only
    when the claims change something, so API reads stay reads).
    """
    subject = subject_of(claims)
    roles = roles_from_claims(claims)
    identity = OidcIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is not None and not identity.user.is_active:
        raise AccountDisabled(f"user {identity.user.get_username()!r} ({subject} at {issuer}) is inactive")
    if via == "api" and identity is not None and _nothing_to_change(identity, roles, claims):
        return identity.user
    with transaction.atomic():
        identity = (
            OidcIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None:
            identity = _create_identity(issuer, subject, claims)
        user = identity.user
        _update_profile(user, claims, via=via)
        _sync_admin(identity, roles)
        unknown = workspace_services.sync_memberships_by_sign_in(
            user, roles.workspaces, provider=provider_name()
        )
        if via == "browser":
            identity.last_sign_in = timezone.now()
        identity.save(update_fields=["last_sign_in", "admin_from_provider"])
    if unknown:
        log.info(
            "sign-in of %s: the provider names workspaces Wharf does not have: %s",
            user.get_username(),
            ", ".join(unknown),
        )
    log.info("signed in %s (%s at %s) via %s", user.get_username(), subject, issuer, via)
    return user


def _nothing_to_change(identity: OidcIdentity, roles: ClaimedRoles, claims: dict) -> bool:
    user = identity.user
    return (
        not _profile_changes(user, claims)
        and _admin_change(identity, roles, _in_admin_group(user)) is None
        and workspace_services.memberships_follow_sign_in(user, roles.workspaces)
    )


def _create_identity(issuer: str, subject: str, claims: dict) -> OidcIdentity:
    User = get_user_model()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                user = User(username=_free_username(issuer, subject, claims))
                user.set_unusable_password()
                user.save()
                identity = OidcIdentity.objects.create(user=user, issuer=issuer, subject=subject)
            break
        except IntegrityError:
            # Two first sign-ins at once: the same person in two tabs (use the user the other
            # made), or two people wanting the same username (pick another).
            existing = (
                OidcIdentity.objects.select_for_update()
                .select_related("user")
                .filter(issuer=issuer, subject=subject)
                .first()
            )
            if existing is not None:
                return existing
    else:
        raise IntegrityError(f"no free username for {subject} at {issuer}")
    audit.record(
        None, "user.sign_in_create", user, after={"user": user.get_username(), "by": provider_name()}
    )
    return identity


def _free_username(issuer: str, subject: str, claims: dict) -> str:
    """A readable, unused username. It only labels the user; (issuer, sub) identifies them, so a
    provider account called "admin" becomes "admin-2" rather than someone else's account."""
    User = get_user_model()
    wanted = claims.get("preferred_username") or ""
    if not isinstance(wanted, str):
        wanted = ""
    base = re.sub(r"[^\w.@+-]", "-", wanted).strip("-.")[:140]
    if not base:
        base = "sso-" + hashlib.sha256(f"{issuer} {subject}".encode()).hexdigest()[:12]
    candidate, number = base, 2
    while User.objects.filter(username__iexact=candidate).exists():
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _profile_changes(user, claims: dict) -> dict[str, str]:
    changes = {}
    for claim, attribute in PROFILE_CLAIMS.items():
        value = claims.get(claim)
        if isinstance(value, str) and getattr(user, attribute) != value[:150]:
            changes[attribute] = value[:150]
    return changes


def _update_profile(user, claims: dict, *, via: str) -> None:
    changes = _profile_changes(user, claims)
    if via == "browser":
        changes["last_login"] = timezone.now()
    for attribute, value in changes.items():
        setattr(user, attribute, value)
    if changes:
        user.save(update_fields=list(changes))


def _in_admin_group(user) -> bool:
    return user.groups.filter(name=ADMIN_GROUP).exists()


def _admin_change(identity: OidcIdentity, roles: ClaimedRoles, is_member: bool) -> str | None:
    if roles.admin and not is_member:
        return "grant"
    if not roles.admin and is_member and identity.admin_from_provider:
        return "revoke"
    if not is_member and identity.admin_from_provider:
        # Someone removed the role in Wharf meanwhile; nothing of the provider's is left to undo.
        return "forget"
    return None


def _sync_admin(identity: OidcIdentity, roles: ClaimedRoles) -> None:
    """The platform Admin role follows the provider's admin group, unless Wharf made it."""
    user = identity.user
    change = _admin_change(identity, roles, _in_admin_group(user))
    if change == "grant":
        # get_or_create: the group is made by a migration, but an operator may have deleted it.
        user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
        identity.admin_from_provider = True
        audit.record(
            None,
            "admin.sign_in_grant",
            user,
            after={"user": user.get_username(), "role": ADMIN_GROUP, "by": provider_name()},
        )
    elif change == "revoke":
        user.groups.remove(Group.objects.get(name=ADMIN_GROUP))
        identity.admin_from_provider = False
        audit.record(
            None,
            "admin.sign_in_revoke",
            user,
            before={"user": user.get_username(), "role": ADMIN_GROUP, "by": provider_name()},
        )
    elif change == "forget":
        identity.admin_from_provider = False
    user.__dict__.pop("_wharf_is_admin", None)
