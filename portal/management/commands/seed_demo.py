"""Demo data for `make run`: realistic, idempotent, and never contacting a registry."""

import hashlib
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from portal.permissions import ADMIN_GROUP
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag
from workspaces.models import Cluster, Membership, Namespace, Workspace

DEMO_PASSWORD = "wharf-demo"

WORKSPACES = {
    "payments": "Card processing and settlement services",
    "search": "Search indexing and query APIs",
    "data-platform": "Batch pipelines and the data lake",
    "mobile-backend": "APIs for the mobile apps",
    "observability": "Metrics, logs and tracing stack",
    "ml-research": "Model training and experiments",
}

# username -> (workspace, role)
MEMBERS = {
    "alice": ("payments", "admin"),
    "bob": ("payments", "editor"),
    "carol": ("payments", "viewer"),
    "dave": ("search", "admin"),
    "erin": ("search", "editor"),
    "frank": ("data-platform", "editor"),
    "grace": ("ml-research", "admin"),
}

CLUSTERS = {
    "prod-cluster": [
        ("payments-prod", "payments"),
        ("search-prod", "search"),
        ("data-etl", "data-platform"),
        ("monitoring", "observability"),
        ("sandbox", None),
    ],
    "dev-cluster": [
        ("payments-dev", "payments"),
        ("search-dev", "search"),
        ("mobile-dev", "mobile-backend"),
        ("experiments", "ml-research"),
        ("scratch", None),
        ("default", None),
    ],
}

# registry -> {space: (visibility, [bound workspaces], {repository: [(tag, platforms)]})}
MULTI = ["linux/amd64", "linux/arm64"]
AMD64 = ["linux/amd64"]
REGISTRIES = {
    ("demo-harbor", "harbor", "https://harbor.demo.wharf.invalid"): {
        "library": (
            "public",
            [],
            {
                "nginx": [("1.27", MULTI), ("1.26", MULTI), ("latest", MULTI)],
                "redis": [("7.4", MULTI), ("7.2", AMD64)],
                "postgres": [("17", MULTI), ("16", MULTI)],
                "busybox": [("1.37", MULTI)],
            },
        ),
        "base-images": (
            "public",
            [],
            {
                "python": [("3.13-slim", MULTI), ("3.12-slim", MULTI)],
                "node": [("22-alpine", MULTI), ("20-alpine", AMD64)],
                "distroless/static": [("nonroot", MULTI)],
            },
        ),
        "payments": (
            "private",
            ["payments"],
            {
                "gateway": [("2.4.1", AMD64), ("2.4.0", AMD64), ("latest", AMD64)],
                "ledger": [("1.9.0", MULTI)],
                "fraud-scorer": [("0.7.3", AMD64)],
            },
        ),
        "search": (
            "private",
            ["search", "mobile-backend"],
            {
                "indexer": [("5.1.0", AMD64), ("5.0.2", AMD64)],
                "query-api": [("5.1.0", MULTI)],
            },
        ),
        "ml-models": (
            "private",
            ["ml-research", "data-platform"],
            {
                "trainer": [("2026.11", AMD64)],
                "notebook": [("lab-4", AMD64)],
            },
        ),
        "infra-tools": (
            "private",
            [],
            {
                "terraform-runner": [("1.9", AMD64)],
            },
        ),
    },
    ("demo-registry", "distribution", "https://registry.demo.wharf.invalid"): {
        "library": (
            "public",
            [],
            {
                "alpine": [("3.20", MULTI), ("3.19", MULTI)],
                "curl": [("8.10.1", MULTI)],
            },
        ),
        "observability": (
            "private",
            ["observability"],
            {
                "otel-collector": [("0.112.0", MULTI)],
                "grafana-agent": [("1.4", AMD64)],
            },
        ),
    },
    # Artifactory's spaces are its Docker repositories; images are named <repo-key>/<image>.
    ("demo-artifactory", "artifactory", "https://artifactory.demo.wharf.invalid"): {
        "docker-local": (
            "private",
            ["payments"],
            {
                "billing-api": [("3.2.0", AMD64), ("3.1.4", AMD64)],
            },
        ),
        "docker-remote": (
            "public",
            [],
            {
                "library/nginx": [("1.27", MULTI)],
            },
        ),
        "docker-virtual": (
            "private",
            [],
            {
                "billing-api": [("3.2.0", AMD64), ("3.1.4", AMD64)],
                "library/nginx": [("1.27", MULTI)],
            },
        ),
    },
}

WORKSPACE_REGISTRY = (
    "ml-research-registry",
    "harbor",
    "https://harbor.ml.demo.wharf.invalid",
    "ml-research",
    {"datasets": ("private", [], {"imagenet-loader": [("0.3", AMD64)]})},
)


def fake_digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("/".join(parts).encode()).hexdigest()


class Command(BaseCommand):
    help = "Create (or refresh) demo users, workspaces, namespaces, registries and images."

    @transaction.atomic
    def handle(self, *args, **options):
        now = timezone.now()
        admin_group = Group.objects.get(name=ADMIN_GROUP)
        # The Admin group opens /admin/ too (portal/admin_site.py); nobody needs is_staff.
        admin = self._user("admin", "Platform", "Admin")
        admin.groups.add(admin_group)

        workspaces = {}
        for name, description in WORKSPACES.items():
            workspaces[name], _ = Workspace.objects.update_or_create(
                name=name, defaults={"description": description}
            )
        for username, (workspace, role) in MEMBERS.items():
            user = self._user(username, username.title(), "Demo")
            Membership.objects.update_or_create(
                user=user, workspace=workspaces[workspace], defaults={"role": role}
            )

        for cluster_name, namespaces in CLUSTERS.items():
            cluster, _ = Cluster.objects.get_or_create(name=cluster_name)
            for namespace, workspace in namespaces:
                Namespace.objects.update_or_create(
                    cluster=cluster,
                    name=namespace,
                    defaults={"workspace": workspaces[workspace] if workspace else None},
                )

        for (name, kind, url), spaces in REGISTRIES.items():
            registry = self._registry(name, kind, url, None, now)
            self._spaces(registry, spaces, workspaces, admin, now)
        name, kind, url, owner, spaces = WORKSPACE_REGISTRY
        registry = self._registry(name, kind, url, workspaces[owner], now)
        self._spaces(registry, spaces, workspaces, admin, now)
        # The spaces were written directly (as a sync would): count them, as a sync does.
        Registry.objects.recount_spaces()

        self.stdout.write(self.style.SUCCESS("Demo data is ready. Log in with:"))
        self.stdout.write(f"  admin / {DEMO_PASSWORD}   (Admin)")
        for username, (workspace, role) in MEMBERS.items():
            self.stdout.write(f"  {username} / {DEMO_PASSWORD}   (Workspace {role} of {workspace})")

    def _user(self, username, first_name, last_name):
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first_name, "last_name": last_name, "email": f"{username}@example.com"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _registry(self, name, kind, url, workspace, now):
        registry, _ = Registry.objects.update_or_create(
            name=name,
            defaults={
                "kind": kind,
                "url": url,
                "username": "wharf-demo",
                "is_demo": True,
                "scope": Registry.Scope.WORKSPACE if workspace else Registry.Scope.PLATFORM,
                "workspace": workspace,
                "status": Registry.Status.HEALTHY,
                "last_sync": now,
            },
        )
        return registry

    def _spaces(self, registry, spaces, workspaces, admin, now):
        for index, (space_name, (visibility, bound, repositories)) in enumerate(spaces.items()):
            space, _ = RegistrySpace.objects.update_or_create(
                registry=registry,
                name=space_name,
                defaults={
                    "visibility": visibility,
                    "repository_count": len(repositories),
                    "upstream_id": str(index + 1),
                    "upstream_created": now - timedelta(days=200 - index * 9),
                },
            )
            for workspace in bound:
                SpaceBinding.objects.get_or_create(
                    space=space, workspace=workspaces[workspace], defaults={"created_by": admin}
                )
            for repo_index, (repo_name, tags) in enumerate(repositories.items()):
                # Harbor names always carry the project; Docker Registry's "library" space
                # holds the names without a slash.
                unprefixed = space_name == registry.kind_plugin.unprefixed_space
                full_name = repo_name if unprefixed else f"{space_name}/{repo_name}"
                pushed = now - timedelta(days=repo_index * 3 + 1)
                repository, _ = Repository.objects.update_or_create(
                    space=space,
                    name=full_name,
                    defaults={
                        "tag_count": len(tags),
                        "last_push": pushed,
                        "pull_count": 40 * (len(tags) + repo_index),
                        "description": f"Demo image {full_name}",
                        "synced": now,
                    },
                )
                for tag_index, (tag, platforms) in enumerate(tags):
                    Tag.objects.update_or_create(
                        repository=repository,
                        name=tag,
                        defaults={
                            "digest": fake_digest(registry.name, full_name, tag),
                            "size": 12_000_000 + 3_100_000 * (tag_index + repo_index),
                            "pushed": pushed - timedelta(days=tag_index * 5),
                            "platforms": platforms,
                        },
                    )
