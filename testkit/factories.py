"""Objects tests and benchmarks build on, made the short way (straight into the database).

Each factory names what a test cares about and defaults the rest the way most tests had it:
a demo Harbor ``harbor`` (never contacted), a private space, the two workspaces of the personas.
They write rows directly, as fixtures do: what a test exercises goes through the services.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

# The personas' workspaces (testkit.personas) and the descriptions their fixtures always had.
WORKSPACE_DESCRIPTIONS = {"payments": "Payments team", "search": "Search team"}


def make_workspace(name="payments", description=None):
    """A workspace; ``payments`` and ``search`` get the descriptions the personas' fixtures use."""
    from workspaces.models import Workspace

    if description is None:
        description = WORKSPACE_DESCRIPTIONS.get(name, "")
    return Workspace.objects.create(name=name, description=description)


def workspace_named(name):
    """The workspace ``name``, made if missing."""
    from workspaces.models import Workspace

    return Workspace.objects.filter(name=name).first() or make_workspace(name)


def make_workspaces(*names):
    """Several workspaces with no members (the "teams" of binding tests)."""
    return [make_workspace(name) for name in names]


def make_registry(name="harbor", kind="harbor", url=None, *, is_demo=True, **fields):
    """A registry; by default a demo Harbor, which sync and robots never contact."""
    from registries.models import Registry

    return Registry.objects.create(
        name=name, kind=kind, url=url or f"https://{name}.example.com", is_demo=is_demo, **fields
    )


def make_space(registry=None, name="vault", visibility="private", **fields):
    """A space of ``registry`` (a new demo Harbor when None)."""
    from registries.models import RegistrySpace

    registry = registry or make_registry()
    space = RegistrySpace.objects.create(registry=registry, name=name, visibility=visibility, **fields)
    # As registries.services.create_space does: the registry's space count follows.
    registry.spaces_changed()
    return space


def bind(space, *workspaces, expires=None):
    """Bind ``space`` to ``workspaces``; returns the bindings."""
    from registries.models import SpaceBinding

    return [
        SpaceBinding.objects.create(space=space, workspace=workspace, expires=expires)
        for workspace in workspaces
    ]


def digest(*parts: str) -> str:
    """A stable, well-formed digest for the given names (the same names, the same digest)."""
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


def make_repository(
    space,
    name="app",
    tags: Iterable[str] = ("1.0", "latest"),
    *,
    pushed: datetime | None = None,
    platforms=("linux/amd64",),
    **fields,
):
    """A repository ``<space>/<name>`` (or ``name`` if it holds a slash) with ``tags``.

    Each tag gets its own digest; ``pushed`` (default: now) is the newest tag's push time.
    """
    from datetime import timedelta

    from django.utils import timezone

    from registries.models import Repository, Tag

    tags = list(tags)
    pushed = pushed or timezone.now()
    full_name = name if "/" in name else f"{space.name}/{name}"
    fields.setdefault("tag_count", len(tags))
    fields.setdefault("last_push", pushed)
    fields.setdefault("synced", pushed)
    repository = Repository.objects.create(space=space, name=full_name, **fields)
    Tag.objects.bulk_create(
        [
            Tag(
                repository=repository,
                name=tag,
                digest=digest(space.registry.name, full_name, tag),
                size=25_000_000 + position,
                pushed=pushed - timedelta(hours=position),
                platforms=list(platforms),
            )
            for position, tag in enumerate(tags)
        ]
    )
    return repository


def make_cluster(name="prod"):
    from workspaces.models import Cluster

    return Cluster.objects.create(name=name)


def make_namespace(name="payments-prod", workspace=None, cluster=None):
    """A namespace of ``cluster`` (the cluster ``prod``, made if missing), bound to ``workspace``."""
    from workspaces.models import Cluster, Namespace

    cluster = cluster or Cluster.objects.filter(name="prod").first() or make_cluster("prod")
    return Namespace.objects.create(cluster=cluster, name=name, workspace=workspace)


def make_pull_credential(
    workspace,
    registry,
    *,
    secret="s3cr3t-robot-value",
    username=None,
    state="done",
    upstream_id="7",
    **fields,
):
    """A workspace's pull credential for ``registry`` as a finished propagation leaves it:
    a Harbor robot (its id ``upstream_id``) whose secret is ``secret``."""
    from registries.models import PullCredential

    credential = PullCredential(
        workspace=workspace,
        registry=registry,
        username=username or f"robot$wharf-ws-{workspace.name}",
        state=state,
        upstream_id=upstream_id,
        **fields,
    )
    credential.set_secret(secret)
    credential.save()
    return credential
