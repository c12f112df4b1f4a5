"""Workspace pull credentials of token-service registries (``ws-<workspace>``): their names,
the hash their secrets are found and checked by, and minting and rotating them.

Credentials are long random secrets, so they are found and checked by their SHA-256, never with
a password hash. The registry asks Wharf on every pull, so a new or rotated secret applies from
the next token request on: there is nothing to propagate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from portal import audit
from registries import access
from registries.models import PullCredential, Registry
from workspaces.models import Workspace

CREDENTIAL_PREFIX = "ws-"
# Login commands' credentials (registries/login_commands.py).
LOGIN_PREFIX = "wl-"
SECRET_BYTES = 32


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def credential_username(workspace: Workspace) -> str:
    return f"{CREDENTIAL_PREFIX}{workspace.name}"


def _require_token_registry(registry: Registry) -> None:
    if not registry.uses_token_service:
        raise ValueError(f"{registry} does not use Wharf's token service")


def _give_new_secret(credential: PullCredential, workspace: Workspace) -> str:
    """A fresh secret for ``credential`` (returned; the row keeps its hash and ciphertext), which
    is then in use: done, with no error."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    credential.username = credential_username(workspace)
    credential.set_secret(secret)
    credential.state = PullCredential.State.DONE
    credential.error = ""
    return secret


def mint_workspace_credential(
    workspace: Workspace, registry: Registry, actor: audit.Actor | None = None
) -> tuple[str, str]:
    """Create, or replace at once, ``workspace``'s pull credential for a token-service registry;
    returns (username, secret). A replaced secret is refused from the next token request on
    (rotate_credential() keeps it working for an overlap window). The state is done at once:
    the registry asks Wharf on every pull, there is nothing to propagate."""
    credential, secret = _mint(workspace, registry, actor, keep_existing=False)
    return credential.username, secret


@transaction.atomic
def _mint(
    workspace: Workspace, registry: Registry, actor: audit.Actor | None, *, keep_existing: bool
) -> tuple[PullCredential, str | None]:
    _require_token_registry(registry)
    # The row lock serialises two mints of one pair, so neither hands out a secret the other
    # has already replaced.
    credential, created = (
        PullCredential.objects.select_for_update(of=("self",))
        .select_related("registry")
        .get_or_create(workspace=workspace, registry=registry)
    )
    if keep_existing and not created and credential.secret_hash:
        return credential, None
    fresh = created or not credential.secret_hash
    secret = _give_new_secret(credential, workspace)
    credential.clear_previous()
    credential.reconciled = timezone.now()
    credential.save()
    audit.record(
        actor,
        "pull_credential.create" if fresh else "pull_credential.rotate",
        credential,
        after={"username": credential.username, "registry": registry.name, "workspace": workspace.name},
    )
    return credential, secret


def ensure_credentials(workspace: Workspace, actor: audit.Actor | None = None) -> list[PullCredential]:
    """``workspace``'s credential for every token-service registry it may pull from, minting
    the missing ones. Existing ones are kept as they are: they may already be in a cluster's
    pull secret. The secret of each is ``credential.get_secret()``."""
    registries = (
        access.registries_pullable_by_workspace(workspace)
        .filter(token_service=True, kind__in=Registry.kinds_supporting("token_service"))
        .order_by("name")
    )
    return [_mint(workspace, registry, actor, keep_existing=True)[0] for registry in registries]


def _keep_previous_secret(credential: PullCredential, overlap: int, now: dt.datetime) -> None:
    """Let the current secret keep working for ``overlap`` seconds (0: not at all), ending any
    older one at once: at most two secrets work."""
    if overlap > 0 and credential.secret_hash:
        credential.previous_username = credential.username
        credential.previous_secret_hash = credential.secret_hash
        credential.previous_valid_until = now + dt.timedelta(seconds=overlap)
    else:
        credential.clear_previous()


@transaction.atomic
def rotate_credential(
    credential: PullCredential, actor: audit.Actor | None, *, overlap: int, reason: str = ""
) -> str:
    """Give a token-service credential a new secret; returns it. The old secret keeps working
    for ``overlap`` seconds (0: refused at once), so namespaces can fetch the new one first. A
    second rotation inside the window ends the oldest secret at once: at most two work."""
    credential = (
        PullCredential.objects.select_for_update(of=("self",))
        .select_related("registry", "workspace")
        .get(pk=credential.pk)
    )
    _require_token_registry(credential.registry)
    now = timezone.now()
    _keep_previous_secret(credential, overlap, now)
    secret = _give_new_secret(credential, credential.workspace)
    credential.rotated = credential.reconciled = now
    credential.save()
    record_rotation(actor, credential, reason)
    return secret


def record_rotation(actor: audit.Actor | None, credential: PullCredential, reason: str) -> None:
    """The audit event of a pull credential's new secret, Wharf's or a Harbor robot's alike."""
    audit.record(
        actor,
        "pull_credential.rotate",
        credential,
        label=str(credential),
        after={
            "workspace": credential.workspace.name,
            "registry": credential.registry.name,
            "username": credential.username,
            "reason": reason,
            "previous_valid_until": credential.previous_valid_until.isoformat()
            if credential.previous_valid_until
            else None,
        },
    )
