"""The namespace pull secret: a `kubernetes.io/dockerconfigjson` Secret named `registry-secret`.

It carries the workspace's pull credential for every registry the workspace can pull from, so
the pods of a namespace pull exactly what the picker shows for that namespace.
"""

import base64
import json
from dataclasses import dataclass

import yaml
from django.db import transaction

from portal import audit
from registries import tokens
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


def covered_registries(workspace) -> list[CoveredRegistry]:
    """Registries whose pulls need a credential: Harbor with robots, and token-service registries.

    Token-service credentials are minted here when missing (Wharf checks them itself, so they
    work at once); Harbor robots are made by reconciliation when a binding changes.
    """
    tokens.ensure_credentials(workspace)
    credentials = {c.registry_id: c for c in PullCredential.objects.filter(workspace=workspace)}
    registries = Registry.objects.filter(is_demo=False).filter(
        pk__in=set(credentials)
    ).order_by("name")
    return [CoveredRegistry(registry, credentials.get(registry.pk)) for registry in registries]


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
def fetch_pull_secret(namespace, actor) -> dict:
    """The Secret manifest for ``namespace``; every fetch is audited (never the secret itself)."""
    entries = covered_registries(namespace.workspace)
    manifest = secret_manifest(namespace, entries)
    audit.record(actor, "namespace.pull_secret", namespace, after={
        "workspace": namespace.workspace.name,
        "registries": [entry.registry.name for entry in entries if entry.ready],
    })
    return manifest


def as_yaml(manifest: dict) -> str:
    return yaml.safe_dump(manifest, sort_keys=False)
