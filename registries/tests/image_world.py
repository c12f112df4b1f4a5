"""A small world of registries, spaces, repositories, tags and namespaces for the Images,
Choose Image, explainer and Create by Image tests, with the access rule restated as an oracle.

Workspaces are the conftest's: ``payments`` (the personas ws_admin / ws_editor / ws_viewer)
and ``search`` (the outsider). Every space holds one repository ``<space>/app`` with the tags
``1.0`` and ``latest``.
"""

from datetime import UTC, datetime, timedelta

from registries.models import Repository, Tag
from testkit import factories
from testkit.factories import digest  # noqa: F401  (tests name it image_world.digest)

REGISTRIES = {
    # name: (scope, owner workspace, healthy)
    "plat": ("platform", None, True),
    "down": ("platform", None, False),
    "own": ("workspace", "payments", True),
    "other": ("workspace", "search", True),
}
SPACES = {
    # (registry, space): (visibility, bound workspaces)
    ("plat", "pub"): ("public", set()),
    ("plat", "priv-w"): ("private", {"payments"}),
    ("plat", "priv-o"): ("private", {"search"}),
    ("plat", "priv-both"): ("private", {"payments", "search"}),
    ("plat", "priv-none"): ("private", set()),
    ("down", "pub-down"): ("public", set()),
    ("down", "priv-down-w"): ("private", {"payments"}),
    ("own", "team"): ("private", set()),
    ("own", "open"): ("public", set()),
    ("other", "stuff"): ("private", set()),
}
NAMESPACES = {"ns-w": "payments", "ns-o": "search", "ns-free": None}
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def host(registry: str) -> str:
    return f"{registry}.example.com"


def oracle(registry: str, space: str, workspace: str | None, tab: str, *, healthy_only=True) -> bool:
    """DESIGN section 2, in its own words."""
    scope, owner, healthy = REGISTRIES[registry]
    visibility, bound = SPACES[(registry, space)]
    if healthy_only and not healthy:
        return False
    if scope == "workspace":
        return tab == "private" and workspace == owner
    if visibility == "public":
        return tab == "public"
    return tab == "private" and workspace is not None and workspace in bound


def expected_repositories(workspaces, tabs=("public", "private"), *, healthy_only=True) -> set[str]:
    """Full repository names ``<registry>:<space>/app`` visible to any of ``workspaces``."""
    return {
        f"{registry}:{space}/app"
        for (registry, space) in SPACES
        for workspace in workspaces
        for tab in tabs
        if oracle(registry, space, workspace, tab, healthy_only=healthy_only)
    }


def key(repository) -> str:
    return f"{repository.space.registry.name}:{repository.name}"


def build(workspaces: dict, *, extra_repositories: int = 0, extra_tags: int = 0) -> dict:
    """Create the world; ``workspaces`` maps "payments" / "search" to Workspace objects.

    ``extra_repositories`` adds that many more repositories to every space (for query-count
    tests at a larger size), ``extra_tags`` that many more tags to every repository.
    """
    registries, spaces, repositories = {}, {}, {}
    for name, (scope, owner, healthy) in REGISTRIES.items():
        registries[name] = factories.make_registry(
            name,
            url=f"https://{host(name)}",
            scope=scope,
            workspace=workspaces.get(owner) if owner else None,
            status="healthy" if healthy else "unhealthy",
            status_message="" if healthy else "connection refused",
            last_sync=NOW,
            status_changed=None if healthy else NOW,
        )
    for (registry_name, space_name), (visibility, bound) in SPACES.items():
        space = factories.make_space(registries[registry_name], space_name, visibility)
        factories.bind(space, *(workspaces[workspace] for workspace in bound))
        spaces[(registry_name, space_name)] = space
        names = ["app"] + [f"extra-{index:04d}" for index in range(extra_repositories)]
        for index, short in enumerate(names):
            repository = factories.make_repository(
                space,
                short,
                ["1.0", "latest"] + [f"0.{n}" for n in range(extra_tags)],
                pushed=NOW,
                platforms=["linux/amd64", "linux/arm64"],
                description=f"{short} of {space_name}",
                last_push=NOW - timedelta(days=index),
            )
            if short == "app":
                repositories[(registry_name, space_name)] = repository
    cluster = factories.make_cluster("prod")
    namespaces = {
        name: factories.make_namespace(name, workspaces[owner] if owner else None, cluster)
        for name, owner in NAMESPACES.items()
    }
    return {
        "registries": registries,
        "spaces": spaces,
        "repositories": repositories,
        "namespaces": namespaces,
        "workspaces": workspaces,
    }


def grow(world: dict, *, repositories: int = 0, tags: int = 0) -> None:
    """Add ``repositories`` more repositories to every space and ``tags`` more tags to every
    existing ``app`` repository: the "larger data" of the query-count tests."""
    for (registry_name, space_name), space in world["spaces"].items():
        new = Repository.objects.bulk_create(
            [
                Repository(
                    space=space,
                    name=f"{space_name}/more-{index:04d}",
                    description="more",
                    tag_count=1,
                    last_push=NOW,
                    synced=NOW,
                )
                for index in range(repositories)
            ]
        )
        Tag.objects.bulk_create(
            [
                Tag(
                    repository=repository,
                    name="1.0",
                    digest=digest(registry_name, repository.name, "1.0"),
                    size=1000,
                    pushed=NOW,
                    platforms=["linux/amd64"],
                )
                for repository in new
            ]
        )
    for (registry_name, _space_name), repository in world["repositories"].items():
        Tag.objects.bulk_create(
            [
                Tag(
                    repository=repository,
                    name=f"0.{index}",
                    digest=digest(registry_name, repository.name, str(index)),
                    size=1000 + index,
                    pushed=NOW - timedelta(days=1, minutes=index),
                    platforms=["linux/amd64"],
                )
                for index in range(tags)
            ]
        )


def query_count(django_assert_max_num_queries, limit, call) -> int:
    """Run ``call`` (a request) and return how many queries it made, at most ``limit``."""
    with django_assert_max_num_queries(limit) as captured:
        response = call()
    assert response.status_code == 200, response.content[:500]
    return len(captured.captured_queries)


def assert_constant_queries(django_assert_max_num_queries, world, limit, call, **growth) -> int:
    """The same number of queries with the small world and after growing it."""
    small = query_count(django_assert_max_num_queries, limit, call)
    grow(world, **growth)
    large = query_count(django_assert_max_num_queries, limit, call)
    assert small == large, f"{small} queries with small data, {large} with larger data"
    return small
