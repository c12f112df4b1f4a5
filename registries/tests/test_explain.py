"""“Why can't I see this image?”: the service (registries/explain.py), its page and its API."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from conftest import make_user
from registries import explain
from registries.models import Registry, RegistrySpace
from registries.tests import image_world
from registries.tests.image_world import host


@pytest.fixture
def world(workspace, other_workspace):
    return image_world.build({"payments": workspace, "search": other_workspace})


@pytest.fixture
def api():
    return APIClient()


def states(result) -> dict[str, str]:
    return {check.key: check.state for check in result.checks}


def run(world, namespace, image, **kwargs):
    return explain.explain(world["namespaces"][namespace], image, **kwargs)


P, F, N = explain.PASSED, explain.FAILED, explain.NOT_REACHED


def test_checks_come_in_the_faq_order(world):
    result = run(world, "ns-w", f"{host('plat')}/priv-w/app:1.0")
    assert [check.key for check in result.checks] == [
        "reference",
        "registry",
        "namespace",
        "space",
        "tab",
        "synced",
    ]


def test_everything_passes_for_a_bound_private_image(world):
    result = run(world, "ns-w", f"{host('plat')}/priv-w/app:1.0")
    assert all(check.passed for check in result.checks)
    assert result.listed and result.allowed
    assert result.on_tab == "private"
    assert result.tag.name == "1.0"
    assert "is private and bound to workspace payments" in result.checks[3].message


def test_public_image_is_on_the_public_tab(world):
    result = run(world, "ns-w", f"{host('plat')}/pub/app:latest")
    assert result.listed
    assert result.on_tab == "public"
    assert result.checks[4].message == "The image is on the Public tab of Choose Image."


def test_unparseable_reference_fails_first_and_nothing_else_is_reached(world):
    result = run(world, "ns-w", "Not An Image!")
    assert states(result) == {
        "reference": F,
        "registry": N,
        "namespace": N,
        "space": N,
        "tab": N,
        "synced": N,
    }
    assert result.failure.fixer == "You"
    assert "spaces" in result.failure.message


def test_unknown_host_is_not_integrated(world):
    result = run(world, "ns-w", "quay.io/team/app:1")
    assert states(result)["registry"] == F
    assert "No registry with host quay.io is integrated" in result.failure.message
    assert str(result.failure.fixer) == "Admin or Workspace Admin"
    assert states(result)["namespace"] == N


def test_image_without_a_host_would_come_from_docker_hub(world):
    result = run(world, "ns-w", "nginx:1.27")
    assert result.failure.key == "registry"
    assert "Docker Hub (docker.io)" in result.failure.message


def test_another_workspaces_registry_is_neither_used_nor_named(world):
    result = run(world, "ns-w", f"{host('other')}/stuff/app:1.0")
    assert result.failure.key == "registry"
    assert "other" not in result.failure.message.replace(host("other"), "")
    assert "search" not in result.failure.message


def test_own_workspace_registry_is_found_and_on_the_private_tab(world):
    result = run(world, "ns-w", f"{host('own')}/open/app:1.0")
    assert result.listed
    assert result.on_tab == "private"
    assert "belongs to own, the registry of workspace payments" in result.checks[3].message


def test_unhealthy_registry_fails_with_its_error_and_who_fixes_it(world):
    result = run(world, "ns-w", f"{host('down')}/pub-down/app:1.0")
    assert result.failure.key == "registry"
    assert "Registry down is Unhealthy" in result.failure.message
    assert "connection refused" in result.failure.message
    assert str(result.failure.fixer) == "Admin"


def test_unbound_namespace_fails_for_a_private_image(world):
    result = run(world, "ns-free", f"{host('plat')}/priv-w/app:1.0")
    assert result.failure.key == "namespace"
    assert result.failure.message == (
        "Namespace ns-free is not bound to a workspace, so only public images "
        "are available; ask an Admin to bind it in Namespaces."
    )
    assert states(result)["space"] == N


def test_unbound_namespace_is_enough_for_a_public_image(world):
    result = run(world, "ns-free", f"{host('plat')}/pub/app:1.0")
    assert result.listed
    assert "this image's registry space is public, so that is enough" in result.checks[2].message


def test_an_admin_is_told_the_private_space_is_not_bound_to_the_workspace(world, admin):
    result = run(world, "ns-w", f"{host('plat')}/priv-o/app:1.0", user=admin)
    assert result.failure.key == "space"
    assert "is private and not bound to workspace payments" in result.failure.message
    assert "Bind/unbind workspace" in result.failure.message
    assert str(result.failure.fixer) == "Admin"
    assert states(result)["tab"] == N


def test_an_admin_is_told_the_space_is_unknown(world, admin):
    result = run(world, "ns-w", f"{host('plat')}/nowhere/app:1.0", user=admin)
    assert result.failure.key == "space"
    assert "knows no registry space nowhere in plat" in result.failure.message


def test_a_member_is_told_the_same_for_an_unknown_space_and_another_workspaces_private_one(world, ws_viewer):
    # Without a user, as for a member: the answer never says which of the two it is.
    for user in (ws_viewer, None):
        result = run(world, "ns-w", f"{host('plat')}/nowhere/app:1.0", user=user)
        assert result.failure.key == "space"
        assert result.failure.message == (
            "Registry space nowhere is not available to workspace payments in plat: there is no such "
            "space (as of the last sync, Jan. 15, 2026, noon), or it is private and not bound to "
            "payments. Check the name, Sync now, or ask an Admin to bind it."
        )
        assert str(result.failure.fixer) == "Admin"


def test_missing_space(world):
    RegistrySpace.objects.filter(pk=world["spaces"][("plat", "pub")].pk).update(missing=True)
    result = run(world, "ns-w", f"{host('plat')}/pub/app:1.0")
    assert result.failure.key == "space"
    assert "missing upstream" in result.failure.message


def test_wrong_tab_is_a_failure_with_the_hint(world):
    result = run(world, "ns-w", f"{host('plat')}/priv-w/app:1.0", tab="public")
    assert result.failure.key == "tab"
    assert result.failure.message == (
        "The image is on the Private tab; you are looking at the Public tab: switch tabs."
    )
    assert result.allowed and not result.listed
    assert states(result)["synced"] == N


def test_unknown_repository_or_tag_from_the_last_sync(world):
    result = run(world, "ns-w", f"{host('plat')}/priv-w/nothing:1.0")
    assert result.failure.key == "synced"
    assert "was not in the last sync of plat" in result.failure.message
    result = run(world, "ns-w", f"{host('plat')}/priv-w/app:9.9")
    assert result.failure.key == "synced"
    assert "is known, but 9.9 was not in the last sync" in result.failure.message


def test_default_tag_and_digest_are_looked_up(world):
    assert run(world, "ns-w", f"{host('plat')}/priv-w/app").tag.name == "latest"
    pinned = image_world.digest("plat", "priv-w/app", "1.0")
    assert run(world, "ns-w", f"{host('plat')}/priv-w/app@{pinned}").tag.name == "1.0"


def test_host_is_matched_without_case_and_with_a_default_port(world):
    assert run(world, "ns-w", "PLAT.example.com/priv-w/app:1.0").listed
    assert run(world, "ns-w", f"{host('plat')}:443/priv-w/app:1.0").listed


def test_admin_who_is_not_a_member_is_not_told_about_private_repositories(world, admin):
    result = run(world, "ns-w", f"{host('plat')}/priv-w/app:1.0", user=admin)
    assert result.allowed
    assert states(result)["synced"] == N
    assert result.repository is None
    assert "you are not a member of workspace payments" in result.checks[5].message


def test_image_is_private_decides_the_pull_secret(world):
    ns = world["namespaces"]
    assert explain.image_is_private(f"{host('plat')}/priv-w/app:1.0", ns["ns-w"])
    assert explain.image_is_private(f"{host('own')}/open/app:1.0", ns["ns-w"])
    assert explain.image_is_private(f"{host('down')}/priv-down-w/app:1.0", ns["ns-w"])  # stale, still private
    assert not explain.image_is_private(f"{host('plat')}/pub/app:1.0", ns["ns-w"])
    assert not explain.image_is_private(f"{host('plat')}/priv-o/app:1.0", ns["ns-w"])
    assert not explain.image_is_private(f"{host('plat')}/priv-w/app:1.0", ns["ns-free"])
    assert not explain.image_is_private("quay.io/x/y:1", ns["ns-w"])


# The page -----------------------------------------------------------------------------------


def test_explain_page_shows_each_check_with_its_state(client, world, ws_viewer):
    client.force_login(ws_viewer)
    namespace = world["namespaces"]["ns-w"]
    response = client.get(
        reverse("registries:explain"), {"namespace": namespace.pk, "image": f"{host('plat')}/priv-o/app:1.0"}
    )
    assert response.status_code == 200
    text = response.text
    assert text.count("check-passed") == 3
    assert text.count("check-failed") == 1
    assert text.count("check-not_reached") == 2
    assert "Who can fix it: Admin" in text


def test_explain_page_without_a_question_shows_the_form(client, world, ws_viewer):
    client.force_login(ws_viewer)
    response = client.get(reverse("registries:explain"))
    assert response.status_code == 200
    assert 'name="image"' in response.text
    assert "check-" not in response.text


def test_explain_page_htmx_answers_the_result_fragment(client, world, ws_viewer):
    client.force_login(ws_viewer)
    namespace = world["namespaces"]["ns-w"]
    response = client.get(
        reverse("registries:explain"),
        {"namespace": namespace.pk, "image": f"{host('plat')}/pub/app:1.0"},
        headers={"HX-Request": "true"},
    )
    assert response.text.lstrip().startswith('<section id="explain-result"')
    assert "Nothing is wrong: Choose Image shows this image on the Public tab." in response.text


@pytest.mark.parametrize(
    "persona, namespace, status",
    [
        ("ws_viewer", "ns-w", 200),
        ("ws_viewer", "ns-o", 404),
        ("ws_viewer", "ns-free", 404),
        ("outsider", "ns-w", 404),
        ("outsider", "ns-o", 200),
        ("admin", "ns-free", 200),
        ("admin", "ns-w", 200),
    ],
)
def test_explain_page_namespace_scope(client, world, request, persona, namespace, status):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(
        reverse("registries:explain"),
        {"namespace": world["namespaces"][namespace].pk, "image": "x.example.com/a/b"},
    )
    assert response.status_code == status


def test_explain_page_refuses_a_bad_namespace_id(client, world, ws_viewer):
    client.force_login(ws_viewer)
    assert client.get(reverse("registries:explain"), {"namespace": "abc", "image": "a"}).status_code == 404


def test_explain_page_needs_a_login(client, world):
    response = client.get(reverse("registries:explain"))
    assert response.status_code == 302


# The API ------------------------------------------------------------------------------------


def explain_url(world, namespace):
    return reverse("api:namespace-explain", args=[world["namespaces"][namespace].pk])


def test_api_returns_each_check(api, world, ws_editor):
    api.force_login(ws_editor)
    response = api.get(explain_url(world, "ns-w"), {"image": f"{host('plat')}/priv-o/app:1.0"})
    assert response.status_code == 200
    data = response.data
    assert data["allowed"] is False and data["listed"] is False and data["tab"] is None
    assert [(c["name"], c["state"], c["passed"]) for c in data["checks"]] == [
        ("reference", "passed", True),
        ("registry", "passed", True),
        ("namespace", "passed", True),
        ("space", "failed", False),
        ("tab", "not_reached", False),
        ("synced", "not_reached", False),
    ]
    assert data["checks"][3]["fixer"] == "Admin"
    assert "or it is private and not bound to payments" in data["checks"][3]["message"]


def test_api_answers_where_the_image_is(api, world, ws_editor):
    api.force_login(ws_editor)
    data = api.get(explain_url(world, "ns-w"), {"image": f"{host('own')}/team/app:1.0"}).data
    assert data["listed"] and data["tab"] == "private"


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "image"),
        ({"image": ""}, "image"),
        ({"image": "Bad Ref"}, "image"),
        ({"image": "h.example.com/a@sha256:123"}, "image"),
        ({"image": "h.example.com/a", "tab": "x"}, "tab"),
    ],
)
def test_api_bad_input_is_400_with_the_field(api, world, ws_editor, params, field):
    api.force_login(ws_editor)
    response = api.get(explain_url(world, "ns-w"), params)
    assert response.status_code == 400
    assert field in response.data


@pytest.mark.parametrize(
    "persona, namespace, status",
    [
        ("ws_admin", "ns-w", 200),
        ("ws_editor", "ns-w", 200),
        ("ws_viewer", "ns-w", 200),
        ("ws_viewer", "ns-o", 404),
        ("ws_viewer", "ns-free", 404),
        ("outsider", "ns-w", 404),
        ("outsider", "ns-o", 200),
        ("admin", "ns-free", 200),
        ("admin", "ns-w", 200),
    ],
)
def test_api_namespace_scope(api, world, request, persona, namespace, status):
    api.force_login(request.getfixturevalue(persona))
    assert api.get(explain_url(world, namespace), {"image": "x.example.com/a/b"}).status_code == status


def test_api_unknown_namespace_and_anonymous(api, world, ws_viewer):
    assert api.get(explain_url(world, "ns-w"), {"image": "a"}).status_code == 401
    api.force_login(ws_viewer)
    assert api.get(reverse("api:namespace-explain", args=[987654]), {"image": "a"}).status_code == 404


def test_api_never_lists_a_private_repository_to_an_admin_who_is_not_a_member(api, world, admin):
    api.force_login(admin)
    data = api.get(explain_url(world, "ns-w"), {"image": f"{host('plat')}/priv-w/app:1.0"}).data
    synced = data["checks"][5]
    assert synced["state"] == "not_reached"
    assert "sha256" not in synced["message"]


def test_a_member_of_both_workspaces_sees_no_difference(world, workspace, other_workspace):
    user = make_user("both", workspace=workspace, role="viewer")
    other_workspace.memberships.create(user=user, role="viewer")
    result = run(world, "ns-w", f"{host('plat')}/priv-o/app:1.0", user=user)
    # The namespace decides, not the user: priv-o is bound to search, not to ns-w's payments.
    assert result.failure.key == "space"


# Constant query counts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        f"{host('plat')}/priv-w/app:1.0",
        f"{host('plat')}/pub/app:latest",
        f"{host('plat')}/priv-o/app:1.0",
        f"{host('plat')}/priv-w/missing:1",
        "quay.io/a/b",
    ],
)
def test_explainer_uses_a_constant_number_of_queries(
    api, world, ws_editor, django_assert_max_num_queries, image
):
    api.force_login(ws_editor)
    url = explain_url(world, "ns-w")
    # Session, user, roles (2), namespace, registries, spaces, public and private tab (access
    # rule), repository, tag.
    image_world.assert_constant_queries(
        django_assert_max_num_queries,
        world,
        11,
        lambda: api.get(url, {"image": image}),
        repositories=30,
        tags=50,
    )


def test_explain_page_uses_a_constant_number_of_queries(
    client, world, ws_editor, django_assert_max_num_queries
):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    image_world.assert_constant_queries(
        django_assert_max_num_queries,
        world,
        14,
        lambda: client.get(
            reverse("registries:explain"),
            {"namespace": namespace.pk, "image": f"{host('plat')}/priv-w/app:1.0"},
        ),
        repositories=30,
        tags=50,
    )


def test_several_registries_with_one_host_prefer_the_one_the_namespace_may_use(world, workspace):
    # A Workspace Admin integrated the same Harbor as the platform one, for payments only.
    registry = Registry.objects.create(
        name="plat-again",
        kind="harbor",
        url=f"http://{host('plat')}",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )
    RegistrySpace.objects.create(registry=registry, name="priv-o", visibility="private")
    result = run(world, "ns-w", f"{host('plat')}/priv-o/app:1.0")
    assert result.registry == registry
    assert result.allowed
    assert result.failure.key == "synced"  # nothing synced in the workspace's copy


# Finding 12: private space names are not told apart from missing ones, except to Admins ------


def answers(api, world, namespace, space, *, tab=None) -> list[dict]:
    """The checks' answers for ``<plat>/<space>/app:1.0``, with the space's name blanked out."""
    params = {"image": f"{host('plat')}/{space}/app:1.0", **({"tab": tab} if tab else {})}
    response = api.get(explain_url(world, namespace), params)
    assert response.status_code == 200
    return [
        {key: str(value).replace(space, "SPACE") for key, value in check.items()}
        for check in response.data["checks"]
    ]


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor", "ws_viewer"])
def test_finding_12_explainer_says_the_same_for_a_private_space_and_a_missing_one(
    api, world, request, persona
):
    api.force_login(request.getfixturevalue(persona))
    unknown = answers(api, world, "ns-w", "nowhere")
    # Private and bound only to search, private and bound to nobody, and a name never synced.
    assert answers(api, world, "ns-w", "priv-o") == unknown
    assert answers(api, world, "ns-w", "priv-none") == unknown
    assert answers(api, world, "ns-w", "priv-o", tab="private") == unknown


def test_finding_12_a_space_missing_upstream_that_is_not_the_workspaces_is_not_told_either(
    api, world, ws_viewer
):
    RegistrySpace.objects.filter(name="priv-o").update(missing=True)
    api.force_login(ws_viewer)
    assert answers(api, world, "ns-w", "priv-o") == answers(api, world, "ns-w", "nowhere")


def test_finding_12_the_outsider_cannot_tell_payments_private_spaces_either(api, world, outsider):
    api.force_login(outsider)
    assert answers(api, world, "ns-o", "priv-w") == answers(api, world, "ns-o", "nowhere")


def test_finding_12_the_explain_page_says_the_same_for_both(client, world, ws_viewer):
    client.force_login(ws_viewer)
    namespace = world["namespaces"]["ns-w"]

    def page(space):
        response = client.get(
            reverse("registries:explain"),
            {"namespace": namespace.pk, "image": f"{host('plat')}/{space}/app:1.0"},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        return response.text.replace(space, "SPACE")

    assert page("priv-o") == page("nowhere")


def test_finding_12_several_registries_on_one_host_do_not_give_it_away(world, workspace, ws_viewer):
    # payments' own copy of the platform Harbor (same host) has no priv-o; the platform one has,
    # bound to search. A member is answered as if neither had it.
    Registry.objects.create(
        name="plat-again",
        kind="harbor",
        url=f"https://{host('plat')}",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
        status="healthy",
    )
    hidden = run(world, "ns-w", f"{host('plat')}/priv-o/app:1.0", user=ws_viewer)
    unknown = run(world, "ns-w", f"{host('plat')}/nowhere/app:1.0", user=ws_viewer)
    assert hidden.registry == unknown.registry
    assert hidden.failure.message.replace("priv-o", "nowhere") == unknown.failure.message


def test_finding_12_what_the_workspace_may_use_is_still_explained_in_full(api, world, ws_viewer):
    api.force_login(ws_viewer)
    bound = answers(api, world, "ns-w", "priv-w")
    assert all(check["state"] == "passed" for check in bound)
    # A public space missing upstream is one anyone may know of.
    RegistrySpace.objects.filter(name="pub", registry__name="plat").update(missing=True)
    assert "missing upstream" in answers(api, world, "ns-w", "pub")[3]["message"]


@pytest.mark.parametrize("namespace", ["ns-w", "ns-o"])
def test_finding_12_an_admin_runs_the_explainer_for_any_namespace_and_is_told_which(
    api, world, admin, namespace
):
    api.force_login(admin)
    private = answers(api, world, namespace, "priv-none")
    unknown = answers(api, world, namespace, "nowhere")
    assert private != unknown
    workspace = "payments" if namespace == "ns-w" else "search"
    assert f"is private and not bound to workspace {workspace}" in private[3]["message"]
    assert "knows no registry space SPACE in plat" in unknown[3]["message"]
