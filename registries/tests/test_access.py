"""The access rule's truth table (DESIGN section 2).

The oracle below restates the rule in the design's words, case by case; the querysets in
registries/access.py must agree with it for every combination.
"""

import itertools

import pytest
from django.contrib.auth.models import AnonymousUser

from conftest import make_user
from registries import access
from registries.models import Registry, RegistrySpace, SpaceBinding
from registries.tests import image_world
from workspaces.models import Cluster, Namespace, Workspace

REGISTRIES = {
    # name: (scope, owner, healthy)
    "plat": ("platform", None, True),
    "plat-down": ("platform", None, False),
    "own-reg": ("workspace", "ws-w", True),
    "other-reg": ("workspace", "ws-o", True),
}
SPACES = {
    # name: (visibility, bound to)
    "pub-unbound": ("public", set()),
    "pub-bound-w": ("public", {"ws-w"}),
    "priv-unbound": ("private", set()),
    "priv-bound-w": ("private", {"ws-w"}),
    "priv-bound-o": ("private", {"ws-o"}),
    "priv-bound-both": ("private", {"ws-w", "ws-o"}),
}


def oracle(registry: str, space: str, workspace: str | None, tab: str) -> bool:
    scope, owner, healthy = REGISTRIES[registry]
    visibility, bound_to = SPACES[space]
    if not healthy:
        return False
    if scope == "workspace":
        # Every space of a workspace registry, on the Private tab of its own workspace only.
        return tab == "private" and workspace == owner
    if visibility == "public":
        return tab == "public"
    return tab == "private" and workspace is not None and workspace in bound_to


@pytest.fixture
def world(db):
    workspaces = {name: Workspace.objects.create(name=name) for name in ("ws-w", "ws-o")}
    spaces = {}
    for registry_name, (scope, owner, healthy) in REGISTRIES.items():
        registry = Registry.objects.create(
            name=registry_name,
            kind="harbor",
            url=f"https://{registry_name}.example.com",
            scope=scope,
            workspace=workspaces.get(owner),
            status="healthy" if healthy else "unhealthy",
        )
        for space_name, (visibility, bound_to) in SPACES.items():
            space = RegistrySpace.objects.create(registry=registry, name=space_name, visibility=visibility)
            for workspace in bound_to:
                SpaceBinding.objects.create(space=space, workspace=workspaces[workspace])
            spaces[(registry_name, space_name)] = space
    cluster = Cluster.objects.create(name="prod")
    namespaces = {
        "ws-w": Namespace.objects.create(cluster=cluster, name="bound", workspace=workspaces["ws-w"]),
        None: Namespace.objects.create(cluster=cluster, name="unbound"),
    }
    return {"workspaces": workspaces, "spaces": spaces, "namespaces": namespaces}


def visible_keys(queryset):
    return {(space.registry.name, space.name) for space in queryset.select_related("registry")}


def expected_keys(workspaces: set[str | None], tab: str):
    return {
        (registry, space)
        for registry, space in itertools.product(REGISTRIES, SPACES)
        if any(oracle(registry, space, workspace, tab) for workspace in workspaces)
    }


@pytest.mark.parametrize("tab", ["public", "private"])
@pytest.mark.parametrize("namespace_workspace", ["ws-w", None])
def test_namespace_sees_exactly_what_the_rule_allows(world, namespace_workspace, tab):
    namespace = world["namespaces"][namespace_workspace]
    seen = visible_keys(access.spaces_for_namespace(namespace, tab))
    assert seen == expected_keys({namespace_workspace}, tab)


def test_unbound_namespace_sees_public_spaces_only(world):
    namespace = world["namespaces"][None]
    assert not access.spaces_for_namespace(namespace, "private").exists()
    assert visible_keys(access.spaces_for_namespace(namespace)) == {
        ("plat", "pub-unbound"),
        ("plat", "pub-bound-w"),
    }


def test_public_spaces_skip_unhealthy_and_workspace_registries(world):
    assert visible_keys(access.public_spaces()) == {("plat", "pub-unbound"), ("plat", "pub-bound-w")}


def test_private_spaces_for_workspace_follow_bindings_and_ownership(world):
    seen = visible_keys(access.private_spaces_for_workspace(world["workspaces"]["ws-w"]))
    assert seen == {("plat", "priv-bound-w"), ("plat", "priv-bound-both")} | {
        ("own-reg", space) for space in SPACES
    }


def test_unhealthy_registry_is_kept_when_asked_for_stale_data(world):
    workspace = world["workspaces"]["ws-w"]
    seen = visible_keys(access.private_spaces_for_workspace(workspace, healthy_only=False))
    assert ("plat-down", "priv-bound-w") in seen
    assert ("plat-down", "priv-bound-o") not in seen


def test_missing_space_is_hidden(world):
    space = world["spaces"][("plat", "pub-unbound")]
    space.missing = True
    space.save()
    assert ("plat", "pub-unbound") not in visible_keys(access.public_spaces())


USERS = {
    # persona: (workspaces it is a member of, is platform Admin)
    "member-of-w": ({"ws-w"}, False),
    "member-of-o": ({"ws-o"}, False),
    "member-of-both": ({"ws-w", "ws-o"}, False),
    "non-member": (set(), False),
    "admin-non-member": (set(), True),
    "admin-member-of-w": ({"ws-w"}, True),
}


@pytest.mark.parametrize("tab", ["public", "private", None])
@pytest.mark.parametrize("persona", USERS)
def test_user_sees_the_union_over_their_workspaces(world, persona, tab):
    member_of, admin = USERS[persona]
    user = make_user(persona, admin=admin)
    for name in member_of:
        world["workspaces"][name].memberships.create(user=user, role="viewer")
    seen = visible_keys(access.spaces_for_user(user, tab))
    tabs = ["public", "private"] if tab is None else [tab]
    expected = set().union(*(expected_keys(member_of | {None}, t) for t in tabs))
    assert seen == expected


def test_admin_who_is_not_a_member_does_not_see_private_spaces(world, admin):
    assert not access.spaces_for_user(admin, "private").exists()


def test_anonymous_sees_public_only(world):
    from django.contrib.auth.models import AnonymousUser

    assert visible_keys(access.spaces_for_user(AnonymousUser())) == {
        ("plat", "pub-unbound"),
        ("plat", "pub-bound-w"),
    }
    assert not access.spaces_for_user(AnonymousUser(), "private").exists()


def test_unbinding_removes_the_space_at_once(world):
    workspace = world["workspaces"]["ws-w"]
    namespace = world["namespaces"]["ws-w"]
    SpaceBinding.objects.filter(space=world["spaces"][("plat", "priv-bound-w")]).delete()
    assert ("plat", "priv-bound-w") not in visible_keys(access.spaces_for_namespace(namespace, "private"))
    assert ("plat", "priv-bound-w") not in visible_keys(access.private_spaces_for_workspace(workspace))


def test_rule_uses_a_single_query_without_duplicates(world, django_assert_num_queries):
    user = make_user("many", admin=False)
    for workspace in world["workspaces"].values():
        workspace.memberships.create(user=user, role="viewer")
    with django_assert_num_queries(1):
        ids = list(access.spaces_for_user(user).values_list("pk", flat=True))
    assert len(ids) == len(set(ids))


def test_granting_bindings_are_those_of_private_platform_spaces(world):
    seen = {
        (b.space.registry.name, b.space.name, b.workspace.name)
        for b in access.granting_bindings(healthy_only=False).select_related("space__registry", "workspace")
    }
    assert seen == {
        (registry, space, workspace)
        for registry, (scope, _owner, _healthy) in REGISTRIES.items()
        if scope == "platform"
        for space, (visibility, bound_to) in SPACES.items()
        if visibility == "private"
        for workspace in bound_to
    }


# Pushing: who may push into which space ------------------------------------------------------

PUSHERS = {
    # persona: ({workspace: role}, is platform Admin)
    "admin-of-w": ({"ws-w": "admin"}, False),
    "editor-of-w": ({"ws-w": "editor"}, False),
    "viewer-of-w": ({"ws-w": "viewer"}, False),
    "editor-of-o-viewer-of-w": ({"ws-o": "editor", "ws-w": "viewer"}, False),
    "non-member": ({}, False),
    "platform-admin": ({}, True),
}


def push_oracle(registry: str, space: str, roles: dict[str, str], platform_admin: bool) -> bool:
    """The push rule in the issue's words."""
    scope, owner, _healthy = REGISTRIES[registry]
    visibility, bound_to = SPACES[space]
    pushers = {name for name, role in roles.items() if role in ("admin", "editor")}
    if platform_admin:
        return True  # anywhere, public spaces and workspace registries included
    if scope == "workspace":
        return owner in pushers  # their own workspace registries' spaces
    return visibility == "private" and bool(bound_to & pushers)


@pytest.mark.parametrize("persona", PUSHERS)
def test_push_rule_matches_the_issue_for_every_space_and_role(world, persona):
    roles, platform_admin = PUSHERS[persona]
    user = make_user(persona, admin=platform_admin)
    for name, role in roles.items():
        world["workspaces"][name].memberships.create(user=user, role=role)
    for registry_name in REGISTRIES:
        registry = Registry.objects.get(name=registry_name)
        pushable = {space.name for space in access.pushable_spaces(user, registry)}
        expected = {space for space in SPACES if push_oracle(registry_name, space, roles, platform_admin)}
        assert pushable == expected, registry_name
        for space in SPACES:
            assert access.can_push(user, world["spaces"][(registry_name, space)]) == (space in expected), (
                registry_name,
                space,
            )


def test_viewer_cannot_push_anywhere(world):
    viewer = make_user("viewer")
    world["workspaces"]["ws-w"].memberships.create(user=viewer, role="viewer")
    assert not any(access.can_push(viewer, space) for space in world["spaces"].values())


def test_anonymous_cannot_push(world):
    from django.contrib.auth.models import AnonymousUser

    assert not access.can_push(AnonymousUser(), world["spaces"][("plat", "pub-unbound")])
    assert not access.pushable_spaces(AnonymousUser(), Registry.objects.get(name="plat")).exists()


def test_nobody_pushes_into_a_missing_space(world, admin):
    space = world["spaces"][("plat", "priv-bound-w")]
    space.missing = True
    space.save()
    assert not access.can_push(admin, space)
    assert space not in access.pushable_spaces(admin, space.registry)


def test_unbinding_ends_pushing_at_once(world):
    editor = make_user("editor")
    world["workspaces"]["ws-w"].memberships.create(user=editor, role="editor")
    space = world["spaces"][("plat", "priv-bound-w")]
    assert access.can_push(editor, space)
    SpaceBinding.objects.filter(space=space).delete()
    editor = type(editor).objects.get(pk=editor.pk)
    assert not access.can_push(editor, space)


def test_registries_for_user_are_those_with_something_visible(world, admin):
    member = make_user("member")
    world["workspaces"]["ws-w"].memberships.create(user=member, role="viewer")
    outsider = make_user("outsider")
    names = lambda user: set(access.registries_for_user(user).values_list("name", flat=True))  # noqa: E731
    assert names(member) == {"plat", "plat-down", "own-reg"}
    # Public spaces, of unhealthy registries too (shown from the last sync).
    assert names(outsider) == {"plat", "plat-down"}
    assert names(admin) == {"plat", "plat-down"}


# Who may push (and scan and delete): access.can_push ----------------------------------------

PUSH_SPACES = [
    ("plat", "pub"),
    ("plat", "priv-w"),
    ("plat", "priv-o"),
    ("plat", "priv-both"),
    ("plat", "priv-none"),
    ("own", "team"),
    ("own", "open"),
    ("other", "stuff"),
]


def persona_push_oracle(persona: str, registry: str, space: str) -> bool:
    """The issue's words: platform Admins anywhere; Workspace Admins and Editors into private
    spaces bound to their workspace and into their own workspace registries."""
    if persona == "admin":
        return True
    if persona == "ws_viewer":
        return False
    workspace = "search" if persona == "outsider" else "payments"
    scope, owner, _healthy = image_world.REGISTRIES[registry]
    visibility, bound = image_world.SPACES[(registry, space)]
    if scope == "workspace":
        return owner == workspace
    return visibility == "private" and workspace in bound


@pytest.mark.parametrize("persona", ["admin", "ws_admin", "ws_editor", "ws_viewer", "outsider"])
def test_can_push_and_the_pushable_spaces_follow_the_rule(request, workspace, other_workspace, persona):
    world = image_world.build({"payments": workspace, "search": other_workspace})
    user = request.getfixturevalue(persona)
    pushable = set(access.spaces_pushable_by(user).values_list("pk", flat=True))
    for registry, space in PUSH_SPACES:
        expected = persona_push_oracle(persona, registry, space)
        space_object = world["spaces"][(registry, space)]
        assert access.can_push(user, space_object) is expected, (persona, registry, space)
        assert (space_object.pk in pushable) is expected, (persona, registry, space)


def test_nobody_signed_out_may_push(db):
    registry = Registry.objects.create(name="plat", kind="harbor", url="https://plat.example.com")
    space = RegistrySpace.objects.create(registry=registry, name="pub", visibility="public")
    assert access.can_push(AnonymousUser(), space) is False
    assert not access.spaces_pushable_by(AnonymousUser()).exists()
