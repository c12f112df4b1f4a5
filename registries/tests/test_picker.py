"""Choose Image: the picker page (htmx modal) and its API, for every role, against the rule.

GET /images/picker/?namespace=&tab=&registry=&q=, /images/picker/<repository>/tags/,
GET /api/v1/namespaces/{id}/images/ and /api/v1/namespaces/{id}/images/{repository}/tags/.
"""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from rest_framework.test import APIClient

from registries import access
from registries.models import Registry, Repository, SpaceBinding
from registries.tests import image_world
from registries.tests.image_world import NAMESPACES, expected_repositories, host

PERSONAS = ["admin", "ws_admin", "ws_editor", "ws_viewer", "outsider"]

# Which namespaces each persona may browse: members of the namespace's workspace (any role),
# and a platform Admin the namespaces bound to no workspace.
MAY_BROWSE = {
    "admin": {"ns-free"},
    "ws_admin": {"ns-w"},
    "ws_editor": {"ns-w"},
    "ws_viewer": {"ns-w"},
    "outsider": {"ns-o"},
}


@pytest.fixture
def world(workspace, other_workspace):
    return image_world.build({"payments": workspace, "search": other_workspace})


@pytest.fixture
def api():
    return APIClient()


def api_keys(data) -> set[str]:
    return {f"{item['registry']['name']}:{item['name']}" for item in data["results"]}


def page_keys(response) -> set[str]:
    ids = [int(pk) for pk in re.findall(r"/images/picker/(\d+)/tags/", response.text)]
    return {
        image_world.key(r) for r in Repository.objects.filter(pk__in=ids).select_related("space__registry")
    }


def images_url(namespace):
    return reverse("api:namespace-images", args=[namespace.pk])


# The truth table through the API and the page ------------------------------------------------


@pytest.mark.parametrize("tab", ["public", "private"])
@pytest.mark.parametrize("namespace_name", list(NAMESPACES))
@pytest.mark.parametrize("persona", PERSONAS)
def test_picker_api_follows_the_access_rule_for_every_role(api, world, request, persona, namespace_name, tab):
    api.force_login(request.getfixturevalue(persona))
    namespace = world["namespaces"][namespace_name]
    response = api.get(images_url(namespace), {"tab": tab})
    if namespace_name not in MAY_BROWSE[persona]:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert response.data["tab"] == tab
    assert api_keys(response.data) == expected_repositories({NAMESPACES[namespace_name]}, [tab])


@pytest.mark.parametrize("tab", ["public", "private"])
@pytest.mark.parametrize("namespace_name", list(NAMESPACES))
@pytest.mark.parametrize("persona", PERSONAS)
def test_picker_page_follows_the_access_rule_for_every_role(
    client, world, request, persona, namespace_name, tab
):
    client.force_login(request.getfixturevalue(persona))
    namespace = world["namespaces"][namespace_name]
    response = client.get(
        reverse("registries:picker"),
        {"namespace": namespace.pk, "tab": tab},
        headers={"HX-Request": "true", "HX-Target": "modal-body"},
    )
    if namespace_name not in MAY_BROWSE[persona]:
        assert response.status_code == 404
        return
    assert response.status_code == 200
    assert page_keys(response) == expected_repositories({NAMESPACES[namespace_name]}, [tab])


def test_the_oracle_says_what_the_design_says():
    assert expected_repositories({"payments"}, ["private"]) == {
        "plat:priv-w/app",
        "plat:priv-both/app",
        "own:team/app",
        "own:open/app",
    }
    assert expected_repositories({"payments"}, ["public"]) == {"plat:pub/app"}
    assert expected_repositories({None}, ["private"]) == set()


def test_anonymous_gets_401_from_the_api_and_the_login_page_from_the_picker(api, client, world):
    namespace = world["namespaces"]["ns-w"]
    assert api.get(images_url(namespace)).status_code == 401
    repository = world["repositories"][("plat", "pub")]
    assert api.get(reverse("api:namespace-image-tags", args=[namespace.pk, repository.pk])).status_code == 401
    response = client.get(reverse("registries:picker"), {"namespace": namespace.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_unknown_namespace_is_404(api, client, world, ws_editor):
    api.force_login(ws_editor)
    client.force_login(ws_editor)
    assert api.get(reverse("api:namespace-images", args=[987654])).status_code == 404
    assert client.get(reverse("registries:picker"), {"namespace": 987654}).status_code == 404
    assert client.get(reverse("registries:picker"), {"namespace": "abc"}).status_code == 404


def test_binding_takes_effect_at_once_without_any_other_step(api, world, ws_editor, workspace):
    api.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    assert "plat:priv-none/app" not in api_keys(api.get(images_url(namespace), {"tab": "private"}).data)
    SpaceBinding.objects.create(space=world["spaces"][("plat", "priv-none")], workspace=workspace)
    assert "plat:priv-none/app" in api_keys(api.get(images_url(namespace), {"tab": "private"}).data)


# Search, registry selector, pagination ---------------------------------------------------------


def test_search_and_registry_filter(api, world, ws_editor):
    api.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    data = api.get(images_url(namespace), {"tab": "private", "q": "team"}).data
    assert api_keys(data) == {"own:team/app"}
    own = world["registries"]["own"]
    data = api.get(images_url(namespace), {"tab": "private", "registry": own.pk}).data
    assert api_keys(data) == {"own:team/app", "own:open/app"}
    item = next(item for item in data["results"] if item["name"] == "team/app")
    assert item["image"] == f"{host('own')}/team/app"
    assert item["short_name"] == "app"
    assert item["space"]["name"] == "team"
    assert item["registry"]["host"] == host("own")
    assert item["tag_count"] == 2


def test_picker_page_registry_selector_lists_registries_with_visible_spaces(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    response = client.get(reverse("registries:picker"), {"namespace": namespace.pk})
    options = set(re.findall(r'<option value="(\d+)"', response.text))
    expected = {str(world["registries"][name].pk) for name in ("plat", "own")}  # "down" is Unhealthy
    assert options == expected


def test_picker_page_search_and_registry_return_the_results_fragment(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    response = client.get(
        reverse("registries:picker"),
        {"namespace": namespace.pk, "tab": "private", "q": "team", "registry": world["registries"]["own"].pk},
        headers={"HX-Request": "true", "HX-Target": "picker-results"},
    )
    assert response.text.lstrip().startswith('<div id="picker-results">')
    assert page_keys(response) == {"own:team/app"}
    assert 'aria-selected="true"' in response.text


def test_picker_without_a_namespace_asks_for_one(client, world, ws_editor):
    client.force_login(ws_editor)
    response = client.get(
        reverse("registries:picker"),
        {"namespace": ""},
        headers={"HX-Request": "true", "HX-Target": "modal-body"},
    )
    assert response.status_code == 200
    assert "Select a namespace first" in response.text


def test_picker_works_as_a_page_without_htmx(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    response = client.get(reverse("registries:picker"), {"namespace": namespace.pk, "tab": "private"})
    assert "<html" in response.text
    assert page_keys(response) == expected_repositories({"payments"}, ["private"])


@pytest.mark.parametrize("value", ["secret", "0", "-1", "1.5"])
def test_bad_query_parameters_are_400_with_the_field(api, world, ws_editor, value):
    api.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    response = api.get(images_url(namespace), {"tab": value})
    assert response.status_code == 400
    assert "tab" in response.data
    response = api.get(images_url(namespace), {"registry": value})
    assert response.status_code == 400
    assert "registry" in response.data


def test_overlong_search_is_400(api, world, ws_editor):
    api.force_login(ws_editor)
    response = api.get(images_url(world["namespaces"]["ns-w"]), {"q": "x" * 101})
    assert response.status_code == 400
    assert "q" in response.data


def test_api_is_paginated(api, world, ws_editor):
    image_world.grow(world, repositories=15)
    api.force_login(ws_editor)
    data = api.get(images_url(world["namespaces"]["ns-w"]), {"tab": "private"}).data
    assert data["count"] == 4 * 16
    assert len(data["results"]) == 20
    assert data["next"]


# Empty states say why ----------------------------------------------------------------------


def test_unbound_namespace_private_tab_says_it_is_not_bound(api, client, world, admin):
    namespace = world["namespaces"]["ns-free"]
    api.force_login(admin)
    data = api.get(images_url(namespace), {"tab": "private"}).data
    assert data["count"] == 0
    message = (
        "Namespace ns-free is not bound to a workspace, so only public images are available; "
        "ask an Admin to bind it in Namespaces."
    )
    assert data["empty_reason"] == message
    assert data["notice"] == message
    client.force_login(admin)
    response = client.get(
        reverse("registries:picker"),
        {"namespace": namespace.pk, "tab": "private"},
        headers={"HX-Request": "true", "HX-Target": "modal-body"},
    )
    assert message in response.text
    assert f"{reverse('registries:explain')}?namespace={namespace.pk}" in response.text


def test_unbound_namespace_public_tab_lists_public_images_with_the_notice(client, world, admin):
    client.force_login(admin)
    namespace = world["namespaces"]["ns-free"]
    response = client.get(
        reverse("registries:picker"),
        {"namespace": namespace.pk, "tab": "public"},
        headers={"HX-Request": "true", "HX-Target": "modal-body"},
    )
    assert page_keys(response) == {"plat:pub/app"}
    assert "is not bound to a workspace, so only public images are available" in response.text


def test_nothing_bound_to_the_workspace_on_the_private_tab(api, world, outsider, other_workspace):
    SpaceBinding.objects.filter(workspace=other_workspace).delete()
    Registry.objects.filter(workspace=other_workspace).delete()
    api.force_login(outsider)
    data = api.get(images_url(world["namespaces"]["ns-o"]), {"tab": "private"}).data
    assert data["count"] == 0
    assert data["empty_reason"].startswith("Nothing is bound to workspace search:")


def test_wrong_tab_hint(api, client, world, ws_editor):
    api.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    data = api.get(images_url(namespace), {"tab": "public", "q": "priv-w"}).data
    assert data["empty_reason"] == "No public images match “priv-w”; try the Private tab."
    data = api.get(images_url(namespace), {"tab": "private", "q": "pub/"}).data
    assert data["empty_reason"] == "No private images match “pub/”; try the Public tab."
    data = api.get(images_url(namespace), {"tab": "private", "q": "zzz"}).data
    assert data["empty_reason"] == "No images match “zzz” on either tab."
    client.force_login(ws_editor)
    response = client.get(
        reverse("registries:picker"),
        {"namespace": namespace.pk, "q": "priv-w"},
        headers={"HX-Request": "true", "HX-Target": "picker-results"},
    )
    assert "No public images match “priv-w”; try the Private tab." in response.text
    assert (
        "Why can&#x27;t I see this image?" in response.text or "Why can't I see this image?" in response.text
    )
    assert "image=priv-w" in response.text


def test_full_list_has_no_empty_reason(api, world, ws_editor):
    api.force_login(ws_editor)
    data = api.get(images_url(world["namespaces"]["ns-w"]), {"tab": "private"}).data
    assert data["empty_reason"] is None
    assert data["notice"] is None


# Tags ----------------------------------------------------------------------------------------


def test_tags_api_lists_digest_size_time_platforms_and_references(api, world, ws_editor):
    api.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    repository = world["repositories"][("plat", "priv-w")]
    data = api.get(reverse("api:namespace-image-tags", args=[namespace.pk, repository.pk])).data
    assert [tag["name"] for tag in data["results"]] == ["1.0", "latest"]
    tag = data["results"][0]
    expected_digest = image_world.digest("plat", "priv-w/app", "1.0")
    assert tag["digest"] == expected_digest
    assert tag["size"] == 25_000_000
    assert tag["platforms"] == ["linux/amd64", "linux/arm64"]
    assert tag["pushed"].startswith("2026-01-15T12:00")
    assert tag["image"] == f"{host('plat')}/priv-w/app:1.0"
    assert tag["pinned_image"] == f"{host('plat')}/priv-w/app@{expected_digest}"


@pytest.mark.parametrize(
    "space, status",
    [
        (("plat", "priv-w"), 200),
        (("plat", "pub"), 200),
        (("own", "team"), 200),
        (("plat", "priv-o"), 404),
        (("plat", "priv-none"), 404),
        (("other", "stuff"), 404),
        (("down", "priv-down-w"), 404),  # Unhealthy: not in the picker
    ],
)
def test_tags_of_a_repository_the_namespace_may_not_use_are_404(api, client, world, ws_editor, space, status):
    api.force_login(ws_editor)
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    repository = world["repositories"][space]
    assert (
        api.get(reverse("api:namespace-image-tags", args=[namespace.pk, repository.pk])).status_code == status
    )
    page = client.get(reverse("registries:picker-tags", args=[repository.pk]), {"namespace": namespace.pk})
    assert page.status_code == status


def test_admin_gets_public_tags_for_an_unbound_namespace_but_not_private_ones(api, world, admin):
    api.force_login(admin)
    namespace = world["namespaces"]["ns-free"]
    public = world["repositories"][("plat", "pub")]
    private = world["repositories"][("plat", "priv-w")]
    assert api.get(reverse("api:namespace-image-tags", args=[namespace.pk, public.pk])).status_code == 200
    assert api.get(reverse("api:namespace-image-tags", args=[namespace.pk, private.pk])).status_code == 404
    bound = world["namespaces"]["ns-w"]
    assert api.get(reverse("api:namespace-image-tags", args=[bound.pk, private.pk])).status_code == 404


def test_picker_tags_page_has_choose_buttons_by_tag_and_by_digest(client, world, ws_editor):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    repository = world["repositories"][("plat", "priv-w")]
    response = client.get(
        reverse("registries:picker-tags", args=[repository.pk]),
        {"namespace": namespace.pk, "tab": "private", "from_page": "1"},
        headers={"HX-Request": "true", "HX-Target": "modal-body"},
    )
    expected_digest = image_world.digest("plat", "priv-w/app", "1.0")
    assert f'data-choose-image="{host("plat")}/priv-w/app:1.0"' in response.text
    assert f'data-choose-pinned="{host("plat")}/priv-w/app@{expected_digest}"' in response.text
    assert "data-pin-digest" in response.text
    assert "Pin by digest" in response.text
    assert "linux/amd64, linux/arm64" in response.text
    # Back to the list keeps the tab.
    assert "tab=private" in response.text


# Who may browse which namespace (access.namespaces_for_user) ---------------------------------


@pytest.mark.parametrize(
    "persona, action, expected",
    [
        ("admin", "browse_images", {"ns-free"}),
        ("admin", "use_images", {"ns-free"}),
        ("ws_admin", "use_images", {"ns-w"}),
        ("ws_editor", "use_images", {"ns-w"}),
        ("ws_viewer", "browse_images", {"ns-w"}),
        ("ws_viewer", "use_images", set()),
        ("outsider", "browse_images", {"ns-o"}),
    ],
)
def test_namespaces_for_user(world, request, persona, action, expected):
    user = request.getfixturevalue(persona)
    assert {ns.name for ns in access.namespaces_for_user(user, action)} == expected


def test_namespaces_for_anonymous_is_empty(world):
    assert not access.namespaces_for_user(AnonymousUser()).exists()


# Constant query counts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "tab, q",
    [("public", ""), ("public", "app"), ("private", ""), ("private", "a"), ("private", "zzz-nothing")],
)
def test_picker_api_search_uses_a_constant_number_of_queries(
    api, world, ws_editor, django_assert_max_num_queries, tab, q
):
    api.force_login(ws_editor)
    url = images_url(world["namespaces"]["ns-w"])
    image_world.assert_constant_queries(
        django_assert_max_num_queries, world, 8, lambda: api.get(url, {"tab": tab, "q": q}), repositories=40
    )


@pytest.mark.parametrize("tab, q", [("public", ""), ("private", "app"), ("private", "zzz-nothing")])
def test_picker_page_search_uses_a_constant_number_of_queries(
    client, world, ws_editor, django_assert_max_num_queries, tab, q
):
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    image_world.assert_constant_queries(
        django_assert_max_num_queries,
        world,
        10,
        lambda: client.get(
            reverse("registries:picker"),
            {"namespace": namespace.pk, "tab": tab, "q": q},
            headers={"HX-Request": "true", "HX-Target": "picker-results"},
        ),
        repositories=40,
    )


def test_picker_tag_list_uses_a_constant_number_of_queries(
    api, client, world, ws_editor, django_assert_max_num_queries
):
    api.force_login(ws_editor)
    client.force_login(ws_editor)
    namespace = world["namespaces"]["ns-w"]
    repository = world["repositories"][("plat", "priv-w")]
    small_api = image_world.query_count(
        django_assert_max_num_queries,
        8,
        lambda: api.get(reverse("api:namespace-image-tags", args=[namespace.pk, repository.pk])),
    )
    small_page = image_world.query_count(
        django_assert_max_num_queries,
        8,
        lambda: client.get(
            reverse("registries:picker-tags", args=[repository.pk]), {"namespace": namespace.pk}
        ),
    )
    image_world.grow(world, tags=80)
    assert small_api == image_world.query_count(
        django_assert_max_num_queries,
        8,
        lambda: api.get(reverse("api:namespace-image-tags", args=[namespace.pk, repository.pk])),
    )
    assert small_page == image_world.query_count(
        django_assert_max_num_queries,
        8,
        lambda: client.get(
            reverse("registries:picker-tags", args=[repository.pk]), {"namespace": namespace.pk}
        ),
    )
