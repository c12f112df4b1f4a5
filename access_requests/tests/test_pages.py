"""Access requests on the pages: who may ask, who sees what, approve and decline, and that
asking never tells a member which private spaces exist."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access_requests.models import AccessRequest
from access_requests.services import request_access
from portal.models import AuditEvent
from registries import services
from registries.models import Registry, RegistrySpace, SpaceBinding
from testkit.access import assert_access
from testkit.personas import ADMIN, ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER, make_user

CREATE = reverse("access_requests:create")
LIST = reverse("access_requests:list")


def ask(client, workspace, registry, space_name, reason="We deploy the billing API from it."):
    return client.post(
        CREATE,
        {"workspace": workspace.pk, "registry": registry.pk, "space_name": space_name, "reason": reason},
    )


def pending_request(ws_editor, workspace, registry, name="vault"):
    return request_access(
        ws_editor, workspace=workspace, registry=registry, space_name=name, reason="needed"
    )[0]


# Asking ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor"])
def test_workspace_admin_and_editor_ask_for_a_space_and_see_it_pending(
    client, request, persona, workspace, registry, vault
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = ask(client, workspace, registry, "vault")
    created = AccessRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "access_requests:detail", args=[created.pk]
    )
    assert (
        created.workspace,
        created.registry,
        created.space_name,
        created.status,
        created.requested_by,
    ) == (workspace, registry, "vault", "pending", user)
    page = client.get(response["Location"]).content.decode()
    assert "Request sent." in page and "Pending" in page
    event = AuditEvent.objects.get(action="access_request.create")
    assert event.actor == user and event.after["space"] == "vault" and event.after["reason"]


def main_part(html: str, request: AccessRequest) -> str:
    """The page's content with what differs by construction (name, id, times) blanked."""
    main = html[html.index("<main") : html.index("</main>")]
    main = main.replace(request.space_name, "NAME").replace(f"/{request.pk}/", "/ID/")
    return re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "TIME", main)


def test_asking_for_a_space_that_does_not_exist_answers_exactly_as_for_a_private_one(
    client, ws_editor, workspace, registry, vault
):
    """No leak: the member's pages are the same for a private space and for no such space."""
    client.force_login(ws_editor)
    pages = []
    for name in ("vault", "no-such-space"):
        response = ask(client, workspace, registry, name)
        assert response.status_code == 302
        html = client.get(response["Location"]).content.decode()
        assert "Matching space" not in html and "has no space" not in html
        pages.append(main_part(html, AccessRequest.objects.get(space_name=name)))
    assert pages[0] == pages[1]
    assert AccessRequest.objects.count() == 2


def test_viewer_may_not_ask_nor_see_the_requests(client, ws_viewer, workspace, registry, vault):
    for url in (CREATE, LIST):
        assert_access(client, url, {WS_ADMIN: 200, WS_EDITOR: 200, WS_VIEWER: 403, ANONYMOUS: 302})
    assert_access(
        client,
        CREATE,
        {WS_VIEWER: 403, ANONYMOUS: 302},
        method="post",
        data={
            "workspace": workspace.pk,
            "registry": registry.pk,
            "space_name": "vault",
            "reason": "We deploy the billing API from it.",
        },
    )
    assert not AccessRequest.objects.exists()


def test_a_member_cannot_ask_for_another_workspace(client, outsider, workspace, registry, vault):
    client.force_login(outsider)
    response = ask(client, workspace, registry, "vault")
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"space_name": "Bad/Name"}, "A registry space name"),
        ({"space_name": ""}, "This field is required."),
        ({"reason": ""}, "This field is required."),
        ({"reason": "x" * 2001}, "at most 2000 characters"),
        ({"registry": "999999"}, "Select a valid choice"),
        ({"workspace": "abc"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_a_form_error_and_records_nothing(
    client, ws_editor, workspace, registry, vault, data, message
):
    client.force_login(ws_editor)
    body = {
        "workspace": workspace.pk,
        "registry": registry.pk,
        "space_name": "vault",
        "reason": "needed",
        **data,
    }
    response = client.post(CREATE, body)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not AccessRequest.objects.exists() and not AuditEvent.objects.exists()


def test_a_workspace_registry_cannot_be_asked_for(client, ws_editor, workspace):
    own = Registry.objects.create(
        name="own",
        kind="harbor",
        url="https://own.example.com",
        scope="workspace",
        workspace=workspace,
        is_demo=True,
    )
    client.force_login(ws_editor)
    assert ask(client, workspace, own, "vault").status_code == 422
    assert not AccessRequest.objects.exists()


def test_asking_for_a_space_the_workspace_can_already_use_is_refused(
    client, ws_editor, admin, workspace, registry, vault
):
    services.change_bindings(vault, admin, add=[workspace])
    RegistrySpace.objects.create(registry=registry, name="open", visibility="public")
    client.force_login(ws_editor)
    for name in ("vault", "open"):
        response = ask(client, workspace, registry, name)
        assert response.status_code == 422
        assert "can already use" in response.content.decode()
    assert not AccessRequest.objects.exists()


def test_a_second_request_for_the_same_space_merges_into_the_pending_one(
    client, ws_editor, ws_admin, workspace, registry, vault
):
    client.force_login(ws_editor)
    ask(client, workspace, registry, "vault", reason="first reason")
    client.force_login(ws_admin)
    response = ask(client, workspace, registry, "VAULT", reason="second reason")
    merged = AccessRequest.objects.get()
    assert response["Location"] == reverse("access_requests:detail", args=[merged.pk])
    assert merged.times_requested == 2
    assert "first reason" in merged.reason and "ws-admin: second reason" in merged.reason
    assert "already waiting" in client.get(response["Location"]).content.decode()
    assert AuditEvent.objects.filter(action="access_request.merge").count() == 1


def test_the_form_is_prefilled_from_the_link(client, ws_editor, workspace, registry):
    client.force_login(ws_editor)
    page = client.get(CREATE, {"workspace": workspace.pk, "registry": registry.pk, "space": "vault"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="vault"' in html and f'<option value="{workspace.pk}" selected>' in html


# Seeing -----------------------------------------------------------------------------------------


def test_members_see_their_workspaces_requests_and_other_workspaces_get_404(
    client, ws_editor, ws_admin, outsider, workspace, registry, vault
):
    access_request = pending_request(ws_editor, workspace, registry)
    assert_access(
        client,
        reverse("access_requests:detail", args=[access_request.pk]),
        {ADMIN: 200, WS_ADMIN: 200, WS_EDITOR: 200, WS_VIEWER: 404, OUTSIDER: 404, ANONYMOUS: 302},
    )
    client.force_login(ws_admin)
    assert "harbor/vault" in client.get(LIST).content.decode()
    client.force_login(outsider)
    assert "harbor/vault" not in client.get(LIST).content.decode()


def test_admins_see_pending_requests_with_a_badge_and_whether_the_name_matches(
    client, admin, ws_editor, workspace, registry, vault
):
    matching = pending_request(ws_editor, workspace, registry)
    invented = pending_request(ws_editor, workspace, registry, "invented")
    client.force_login(admin)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'Access requests <span class="badge warn nav-badge">2' in page
    listing = client.get(LIST).content.decode()
    assert "harbor/vault" in listing and "harbor/invented" in listing
    assert (
        "harbor has a space vault (Private)."
        in client.get(reverse("access_requests:detail", args=[matching.pk])).content.decode()
    )
    assert (
        "harbor has no space invented"
        in client.get(reverse("access_requests:detail", args=[invented.pk])).content.decode()
    )


def test_the_list_filters_by_status_registry_workspace_and_name(
    client, admin, ws_editor, workspace, registry, vault
):
    pending_request(ws_editor, workspace, registry)
    declined = pending_request(ws_editor, workspace, registry, "old")
    from access_requests.services import decline

    decline(declined, admin, note="no")
    client.force_login(admin)
    assert "harbor/old" not in client.get(LIST).content.decode()  # pending by default
    page = client.get(LIST, {"status": "declined"}).content.decode()
    assert "harbor/old" in page and "harbor/vault" not in page
    page = client.get(LIST, {"status": "", "q": "vau"}).content.decode()
    assert "harbor/vault" in page and "harbor/old" not in page
    assert "No access requests match." in client.get(LIST, {"registry": registry.pk + 1}).content.decode()
    assert "harbor/vault" in client.get(LIST, {"workspace": workspace.pk}).content.decode()


def test_navigation_badge_costs_at_most_one_query(
    client, admin, ws_editor, workspace, registry, django_assert_max_num_queries
):
    client.force_login(admin)
    client.get(reverse("workspaces:list"))
    with django_assert_max_num_queries(50) as before:
        client.get(reverse("workspaces:list"))
    for n in range(5):
        pending_request(ws_editor, workspace, registry, f"space-{n}")
    with django_assert_max_num_queries(50) as after:
        client.get(reverse("workspaces:list"))
    assert len(after.captured_queries) == len(before.captured_queries)
    badge = [query for query in after.captured_queries if "access_requests_accessrequest" in query["sql"]]
    assert len(badge) == 1


def test_list_page_query_count_stays_constant(
    client, admin, ws_editor, workspace, registry, django_assert_max_num_queries
):
    client.force_login(admin)
    pending_request(ws_editor, workspace, registry, "a")
    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    for n in range(15):
        pending_request(ws_editor, workspace, registry, f"space-{n}")
    with django_assert_max_num_queries(12) as many:
        client.get(LIST)
    assert len(many.captured_queries) == len(few.captured_queries)


# Deciding ---------------------------------------------------------------------------------------


def test_admin_approves_with_an_end_and_the_space_is_bound_through_the_service(
    client, admin, ws_editor, workspace, registry, vault
):
    access_request = pending_request(ws_editor, workspace, registry)
    client.force_login(admin)
    day = timezone.localdate() + timedelta(days=3)
    response = client.post(
        reverse("access_requests:approve", args=[access_request.pk]),
        {"note": "for the migration", "ends": day.isoformat()},
    )
    assert response.status_code == 302
    access_request.refresh_from_db()
    assert access_request.status == "approved" and access_request.decided_by == admin
    binding = SpaceBinding.objects.get(space=vault, workspace=workspace)
    assert timezone.localdate(binding.expires) == day
    assert AuditEvent.objects.filter(action="space.bind", actor=admin).count() == 1
    assert AuditEvent.objects.get(action="access_request.approve").after["note"] == "for the migration"
    # The requester sees the outcome.
    client.force_login(ws_editor)
    page = client.get(reverse("access_requests:detail", args=[access_request.pk])).content.decode()
    assert "Approved: the space is bound to payments until" in page and "for the migration" in page


def test_admin_declines_with_a_note_and_nothing_is_bound(
    client, admin, ws_editor, workspace, registry, vault
):
    access_request = pending_request(ws_editor, workspace, registry)
    client.force_login(admin)
    response = client.post(
        reverse("access_requests:decline", args=[access_request.pk]), {"note": "use the public mirror"}
    )
    assert response.status_code == 302
    access_request.refresh_from_db()
    assert access_request.status == "declined" and access_request.note == "use the public mirror"
    assert not SpaceBinding.objects.exists()
    assert AuditEvent.objects.get(action="access_request.decline").actor == admin
    client.force_login(ws_editor)
    listing = client.get(LIST).content.decode()
    assert "Declined" in listing


def test_a_name_without_a_space_cannot_be_approved(client, admin, ws_editor, workspace, registry):
    access_request = pending_request(ws_editor, workspace, registry, "invented")
    client.force_login(admin)
    response = client.post(reverse("access_requests:approve", args=[access_request.pk]), {})
    assert response.status_code == 422
    assert "has no space invented" in response.content.decode()
    access_request.refresh_from_db()
    assert access_request.is_pending and not SpaceBinding.objects.exists()


@pytest.mark.parametrize("ends", ["2020-01-01", "garbage"])
def test_approving_with_a_past_or_bad_end_changes_nothing(
    client, admin, ws_editor, workspace, registry, vault, ends
):
    access_request = pending_request(ws_editor, workspace, registry)
    client.force_login(admin)
    response = client.post(reverse("access_requests:approve", args=[access_request.pk]), {"ends": ends})
    assert response.status_code == 422
    access_request.refresh_from_db()
    assert access_request.is_pending and not SpaceBinding.objects.exists()


def test_a_decided_request_cannot_be_decided_again(client, admin, ws_editor, workspace, registry, vault):
    access_request = pending_request(ws_editor, workspace, registry)
    client.force_login(admin)
    client.post(reverse("access_requests:decline", args=[access_request.pk]), {})
    response = client.post(reverse("access_requests:approve", args=[access_request.pk]), {})
    assert response.status_code == 422
    assert "already declined" in response.content.decode()
    assert not SpaceBinding.objects.exists()


def test_only_admins_decide(client, ws_editor, workspace, registry, vault):
    access_request = pending_request(ws_editor, workspace, registry)
    for name in ("approve", "decline"):
        assert_access(
            client,
            reverse(f"access_requests:{name}", args=[access_request.pk]),
            {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403, ANONYMOUS: 302},
            method="post",
            data={},
        )
    access_request.refresh_from_db()
    assert access_request.is_pending


def test_deciding_needs_a_post_and_an_existing_request(client, admin):
    client.force_login(admin)
    assert client.get(reverse("access_requests:approve", args=[1])).status_code == 405
    assert client.post(reverse("access_requests:approve", args=[999999]), {}).status_code == 404


# Requests that close themselves --------------------------------------------------------------


def test_a_request_closes_itself_when_the_space_is_bound_meanwhile(
    admin, ws_editor, workspace, other_workspace, registry, vault
):
    mine = pending_request(ws_editor, workspace, registry)
    theirs = pending_request(
        make_user("other-editor", workspace=other_workspace, role="editor"), other_workspace, registry
    )
    services.change_bindings(vault, admin, add=[workspace])
    mine.refresh_from_db(), theirs.refresh_from_db()
    assert mine.status == "closed" and "bound to the workspace meanwhile" in mine.note
    assert theirs.status == "pending"
    assert AuditEvent.objects.get(action="access_request.close").actor == admin


def test_requests_close_themselves_when_the_space_becomes_public(
    admin, ws_editor, workspace, registry, vault
):
    access_request = pending_request(ws_editor, workspace, registry)
    services.set_visibility(vault, admin, "public")
    access_request.refresh_from_db()
    assert access_request.status == "closed" and "became public" in access_request.note


def test_expire_bindings_closes_requests_answered_another_way(admin, ws_editor, workspace, registry, vault):
    from io import StringIO

    from django.core.management import call_command

    access_request = pending_request(ws_editor, workspace, registry)
    # A sync found the space public (sync writes the row directly).
    RegistrySpace.objects.filter(pk=vault.pk).update(visibility="public")
    out = StringIO()
    call_command("expire_bindings", stdout=out)
    access_request.refresh_from_db()
    assert access_request.status == "closed"
    assert f"access request {access_request.pk}" in out.getvalue()


def test_admins_see_the_bindings_ending_within_a_week_and_members_do_not(
    client, admin, ws_editor, workspace, other_workspace, registry, vault
):
    later = RegistrySpace.objects.create(registry=registry, name="later", visibility="private")
    services.change_bindings(
        vault, admin, add=[workspace], expires={workspace: timezone.now() + timedelta(days=2)}
    )
    services.change_bindings(
        later, admin, add=[other_workspace], expires={other_workspace: timezone.now() + timedelta(days=9)}
    )
    client.force_login(admin)
    page = client.get(LIST).text
    section = page[page.index("Bindings ending in the next 7 days") :]
    assert "harbor/vault" in section and "payments" in section
    assert "harbor/later" not in section
    client.force_login(ws_editor)
    assert "Bindings ending in the next 7 days" not in client.get(LIST).text
