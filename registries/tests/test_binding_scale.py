"""The Bind/unbind workspace dialog with hundreds of workspaces, the Workspace column's hover list,
and the same dialog as a page that works without JavaScript."""

import re

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from registries import services
from registries.models import SpaceBinding
from registries.tests.test_bindings import dialog_url
from workspaces.models import Workspace

HTMX = {"HX-Request": "true"}


# The shared fixtures (conftest.py): a demo Harbor and its private space "vault".


def many_workspaces(count, start=0):
    return Workspace.objects.bulk_create(Workspace(name=f"ws-{n:03d}") for n in range(start, start + count))


def checkbox_names(html):
    return re.findall(r'data-name="([^"]+)"', html)


def test_dialog_lists_the_bound_workspaces_first_among_300(client, admin, space):
    workspaces = many_workspaces(320)
    services.change_bindings(space, admin, add=[workspaces[250], workspaces[310]])
    client.force_login(admin)
    page = client.get(dialog_url(space), headers=HTMX)
    names = checkbox_names(page.text)
    assert names[:2] == ["ws-250", "ws-310"]
    assert names[2:4] == ["ws-000", "ws-001"]
    assert len(names) == 20
    # Counted at most 100 past the page: the dialog costs the same at 300 or 30,000.
    assert "Load more (more than 100 more workspaces)" in page.text


def test_load_more_brings_the_next_workspaces_and_keeps_the_chosen_ticked(client, admin, space):
    workspaces = many_workspaces(320)
    client.force_login(admin)
    more = client.get(
        dialog_url(space), {"results": "1", "offset": "20", "workspaces": [workspaces[25].pk]}, headers=HTMX
    )
    assert more.status_code == 200
    assert checkbox_names(more.text) == [f"ws-{n:03d}" for n in range(20, 40)]
    assert re.search(rf'value="{workspaces[25].pk}"[^>]*\s+checked', more.text)
    assert "Load more (more than 100 more workspaces)" in more.text
    near_the_end = client.get(dialog_url(space), {"results": "1", "offset": "200"}, headers=HTMX)
    assert "Load more (100 more workspaces)" in near_the_end.text
    last = client.get(dialog_url(space), {"results": "1", "offset": "300"}, headers=HTMX)
    assert checkbox_names(last.text) == [f"ws-{n:03d}" for n in range(300, 320)]
    assert "Load more" not in last.text


def test_search_narrows_and_still_pages(client, admin, space):
    many_workspaces(60)
    client.force_login(admin)
    found = client.get(dialog_url(space), {"results": "1", "q": "ws-0"}, headers=HTMX)
    assert len(checkbox_names(found.text)) == 20
    assert "Load more (40 more workspaces)" in found.text
    assert "q=ws-0" in found.text


def test_bad_offset_is_the_first_page(client, admin, space):
    many_workspaces(5)
    client.force_login(admin)
    page = client.get(dialog_url(space), {"results": "1", "offset": "-3"}, headers=HTMX)
    assert checkbox_names(page.text)[0] == "ws-000"


def test_dialog_and_load_more_query_counts_do_not_grow_with_workspaces(
    client, admin, space, django_assert_max_num_queries
):
    client.force_login(admin)
    many_workspaces(30)
    services.change_bindings(space, admin, add=list(Workspace.objects.all()[:5]))

    def measure():
        with django_assert_max_num_queries(9) as small:
            client.get(dialog_url(space), headers=HTMX)
        with django_assert_max_num_queries(9):
            client.get(dialog_url(space), {"results": "1", "offset": "20"}, headers=HTMX)
        with django_assert_max_num_queries(9):
            client.get(dialog_url(space))
        return len(small.captured_queries)

    before = measure()
    many_workspaces(400, start=30)
    services.change_bindings(space, admin, add=list(Workspace.objects.all()[5:45]))
    assert measure() == before


# The Workspace column ------------------------------------------------------------------------


def test_hover_list_shows_ten_names_and_a_way_to_see_all(
    client, admin, registry, space, django_assert_max_num_queries
):
    workspaces = many_workspaces(40)
    services.change_bindings(space, admin, add=workspaces)
    client.force_login(admin)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("registries:spaces", args=[registry.pk]))
    tooltip = re.search(r'role="tooltip">(.*?)</ul>', page.text, re.S).group(1)
    assert re.findall(r"<li>(ws-\d+)</li>", tooltip) == [f"ws-{n:03d}" for n in range(10)]
    assert "and 30 more" in tooltip
    assert "ws-010" not in tooltip
    assert f'href="{dialog_url(space)}"' in page.text
    assert "See all 40 workspaces bound to vault" in page.text


def test_hover_list_of_few_workspaces_has_no_more_line(client, admin, registry, space):
    services.change_bindings(space, admin, add=many_workspaces(3))
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[registry.pk]))
    assert "more</li>" not in page.text
    assert "See all" not in page.text


# Without JavaScript --------------------------------------------------------------------------


def test_page_without_javascript_is_a_form_of_named_checkboxes(client, admin, space):
    workspaces = many_workspaces(45)
    services.change_bindings(space, admin, add=[workspaces[30]])
    client.force_login(admin)
    page = client.get(dialog_url(space))
    assert page.status_code == 200
    boxes = re.findall(
        r'<input type="checkbox" id="bind-page-ws-\d+" name="workspaces" value="(\d+)"\s*(checked)?',
        page.text,
    )
    assert len(boxes) == 20
    assert boxes[0] == (str(workspaces[30].pk), "checked")
    assert all(checked == "" for _pk, checked in boxes[1:])
    assert re.findall(r'name="shown" value="(\d+)"', page.text) == [str(workspaces[30].pk)]
    assert "Page 1 of 3" in page.text
    assert "45 workspaces. OK saves the choices on this page" in page.text
    assert "data-bind-choice" not in page.text  # no script needed


def test_without_javascript_ticking_binds_and_unticking_unbinds(client, admin, space):
    workspaces = many_workspaces(45)
    services.change_bindings(space, admin, add=[workspaces[0], workspaces[44]])
    client.force_login(admin)
    # Page 1 showed ws-000 (bound) and ws-044 (bound) first; the Admin unticks ws-000 and ticks ws-001.
    response = client.post(
        dialog_url(space),
        {"shown": [workspaces[0].pk, workspaces[44].pk], "workspaces": [workspaces[44].pk, workspaces[1].pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("registries:spaces", args=[space.registry_id])
    assert sorted(space.workspaces.values_list("name", flat=True)) == ["ws-001", "ws-044"]
    assert "Bound/Unbound workspace successfully" in client.get(response["Location"]).text
    assert list(
        AuditEvent.objects.filter(action__in=["space.bind", "space.unbind"])
        .order_by("pk")
        .values_list("action", flat=True)
    )[-2:] == ["space.bind", "space.unbind"]


def test_without_javascript_a_binding_not_on_the_page_is_kept(client, admin, space):
    workspaces = many_workspaces(45)
    services.change_bindings(space, admin, add=[workspaces[40]])
    client.force_login(admin)
    page_two = client.get(dialog_url(space), {"page": "2"})
    # ws-040 is bound, so it is on page 1, not 2; page 2's form lists no bound workspace.
    assert 'name="shown"' not in page_two.text
    client.post(dialog_url(space), {"workspaces": [workspaces[25].pk]})
    assert sorted(space.workspaces.values_list("name", flat=True)) == ["ws-025", "ws-040"]


def test_without_javascript_an_empty_form_is_refused_and_changes_nothing(client, admin, space):
    many_workspaces(3)
    client.force_login(admin)
    response = client.post(dialog_url(space), {"page": "1"})
    assert response.status_code == 422
    assert "Select at least one workspace." in response.text
    assert not SpaceBinding.objects.exists()


def test_without_javascript_an_unknown_workspace_is_refused(client, admin, space):
    many_workspaces(3)
    client.force_login(admin)
    response = client.post(dialog_url(space), {"workspaces": ["999999"]})
    assert response.status_code == 422
    assert "Unknown workspace id(s): 999999." in response.text
    assert not SpaceBinding.objects.exists()


@pytest.mark.parametrize("persona", ["ws_admin", "ws_viewer"])
def test_only_admins_get_the_page(client, request, persona, space):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    assert client.get(dialog_url(space)).status_code == 403
    assert (
        client.post(dialog_url(space), {"workspaces": [user.memberships.first().workspace_id]}).status_code
        == 403
    )
    assert not SpaceBinding.objects.exists()


@pytest.mark.parametrize("q", ["", "ws-1"])
def test_dialog_pages_keep_the_bound_first_across_load_more(client, admin, space, q):
    # 25 bound workspaces: the first page holds only bound ones, the second both kinds.
    workspaces = many_workspaces(200)
    bound = workspaces[::8]
    services.change_bindings(space, admin, add=bound)
    client.force_login(admin)
    matching = [w.name for w in workspaces if q in w.name]
    expected = sorted(n for n in matching if n in {w.name for w in bound}) + sorted(
        n for n in matching if n not in {w.name for w in bound}
    )
    shown, offset = [], 0
    while True:
        page = client.get(dialog_url(space), {"results": "1", "offset": offset, "q": q}, headers=HTMX).text
        shown += checkbox_names(page)
        if "Load more" not in page:
            break
        offset += 20
    assert shown == expected
