"""Spaces x workspaces (Admin): the grid, saving only what changed, and the CSV export."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import AuditEvent
from registries import services
from registries.matrix_views import MATRIX_SPACES, MATRIX_WORKSPACES, csv_cell
from registries.models import Registry, RegistrySpace, SpaceBinding
from testkit import factories
from testkit.access import assert_access
from testkit.personas import ANONYMOUS, OUTSIDER, WS_ADMIN, WS_EDITOR, WS_VIEWER
from workspaces.models import Workspace

URL = "registries:binding-matrix"


@pytest.fixture
def other_registry(db):
    return factories.make_registry("archive")


@pytest.fixture
def spaces(registry):
    return [factories.make_space(registry, name) for name in ("billing", "payments")]


def cell(space, workspace):
    return f"{space.pk}:{workspace.pk}"


def save(client, spaces, teams, was, cells, htmx=False, **extra):
    data = {
        "spaces": [s.pk for s in spaces],
        "workspaces": [w.pk for w in teams],
        "was": was,
        "cell": cells,
        **extra,
    }
    return client.post(reverse(URL), data, headers={"HX-Request": "true"} if htmx else {})


def pairs():
    return set(SpaceBinding.objects.values_list("space__name", "workspace__name"))


def test_admin_sees_spaces_as_rows_workspaces_as_columns_and_bound_cells_ticked(client, admin, spaces, teams):
    services.change_bindings(spaces[1], admin, add=[teams[1]])
    client.force_login(admin)
    response = client.get(reverse(URL))
    assert response.status_code == 200
    text = response.text
    assert "billing" in text and "payments" in text
    assert all(team.name in text for team in teams)
    assert f'value="{cell(spaces[1], teams[1])}" aria-labelledby' in text
    assert (
        f'name="cell" value="{cell(spaces[1], teams[1])}" aria-labelledby="matrix-s{spaces[1].pk} '
        f'matrix-w{teams[1].pk}" checked' in text
    )
    assert (
        f'name="cell" value="{cell(spaces[0], teams[1])}" aria-labelledby="matrix-s{spaces[0].pk} '
        f'matrix-w{teams[1].pk}">' in text
    )


def test_ticking_and_clearing_cells_binds_and_unbinds_with_audit(client, admin, spaces, teams):
    services.change_bindings(spaces[0], admin, add=[teams[0]])
    client.force_login(admin)
    response = save(
        client,
        spaces,
        teams,
        was=[cell(spaces[0], teams[0])],
        cells=[cell(spaces[0], teams[1]), cell(spaces[1], teams[2])],
    )
    assert response.status_code == 302
    assert pairs() == {("billing", "beta"), ("payments", "gamma")}
    assert AuditEvent.objects.filter(action="space.bind").count() == 3  # the setup's one + two
    assert AuditEvent.objects.filter(action="space.unbind").get().before["workspace"] == "alpha"
    page = client.get(response["Location"])
    assert "Saved: 2 bindings added, 1 binding removed." in page.text


def test_a_stale_grid_does_not_undo_a_change_made_meanwhile(client, admin, spaces, teams):
    client.force_login(admin)
    # The grid was shown with nothing bound; meanwhile another Admin bound gamma to billing.
    services.change_bindings(spaces[0], admin, add=[teams[2]])
    response = save(client, spaces, teams, was=[], cells=[cell(spaces[1], teams[0])])
    assert response.status_code == 302
    assert pairs() == {("billing", "gamma"), ("payments", "alpha")}


def test_a_stale_grid_does_not_bring_back_a_binding_removed_meanwhile(client, admin, spaces, teams):
    services.change_bindings(spaces[0], admin, add=[teams[0], teams[1]])
    client.force_login(admin)
    # The grid showed both ticked; meanwhile alpha was unbound; the Admin clears beta only.
    services.change_bindings(spaces[0], admin, remove=[teams[0]])
    response = save(
        client,
        spaces,
        teams,
        was=[cell(spaces[0], teams[0]), cell(spaces[0], teams[1])],
        cells=[cell(spaces[0], teams[0])],
    )
    assert response.status_code == 302
    # alpha stays unbound (the Admin did not touch that cell), beta is gone.
    assert pairs() == set()


def test_saving_an_unchanged_grid_writes_nothing(client, admin, spaces, teams):
    services.change_bindings(spaces[0], admin, add=[teams[0]])
    events = AuditEvent.objects.count()
    client.force_login(admin)
    response = save(
        client, spaces, teams, was=[cell(spaces[0], teams[0])], cells=[cell(spaces[0], teams[0])], htmx=True
    )
    assert response.status_code == 200
    assert "No changes to the bindings." in response["HX-Trigger"]
    assert 'id="binding-matrix"' in response.text and "<html" not in response.text
    assert AuditEvent.objects.count() == events


def test_htmx_save_answers_the_grid_fragment_with_a_toast(client, admin, spaces, teams):
    client.force_login(admin)
    response = save(client, spaces, teams, was=[], cells=[cell(spaces[0], teams[0])], htmx=True)
    assert response.status_code == 200
    assert "1 binding added" in response["HX-Trigger"]
    assert (
        f'value="{cell(spaces[0], teams[0])}" aria-labelledby="matrix-s{spaces[0].pk} '
        f'matrix-w{teams[0].pk}" checked' in response.text
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"cell": ["1:x"]},
        {"cell": ["999999:1"]},
        {"was": ["nonsense"]},
        {"spaces": ["abc"]},
        {"spaces": ["999999"]},
        {"workspaces": ["999999"]},
    ],
)
def test_bad_input_is_refused_and_changes_nothing(client, admin, spaces, teams, bad):
    client.force_login(admin)
    data = {
        "spaces": [s.pk for s in spaces],
        "workspaces": [w.pk for w in teams],
        "cell": [cell(spaces[0], teams[0])],
        **bad,
    }
    response = client.post(reverse(URL), data)
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert not SpaceBinding.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="space.").exists()


def test_a_cell_outside_the_shown_grid_is_refused(client, admin, spaces, teams):
    client.force_login(admin)
    response = save(client, spaces[:1], teams[:1], was=[], cells=[cell(spaces[1], teams[0])])
    assert response.status_code == 422
    assert "outside the grid" in response.text
    assert not SpaceBinding.objects.exists()


def test_spaces_of_a_workspace_registry_cannot_be_bound_here(client, admin, workspace, teams):
    own = Registry.objects.create(
        name="own",
        kind="harbor",
        url="https://own.example.com",
        is_demo=True,
        scope=Registry.Scope.WORKSPACE,
        workspace=workspace,
    )
    space = RegistrySpace.objects.create(registry=own, name="mine", visibility="private")
    client.force_login(admin)
    response = save(client, [space], teams[:1], was=[], cells=[cell(space, teams[0])])
    assert response.status_code == 422
    assert not SpaceBinding.objects.exists()
    assert "mine" not in client.get(reverse(URL)).text


def test_one_registry_or_all(client, admin, spaces, other_registry, teams):
    RegistrySpace.objects.create(registry=other_registry, name="old-builds", visibility="private")
    client.force_login(admin)
    everything = client.get(reverse(URL)).text
    assert "old-builds" in everything and "payments" in everything
    one = client.get(reverse(URL), {"registry": spaces[0].registry_id}).text
    assert "payments" in one and "old-builds" not in one
    assert client.get(reverse(URL), {"registry": 999999}).status_code == 404


def test_both_axes_are_searched_and_paged(client, admin, registry):
    RegistrySpace.objects.bulk_create(
        RegistrySpace(registry=registry, name=f"svc-{number:03d}", visibility="private")
        for number in range(MATRIX_SPACES + 5)
    )
    Workspace.objects.bulk_create(
        Workspace(name=f"team-{number:03d}") for number in range(MATRIX_WORKSPACES + 3)
    )
    client.force_login(admin)
    first = client.get(reverse(URL)).text
    assert "svc-000" in first and f"svc-{MATRIX_SPACES:03d}" not in first
    assert "team-000" in first and f"team-{MATRIX_WORKSPACES:03d}" not in first
    assert "Spaces: page 1 of 2" in first and "Workspaces: page 1 of 2" in first
    later = client.get(reverse(URL), {"sp": 2, "wp": 2}).text
    assert f"svc-{MATRIX_SPACES:03d}" in later and "svc-000" not in later
    assert f"team-{MATRIX_WORKSPACES:03d}" in later and "team-000" not in later
    found = client.get(reverse(URL), {"sq": "svc-007", "wq": "team-002"}).text
    assert "svc-007" in found and "svc-008" not in found
    assert "team-002" in found and "team-003" not in found
    nothing = client.get(reverse(URL), {"sq": "no-such-space", "wq": "no-such-team"}).text
    assert "No registry space matches this name." in nothing
    assert "No workspace matches this name." in nothing


def test_common_searches_on_both_axes_count_a_few_pages_ahead(client, admin, registry):
    # Searches are counted five pages ahead (registries.paging.KeyPaginator), so a term that
    # matches most names costs no more than a rare one; the pager says "more than".
    RegistrySpace.objects.bulk_create(
        RegistrySpace(registry=registry, name=f"svc-{number:03d}", visibility="private")
        for number in range(MATRIX_SPACES * 5 + 3)
    )
    Workspace.objects.bulk_create(
        Workspace(name=f"team-{number:03d}") for number in range(MATRIX_WORKSPACES * 5 + 3)
    )
    client.force_login(admin)
    first = client.get(reverse(URL), {"sq": "svc-", "wq": "team-"}, headers={"HX-Request": "true"}).text
    assert f"Spaces: page 1 of more than 5 (more than {MATRIX_SPACES * 5} spaces)" in first
    assert f"Workspaces: page 1 of more than 5 (more than {MATRIX_WORKSPACES * 5} workspaces)" in first
    last = client.get(reverse(URL), {"sq": "svc-", "wq": "team-", "sp": 6, "wp": 6}).text
    assert f"Spaces: page 6 of 6 ({MATRIX_SPACES * 5 + 3} spaces)" in last
    assert f"Workspaces: page 6 of 6 ({MATRIX_WORKSPACES * 5 + 3} workspaces)" in last
    assert f"svc-{MATRIX_SPACES * 5 + 2:03d}" in last and f"team-{MATRIX_WORKSPACES * 5 + 2:03d}" in last


def test_page_query_count_does_not_grow_with_rows_or_columns(client, admin, registry):
    client.force_login(admin)

    def queries():
        client.get(reverse(URL))  # the session and user are cached after the first
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse(URL)).status_code == 200
        return len(captured)

    space = RegistrySpace.objects.create(registry=registry, name="one", visibility="private")
    team = Workspace.objects.create(name="one")
    services.change_bindings(space, admin, add=[team])
    few = queries()
    RegistrySpace.objects.bulk_create(RegistrySpace(registry=registry, name=f"s{n}") for n in range(40))
    Workspace.objects.bulk_create(Workspace(name=f"w{n}") for n in range(30))
    for index, space in enumerate(RegistrySpace.objects.all()[:15]):
        services.change_bindings(space, admin, add=list(Workspace.objects.all()[index : index + 3]))
    many = queries()
    assert few == many
    # session, user, groups, the pending access requests badge, registries, a count and a page
    # per axis, cells
    assert many <= 11


def test_non_admins_are_refused_the_grid_its_save_and_the_export_and_anonymous_signs_in(
    client, spaces, teams
):
    refused = {WS_ADMIN: 403, WS_EDITOR: 403, WS_VIEWER: 403, OUTSIDER: 403, ANONYMOUS: 302}
    assert_access(client, reverse(URL), refused)
    assert_access(client, reverse("registries:binding-export"), refused)
    saved = {
        "spaces": [s.pk for s in spaces],
        "workspaces": [w.pk for w in teams],
        "was": [],
        "cell": [cell(spaces[0], teams[0])],
    }
    assert_access(client, reverse(URL), {**refused, ANONYMOUS: 302}, method="post", data=saved)
    assert not SpaceBinding.objects.exists()


def test_export_lists_every_binding_as_csv(client, admin, spaces, other_registry, teams):
    old = RegistrySpace.objects.create(registry=other_registry, name="old-builds", visibility="public")
    services.change_bindings(spaces[0], admin, add=teams[:2])
    services.change_bindings(old, admin, add=[teams[2]])
    client.force_login(admin)
    response = client.get(reverse("registries:binding-export"))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Registry", "Space", "Type", "Workspace", "Bound since", "Bound by"]
    assert [row[:4] + [row[5]] for row in rows[1:]] == [
        ["archive", "old-builds", "public", "gamma", admin.username],
        ["harbor", "billing", "private", "alpha", admin.username],
        ["harbor", "billing", "private", "beta", admin.username],
    ]
    one = client.get(reverse("registries:binding-export"), {"registry": other_registry.pk})
    assert len(b"".join(one.streaming_content).decode().splitlines()) == 2
    assert client.get(reverse("registries:binding-export"), {"registry": "x"}).status_code == 404


@pytest.mark.parametrize(
    "value, cell_text",
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("payments", "payments"),
        (None, ""),
    ],
)
def test_export_cells_cannot_start_a_formula(value, cell_text):
    assert csv_cell(value) == cell_text


def test_the_grid_is_linked_from_the_registry_space_page_and_the_navigation(client, admin, registry):
    client.force_login(admin)
    page = client.get(reverse("registries:spaces", args=[registry.pk])).text
    assert f"{reverse(URL)}?registry={registry.pk}" in page
    assert f'href="{reverse(URL)}"' in client.get(reverse("registries:platform-list")).text
