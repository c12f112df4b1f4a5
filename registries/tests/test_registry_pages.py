"""Integrated Registry (Admin), registry detail and Registry space pages, against real HTTP."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from registries import services
from registries.models import Registry, RegistrySpace, SpaceBinding
from testkit.access import assert_access
from testkit.doubles import ADMIN_PASSWORD, ADMIN_USER
from testkit.personas import ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER
from workspaces.models import Workspace


def form_data(double, **overrides):
    data = {
        "kind": "harbor",
        "name": "harbor-main",
        "url": double.url,
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "verify_tls": "on",
        "ca_bundle": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def harbor_registry(db, harbor_double, admin):
    registry = Registry(name="harbor-main", kind="harbor", url=harbor_double.url, username=ADMIN_USER)
    return services.save_registry(registry, admin, password=ADMIN_PASSWORD)


def test_admin_integrates_a_harbor_after_the_connection_check(client, admin, harbor_double):
    client.force_login(admin)
    response = client.post(reverse("registries:create"), form_data(harbor_double))
    registry = Registry.objects.get(name="harbor-main")
    assert response.status_code == 302
    assert response["Location"] == reverse("registries:detail", args=[registry.pk])
    assert registry.get_password() == ADMIN_PASSWORD
    assert registry.status == "healthy"
    assert harbor_double.requests_to("/api/v2.0/users/current")
    event = AuditEvent.objects.get(action="registry.create")
    assert ADMIN_PASSWORD not in str(event.after)


def test_wrong_password_shows_the_clients_message_and_saves_nothing(client, admin, harbor_double):
    client.force_login(admin)
    response = client.post(reverse("registries:create"), form_data(harbor_double, password="wrong-pw"))
    assert response.status_code == 200
    assert "The connection check failed; nothing was saved." in response.text
    assert "wrong-pw" not in response.text
    assert not Registry.objects.exists()
    assert not AuditEvent.objects.exists()


def test_non_admin_harbor_account_is_refused_for_a_platform_registry(client, admin, harbor_double):
    harbor_double.add_user("dev", "Dev12345!", admin=False)
    client.force_login(admin)
    response = client.post(
        reverse("registries:create"), form_data(harbor_double, username="dev", password="Dev12345!")
    )
    assert "system administrator" in response.text
    assert not Registry.objects.exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://harbor.example.com", "Enter an http:// or https:// address."),
        ("http://127.0.0.1:9", "127.0.0.1:9"),
    ],
)
def test_bad_address_is_refused_with_a_message(client, admin, harbor_double, url, message):
    client.force_login(admin)
    response = client.post(reverse("registries:create"), form_data(harbor_double, url=url))
    assert message in response.text
    assert not Registry.objects.exists()


def test_html_page_is_not_a_registry(client, admin, live_server):
    client.force_login(admin)
    response = client.post(
        reverse("registries:create"),
        {
            "kind": "harbor",
            "name": "not-harbor",
            "url": live_server.url + "/login",
            "username": "x",
            "password": "y",
            "verify_tls": "on",
        },
    )
    assert "does not look like a Harbor" in response.text
    assert not Registry.objects.exists()


def test_duplicate_name_is_refused_on_the_field(client, admin, harbor_double, harbor_registry):
    client.force_login(admin)
    response = client.post(reverse("registries:create"), form_data(harbor_double))
    assert "A registry with this name already exists." in response.text
    assert Registry.objects.count() == 1


def test_edit_with_blank_password_keeps_the_old_one(client, admin, harbor_double, harbor_registry):
    client.force_login(admin)
    page = client.get(reverse("registries:edit", args=[harbor_registry.pk]))
    assert ADMIN_PASSWORD not in page.text
    response = client.post(
        reverse("registries:edit", args=[harbor_registry.pk]),
        form_data(harbor_double, password="", username=ADMIN_USER),
    )
    assert response.status_code == 302
    harbor_registry.refresh_from_db()
    assert harbor_registry.get_password() == ADMIN_PASSWORD


def test_registry_list_shows_status_spaces_and_searches(client, admin, harbor_registry):
    RegistrySpace.objects.create(registry=harbor_registry, name="payments")
    Registry.objects.create(
        name="other",
        kind="distribution",
        url="https://r.example.com",
        status="unhealthy",
        status_message="did not answer",
    )
    client.force_login(admin)
    page = client.get(reverse("registries:platform-list"))
    assert "harbor-main" in page.text and "other" in page.text
    assert "Healthy" in page.text and "Unhealthy" in page.text
    fragment = client.get(reverse("registries:platform-list"), {"q": "harb"}, headers={"HX-Request": "true"})
    assert "harbor-main" in fragment.text and ">other<" not in fragment.text
    assert "<html" not in fragment.text
    assert fragment["Vary"].count("HX-Request") == 1


def test_admin_pages_are_forbidden_to_everyone_else(client, harbor_registry):
    refused = {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403, ANONYMOUS: 302}
    for url in (
        reverse("registries:platform-list"),
        reverse("registries:create"),
        reverse("registries:detail", args=[harbor_registry.pk]),
        reverse("registries:spaces", args=[harbor_registry.pk]),
        reverse("audit-log"),
    ):
        assert_access(client, url, refused)
    assert_access(client, reverse("registries:remove", args=[harbor_registry.pk]), refused, method="post")
    assert Registry.objects.filter(pk=harbor_registry.pk).exists()


def test_remove_names_what_goes_and_then_removes_it(client, admin, harbor_registry):
    space = RegistrySpace.objects.create(registry=harbor_registry, name="payments")
    SpaceBinding.objects.create(space=space, workspace=Workspace.objects.create(name="team"))
    client.force_login(admin)
    page = client.get(reverse("registries:remove", args=[harbor_registry.pk]))
    assert "1 registry space" in page.text and "1 workspace binding" in page.text
    assert "team" in page.text
    client.post(reverse("registries:remove", args=[harbor_registry.pk]))
    assert not Registry.objects.exists()
    assert not SpaceBinding.objects.exists()
    assert AuditEvent.objects.get(action="registry.delete").before["bindings"] == 1


def test_registry_that_is_down_still_renders_from_stored_data(client, admin, harbor_registry, harbor_double):
    RegistrySpace.objects.create(registry=harbor_registry, name="payments")
    harbor_double.stop()
    client.force_login(admin)
    response = client.get(reverse("registries:spaces", args=[harbor_registry.pk]))
    assert response.status_code == 200
    assert "payments" in response.text


def test_create_registry_space_creates_it_in_harbor(client, admin, harbor_registry, harbor_double):
    client.force_login(admin)
    response = client.post(
        reverse("registries:space-create", args=[harbor_registry.pk]),
        {"name": "team-x", "visibility": "private"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert "Created registry space successfully" in response["HX-Trigger"]
    assert "team-x" in harbor_double.projects
    assert harbor_double.projects["team-x"].public is False
    space = RegistrySpace.objects.get(name="team-x")
    assert space.visibility == "private" and space.upstream_id


def test_create_registry_space_with_a_bad_name_says_why(client, admin, harbor_registry, harbor_double):
    client.force_login(admin)
    response = client.post(
        reverse("registries:space-create", args=[harbor_registry.pk]),
        {"name": "Team X", "visibility": "private"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "lowercase letters" in response.text
    assert not RegistrySpace.objects.exists()
    assert "Team X" not in harbor_double.projects


def test_make_public_is_written_to_harbor_then_stored(client, admin, harbor_registry, harbor_double):
    harbor_double.add_project("team-y", public=False)
    space = RegistrySpace.objects.create(registry=harbor_registry, name="team-y", visibility="private")
    client.force_login(admin)
    response = client.post(
        reverse("registries:space-visibility", args=[harbor_registry.pk, space.pk]),
        {"visibility": "public"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert harbor_double.projects["team-y"].public is True
    space.refresh_from_db()
    assert space.visibility == "public"


def test_visibility_change_that_harbor_refuses_is_not_stored(client, admin, harbor_registry, harbor_double):
    space = RegistrySpace.objects.create(registry=harbor_registry, name="gone", visibility="private")
    client.force_login(admin)
    response = client.post(
        reverse("registries:space-visibility", args=[harbor_registry.pk, space.pk]),
        {"visibility": "public"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    space.refresh_from_db()
    assert space.visibility == "private"
    assert not AuditEvent.objects.filter(action="space.visibility").exists()


def test_only_empty_spaces_can_be_deleted(client, admin, harbor_registry, harbor_double):
    harbor_double.add_project("empty-one")
    empty = RegistrySpace.objects.create(registry=harbor_registry, name="empty-one")
    full = RegistrySpace.objects.create(registry=harbor_registry, name="full", repository_count=3)
    client.force_login(admin)
    refused = client.post(
        reverse("registries:space-delete", args=[harbor_registry.pk, full.pk]), headers={"HX-Request": "true"}
    )
    assert refused.status_code == 422
    assert RegistrySpace.objects.filter(pk=full.pk).exists()
    done = client.post(
        reverse("registries:space-delete", args=[harbor_registry.pk, empty.pk]),
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 204
    assert "empty-one" not in harbor_double.projects
    assert not RegistrySpace.objects.filter(pk=empty.pk).exists()


def test_docker_registry_page_says_spaces_are_effectively_public(client, admin, db):
    registry = Registry.objects.create(
        name="dist", kind="distribution", url="https://r.example.com", is_demo=True
    )
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[registry.pk]))
    assert "every space of this registry is effectively public" in page.text


def test_space_page_shows_no_binding_and_the_hover_list(client, admin, harbor_registry):
    bound = RegistrySpace.objects.create(registry=harbor_registry, name="bound")
    RegistrySpace.objects.create(registry=harbor_registry, name="lonely")
    for name in ("alpha", "beta"):
        SpaceBinding.objects.create(space=bound, workspace=Workspace.objects.create(name=name))
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor_registry.pk]))
    assert "No binding" in page.text
    assert "alpha +1" in page.text and "<li>beta</li>" in page.text
    assert "Bind/unbind workspace" in page.text


def test_space_page_query_count_is_constant(client, admin, harbor_registry, django_assert_max_num_queries):
    workspaces = [Workspace.objects.create(name=f"ws-{i}") for i in range(10)]
    client.force_login(admin)

    def fill(count):
        for i in range(count):
            space = RegistrySpace.objects.create(registry=harbor_registry, name=f"space-{count}-{i}")
            SpaceBinding.objects.bulk_create(SpaceBinding(space=space, workspace=w) for w in workspaces[:3])

    fill(5)
    with django_assert_max_num_queries(10):
        client.get(reverse("registries:spaces", args=[harbor_registry.pk]))
    fill(45)
    with django_assert_max_num_queries(10):
        client.get(reverse("registries:spaces", args=[harbor_registry.pk]))
    with django_assert_max_num_queries(10):
        client.get(
            reverse("registries:space-bindings", args=[harbor_registry.pk, RegistrySpace.objects.first().pk]),
            headers={"HX-Request": "true"},
        )


def test_audit_log_filters_by_action_and_actor(client, admin, harbor_registry):
    space = RegistrySpace.objects.create(registry=harbor_registry, name="payments")
    services.change_bindings(space, admin, add=[Workspace.objects.create(name="team")])
    client.force_login(admin)
    page = client.get(reverse("audit-log"), {"action": "space.bind"})
    assert [event.action for event in page.context["page"]] == ["space.bind"]
    assert "harbor-main/payments" in page.text
    nobody = client.get(reverse("audit-log"), {"actor": "nobody"})
    assert "No event matches these filters." in nobody.text
    bad = client.get(reverse("audit-log"), {"since": "not-a-date"})
    assert bad.status_code == 400
    assert "Enter a valid date/time." in bad.text
    assert list(bad.context["page"]) == []


def test_overview_shows_address_counts_storage_and_the_native_registry_link(
    client, admin, harbor_registry, django_assert_max_num_queries
):
    Registry.objects.filter(pk=harbor_registry.pk).update(storage_used=3 * 1024 * 1024)
    RegistrySpace.objects.create(registry=harbor_registry, name="team-a", visibility="private")
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("registries:detail", args=[harbor_registry.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert harbor_registry.url in page
    assert "Storage used" in page and "3.0\xa0MB" in page
    assert f'href="{harbor_registry.url}" target="_blank" rel="noopener noreferrer"' in page
    assert "Go to native registry" in page


def test_overview_says_storage_not_reported_when_the_registry_gave_none(client, admin, db):
    registry = Registry.objects.create(name="local", kind="distribution", url="http://127.0.0.1:5999")
    client.force_login(admin)
    page = client.get(reverse("registries:detail", args=[registry.pk])).content.decode()
    assert "not reported" in page
    # A Docker Registry has no UI of its own to go to.
    assert "Go to native registry" not in page


def test_registry_sections_sit_in_the_left_navigation_with_the_way_back(client, admin, harbor_registry):
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[harbor_registry.pk])).content.decode()
    nav = page[page.index('<nav id="sidenav"') : page.index("</nav>", page.index('<nav id="sidenav"'))]
    assert f'href="{reverse("registries:detail", args=[harbor_registry.pk])}">Overview</a>' in nav
    assert (
        f'href="{reverse("registries:spaces", args=[harbor_registry.pk])}" aria-current="page">'
        "Registry space</a>"
    ) in nav
    assert f'href="{reverse("registries:platform-list")}"' in nav
    assert "All registries" in nav


# The space count on the registry list is stored on the registry (so the list does not read
# every space on each view): each way spaces come and go must keep the figure shown right.


def space_count_shown(client, name: str) -> int:
    """The "Registry spaces" cell of registry ``name`` on the Integrated Registry (Admin) list."""
    import re

    text = client.get(reverse("registries:platform-list")).text
    row = re.search(rf">{re.escape(name)}</a>.*?</tr>", text, re.S).group(0)
    return int(re.search(r"<td>(\d+)</td>", row).group(1))


def test_registry_list_space_count_follows_creating_and_deleting_spaces(
    client, admin, harbor_registry, harbor_double
):
    client.force_login(admin)
    assert space_count_shown(client, "harbor-main") == 0
    for name in ("team-x", "team-y"):
        created = client.post(
            reverse("registries:space-create", args=[harbor_registry.pk]),
            {"name": name, "visibility": "private"},
            headers={"HX-Request": "true"},
        )
        assert created.status_code == 204
    assert space_count_shown(client, "harbor-main") == 2
    space = RegistrySpace.objects.get(name="team-x")
    deleted = client.post(
        reverse("registries:space-delete", args=[harbor_registry.pk, space.pk]),
        headers={"HX-Request": "true"},
    )
    assert deleted.status_code == 204
    assert space_count_shown(client, "harbor-main") == 1


def test_registry_list_space_count_is_counted_again_on_each_change(
    client, admin, harbor_registry, harbor_double
):
    # Spaces written without the services (an old import, a hand fix in the database) are
    # counted in as soon as the next space is created.
    RegistrySpace.objects.bulk_create(
        RegistrySpace(registry=harbor_registry, name=f"old-{n}") for n in range(3)
    )
    services.create_space(harbor_registry, admin, name="new-one", visibility="private")
    client.force_login(admin)
    assert space_count_shown(client, "harbor-main") == 4


def test_saving_a_registry_does_not_write_back_an_old_space_count(
    client, admin, harbor_registry, harbor_double
):
    read_before = Registry.objects.get(pk=harbor_registry.pk)
    services.create_space(harbor_registry, admin, name="team-z", visibility="private")
    read_before.status_message = "edited meanwhile"
    read_before.save()
    client.force_login(admin)
    response = client.post(
        reverse("registries:edit", args=[harbor_registry.pk]), form_data(harbor_double, password="")
    )
    assert response.status_code == 302
    assert space_count_shown(client, "harbor-main") == 1


def test_registry_list_space_count_follows_deleting_a_space_in_django_admin(
    client, admin, harbor_registry, harbor_double
):
    harbor_double.add_project("empty-one")
    space = services.create_space(harbor_registry, admin, name="kept", visibility="private")
    empty = RegistrySpace.objects.create(registry=harbor_registry, name="empty-one", missing=True)
    client.force_login(admin)
    response = client.post(reverse("admin:registries_registryspace_delete", args=[empty.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert space_count_shown(client, "harbor-main") == 1
    assert RegistrySpace.objects.filter(pk=space.pk).exists()
