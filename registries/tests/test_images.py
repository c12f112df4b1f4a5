"""The Images page and a repository's page, for every role, against the access rule."""

import re

import pytest
from django.urls import reverse

from conftest import make_user
from registries.models import Repository
from registries.tests import image_world
from registries.tests.image_world import expected_repositories, host
from testkit.access import assert_access
from testkit.personas import ADMIN, ANONYMOUS, OUTSIDER, WS_VIEWER


@pytest.fixture
def world(workspace, other_workspace):
    return image_world.build({"payments": workspace, "search": other_workspace})


def listed(response) -> set[str]:
    """The repositories in the Images table, as ``<registry>:<full name>``."""
    ids = [int(pk) for pk in re.findall(r'href="/images/(\d+)/', response.text)]
    return {
        image_world.key(r) for r in Repository.objects.filter(pk__in=ids).select_related("space__registry")
    }


# The Images page shows stale data of Unhealthy registries, so the oracle ignores health here.
MEMBER_SEES = expected_repositories({"payments"}, healthy_only=False)
OUTSIDER_SEES = expected_repositories({"search"}, healthy_only=False)
PUBLIC_ONLY = expected_repositories({None}, healthy_only=False)


@pytest.mark.parametrize(
    "persona, expected",
    [
        ("ws_admin", MEMBER_SEES),
        ("ws_editor", MEMBER_SEES),
        ("ws_viewer", MEMBER_SEES),
        ("outsider", OUTSIDER_SEES),
        ("admin", PUBLIC_ONLY),
    ],
)
def test_images_page_lists_what_the_access_rule_allows(client, world, request, persona, expected):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("registries:images"))
    assert response.status_code == 200
    assert listed(response) == expected


def test_expected_sets_are_what_the_design_says():
    # A sanity check on the oracle itself, in plain words.
    assert MEMBER_SEES == {
        "plat:pub/app",
        "plat:priv-w/app",
        "plat:priv-both/app",
        "down:pub-down/app",
        "down:priv-down-w/app",
        "own:team/app",
        "own:open/app",
    }
    assert PUBLIC_ONLY == {"plat:pub/app", "down:pub-down/app"}


def test_admin_who_is_not_a_member_sees_public_images_only_and_why(client, world, admin):
    client.force_login(admin)
    response = client.get(reverse("registries:images"))
    assert "You are not a member of any workspace, so only public images are shown." in response.text
    assert "priv-w/app" not in response.text


def test_anonymous_is_sent_to_log_in(client, world):
    response = client.get(reverse("registries:images"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_workspace_switcher_lists_memberships_and_defaults_to_the_first(
    client, world, workspace, other_workspace
):
    user = make_user("both", workspace=workspace, role="viewer")
    other_workspace.memberships.create(user=user, role="viewer")
    client.force_login(user)
    first = client.get(reverse("registries:images"))
    assert listed(first) == MEMBER_SEES  # "payments" sorts before "search"
    assert f'<option value="{other_workspace.pk}"' in first.text
    second = client.get(reverse("registries:images"), {"workspace": other_workspace.pk})
    assert listed(second) == OUTSIDER_SEES


@pytest.mark.parametrize("value", ["other", "not-a-number", "999999"])
def test_a_workspace_the_user_is_not_a_member_of_is_404(client, world, ws_viewer, other_workspace, value):
    client.force_login(ws_viewer)
    workspace_id = other_workspace.pk if value == "other" else value
    assert client.get(reverse("registries:images"), {"workspace": workspace_id}).status_code == 404


def test_admin_may_not_switch_to_a_workspace_they_are_not_in(client, world, admin, workspace):
    client.force_login(admin)
    assert client.get(reverse("registries:images"), {"workspace": workspace.pk}).status_code == 404


def test_unhealthy_registry_is_shown_with_a_badge(client, world, ws_viewer):
    client.force_login(ws_viewer)
    response = client.get(reverse("registries:images"), {"q": "pub-down"})
    assert listed(response) == {"down:pub-down/app"}
    assert "Unhealthy" in response.text


def test_row_shows_space_registry_description_tags_and_last_push(client, world, ws_viewer):
    client.force_login(ws_viewer)
    response = client.get(reverse("registries:images"), {"q": "priv-w/"})
    row = re.search(r"<tr>\s*<td><a href=\"/images/\d+/.*?</tr>", response.text, re.S).group(0)
    for text in ["app", "priv-w", "Private", "plat", "app of priv-w", ">2<", "2026-01-15 12:00"]:
        assert text in row


def test_search_is_on_the_server_and_htmx_gets_the_table_only(client, world, ws_viewer):
    client.force_login(ws_viewer)
    response = client.get(reverse("registries:images"), {"q": "team"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert listed(response) == {"own:team/app"}
    assert "<html" not in response.text
    assert 'id="image-table"' in response.text
    assert "HX-Request" in response["Vary"]


def test_no_match_says_so(client, world, ws_viewer):
    client.force_login(ws_viewer)
    response = client.get(reverse("registries:images"), {"q": "nothing-like-this"})
    assert "No image matches “nothing-like-this”." in response.text


def test_images_are_paginated(client, workspace, other_workspace, ws_viewer):
    image_world.build({"payments": workspace, "search": other_workspace}, extra_repositories=10)
    client.force_login(ws_viewer)
    first = client.get(reverse("registries:images"))
    assert len(listed(first)) == 50
    assert "Page 1 of 2 (77 images)" in first.text
    second = client.get(reverse("registries:images"), {"page": 2})
    assert len(listed(second)) == 27


# Repository page --------------------------------------------------------------------------


def test_repository_page_shows_tags_and_pull_commands(client, world, ws_viewer):
    repository = world["repositories"][("plat", "priv-w")]
    client.force_login(ws_viewer)
    response = client.get(reverse("registries:repository", args=[repository.pk]))
    assert response.status_code == 200
    text = response.text
    assert f"docker pull {host('plat')}/priv-w/app:1.0" in text
    assert f"docker pull {host('plat')}/priv-w/app:latest" in text
    assert "23.8\xa0MB" in text  # 25,000,000 bytes, human-readable (filesizeformat)
    assert "linux/amd64, linux/arm64" in text
    assert "2026-01-15 12:00" in text
    assert 'data-copy="#pull-' in text
    assert image_world.digest("plat", "priv-w/app", "1.0")[:19] in text


@pytest.mark.parametrize(
    "space, expected",
    [
        (("plat", "priv-w"), {WS_VIEWER: 200, OUTSIDER: 404, ADMIN: 404, ANONYMOUS: 302}),
        (("own", "team"), {WS_VIEWER: 200, ADMIN: 404}),
        (("down", "priv-down-w"), {WS_VIEWER: 200}),  # stale, but the member's
        (("plat", "priv-o"), {WS_VIEWER: 404}),
        (("plat", "priv-none"), {WS_VIEWER: 404}),
        (("other", "stuff"), {WS_VIEWER: 404, OUTSIDER: 200}),
        (("plat", "pub"), {ADMIN: 200}),
    ],
)
def test_repository_outside_what_the_user_may_see_is_404(client, world, space, expected):
    repository = world["repositories"][space]
    assert_access(client, reverse("registries:repository", args=[repository.pk]), expected)


def test_repository_of_an_unhealthy_registry_says_the_data_is_stale(client, world, ws_viewer):
    client.force_login(ws_viewer)
    repository = world["repositories"][("down", "pub-down")]
    response = client.get(reverse("registries:repository", args=[repository.pk]))
    assert "This registry is Unhealthy; tags are shown from the last successful sync" in response.text


def test_unknown_repository_is_404(client, world, ws_viewer):
    client.force_login(ws_viewer)
    assert client.get(reverse("registries:repository", args=[987654])).status_code == 404


# Constant query counts ---------------------------------------------------------------------


@pytest.mark.parametrize("q", ["app", "priv", ""])
def test_images_search_uses_a_constant_number_of_queries(
    client, world, ws_viewer, django_assert_max_num_queries, q
):
    client.force_login(ws_viewer)
    # session, user, memberships, roles (navigation), count, page; and a few for the layout.
    image_world.assert_constant_queries(
        django_assert_max_num_queries,
        world,
        10,
        lambda: client.get(reverse("registries:images"), {"q": q}),
        repositories=60,
    )


def test_tag_list_uses_a_constant_number_of_queries(client, world, ws_viewer, django_assert_max_num_queries):
    client.force_login(ws_viewer)
    repository = world["repositories"][("plat", "priv-w")]
    image_world.assert_constant_queries(
        django_assert_max_num_queries,
        world,
        10,
        lambda: client.get(reverse("registries:repository", args=[repository.pk])),
        tags=120,
    )


@pytest.mark.parametrize("persona", ["ws_editor", "admin"])
def test_tag_list_of_those_who_may_push_uses_a_constant_number_of_queries(
    client, world, request, persona, django_assert_max_num_queries
):
    client.force_login(request.getfixturevalue(persona))
    repository = world["repositories"][("plat", "priv-w" if persona == "ws_editor" else "pub")]
    image_world.assert_constant_queries(
        django_assert_max_num_queries,
        world,
        11,
        lambda: client.get(reverse("registries:repository", args=[repository.pk])),
        tags=120,
    )
