"""The namespace pull secret: a `kubernetes.io/dockerconfigjson` Secret named `registry-secret`.

It carries the workspace's pull credential for every registry the workspace can pull from, so
the pods of a namespace pull exactly what the picker shows for that namespace.
"""

import base64
import json
from dataclasses import dataclass

import yaml
from django.db import transaction
from django.db.models import Q

from portal import audit
from registries import access, tokens
from registries.models import PullCredential, Registry

SECRET_NAME = "registry-secret"


@dataclass
class CoveredRegistry:
    registry: Registry
    credential: PullCredential | None

    @property
    def ready(self) -> bool:
        # A credential whose permissions are being updated (pending) or could not be updated
        # (failed) still authenticates with its stored secret; leaving it out would break pulls
        # of everything it already grants.
        return bool(self.credential and self.credential.username and self.credential.secret_encrypted)


def _uses_token_service(registry: Registry) -> bool:
    return registry.token_service and registry.kind_plugin.token_service


def covered_registries(workspace) -> list[CoveredRegistry]:
    """Registries whose pulls need a credential: Harbor with robots, and token-service registries.

    Reads only: a token-service registry without a credential yet is listed with
    ``credential=None`` (``mint_missing`` creates it, when a secret is downloaded).
    """
    credentials = {c.registry_id: c for c in PullCredential.objects.filter(workspace=workspace)}
    token_registries = token_service_registries(workspace).values("pk")
    registries = (
        Registry.objects.filter(is_demo=False)
        .filter(Q(pk__in=set(credentials)) | Q(pk__in=token_registries))
        .order_by("name")
    )
    return [CoveredRegistry(registry, credentials.get(registry.pk)) for registry in registries]


def token_service_registries(workspace):
    """The token-service registries ``workspace`` may pull from: each needs its credential."""
    return access.registries_pullable_by_workspace(workspace).filter(
        token_service=True, kind__in=Registry.kinds_supporting("token_service")
    )


def mint_missing(workspace, actor=None) -> None:
    """Mint ``workspace``'s missing token-service credentials (Wharf checks them itself, so they
    work at once); Harbor robots are made by reconciliation when a binding changes."""
    tokens.ensure_credentials(workspace, actor)


def access_granted(registry: Registry, workspaces, actor=None) -> None:
    """A change (a bind, a space made private) lets ``workspaces`` pull from ``registry``.

    For a token-service registry their credentials are minted now, in the change's
    transaction: a secret fetched with the API's GET, which writes nothing but its audit
    event, then already carries them.
    """
    if not _uses_token_service(registry):
        return
    for workspace in workspaces:
        mint_missing(workspace, actor)


def _docker_config(entries: list[CoveredRegistry]) -> dict:
    auths = {}
    for entry in entries:
        if not entry.ready:
            continue
        username, secret = entry.credential.username, entry.credential.get_secret()
        auths[entry.registry.host] = {
            "username": username,
            "password": secret,
            "auth": base64.b64encode(f"{username}:{secret}".encode()).decode(),
        }
    return {"auths": auths}


def secret_manifest(namespace, entries: list[CoveredRegistry]) -> dict:
    config = json.dumps(_docker_config(entries), separators=(",", ":"), sort_keys=True)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": SECRET_NAME,
            "namespace": namespace.name,
            "labels": {"app.kubernetes.io/managed-by": "wharf"},
        },
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()},
    }


@transaction.atomic
def fetch_pull_secret(namespace, actor, *, mint: bool) -> dict:
    """The Secret manifest for ``namespace``; every fetch is audited (never the secret itself).

    ``mint``: create the missing token-service credentials first (a download, a POST). A GET
    passes False: it may write its audit event and nothing else, so a registry without a
    credential yet is left out of the Secret.
    """
    if mint:
        mint_missing(namespace.workspace, actor)
    entries = covered_registries(namespace.workspace)
    manifest = secret_manifest(namespace, entries)
    audit.record(
        actor,
        "namespace.pull_secret",
        namespace,
        after={
            "workspace": namespace.workspace.name,
            "registries": [entry.registry.name for entry in entries if entry.ready],
        },
    )
    return manifest


def as_yaml(manifest: dict) -> str:
    return yaml.safe_dump(manifest, sort_keys=False)
