"""The Registry space page's paging and search at the database level (issue 4, performance).

The page reads each page's names from the (registry, name) index first, then those rows; these
tests pin that it shows exactly what plain LIMIT/OFFSET paging would, that PostgreSQL has the
trigram index that name searches use, and that the robots' propagation status reads only the
credentials of the workspaces the page shows.
"""

import random

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.urls import reverse

from registries.models import Registry, RegistrySpace, SpaceBinding
from registries.paging import KeyPaginator
from registries.views import SPACES_PER_PAGE
from workspaces.models import Workspace


@pytest.fixture
def big_registry(db):
    registry = Registry.objects.create(name="paged", kind="harbor", url="https://paged.example", is_demo=True)
    other = Registry.objects.create(name="other", kind="harbor", url="https://other.example", is_demo=True)
    names = [
        f"{word}-{number:03d}"
        for number, word in enumerate(random.Random(4).choices(["api", "Web", "data", "web-ui"], k=130))
    ]
    RegistrySpace.objects.bulk_create(RegistrySpace(registry=registry, name=name) for name in names)
    # Same names in another registry: they must never show up on this registry's pages.
    RegistrySpace.objects.bulk_create(RegistrySpace(registry=other, name=name) for name in names)
    return registry


@pytest.mark.parametrize("q", ["", "web", "-01", "nothing-matches"])
def test_pages_hold_the_same_spaces_as_plain_paging(big_registry, q):
    spaces = big_registry.spaces.order_by("name")
    if q:
        spaces = spaces.filter(name__icontains=q)
    plain = Paginator(spaces, SPACES_PER_PAGE)
    ours = KeyPaginator(spaces, SPACES_PER_PAGE, key="name")
    assert ours.count == plain.count and ours.num_pages == plain.num_pages
    for number in plain.page_range:
        expected = [space.pk for space in plain.page(number)]
        page = ours.page(number)
        assert [space.pk for space in page] == expected
        assert len(page) == len(expected)
        assert page.start_index() == plain.page(number).start_index()


@pytest.mark.parametrize("key", ["pk", "name"])
def test_all_registries_pages_hold_the_same_spaces_as_plain_paging(big_registry, key):
    # Spaces x workspaces over all registries: names repeat across registries, so pages by id.
    spaces = RegistrySpace.objects.order_by("name", "registry_id")
    if key == "name":
        spaces = spaces.filter(registry=big_registry)
    plain = Paginator(spaces, SPACES_PER_PAGE)
    ours = KeyPaginator(spaces, SPACES_PER_PAGE, key=key)
    assert ours.num_pages == plain.num_pages
    for number in plain.page_range:
        assert [s.pk for s in ours.page(number)] == [s.pk for s in plain.page(number)]


def test_each_rows_links_are_the_routes_of_its_space(client, admin, big_registry):
    space = big_registry.spaces.order_by("name").first()
    client.force_login(admin)
    text = client.get(reverse("registries:spaces", args=[big_registry.pk])).text
    row = client.get(reverse("registries:space-row", args=[big_registry.pk, space.pk])).text
    for route in ("space-row", "space-bindings", "space-visibility", "space-delete"):
        url = reverse(f"registries:{route}", args=[big_registry.pk, space.pk])
        assert f'"{url}"' in text
        if route != "space-row":
            assert f'"{url}"' in row


def test_space_page_lists_the_last_page_with_its_bound_workspaces(client, admin, big_registry):
    last = big_registry.spaces.order_by("name").last()
    SpaceBinding.objects.create(space=last, workspace=Workspace.objects.create(name="team-z"))
    client.force_login(admin)
    pages = -(-130 // SPACES_PER_PAGE)
    response = client.get(reverse("registries:spaces", args=[big_registry.pk]), {"page": pages})
    names = big_registry.spaces.order_by("name").values_list("name", flat=True)
    expected = list(names[(pages - 1) * SPACES_PER_PAGE :])
    assert [space.name for space in response.context["page"]] == expected
    assert f"Page {pages} of {pages} (130 spaces)" in response.text
    assert "<li>team-z</li>" in response.text


def test_space_names_have_a_trigram_index_on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index is PostgreSQL-only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", ["registries_space_name_trgm"])
        (definition,) = cursor.fetchone()
    assert "gin_trgm_ops" in definition and "upper" in definition.lower()


def test_the_page_reads_only_the_credentials_of_the_workspaces_it_shows(client, admin):
    from registries.models import PullCredential

    harbor = Registry.objects.create(
        name="harbor-robots", kind="harbor", url="http://127.0.0.1:9", username="admin"
    )
    shown, unseen = (Workspace.objects.create(name=name) for name in ("shown", "unseen"))
    space = RegistrySpace.objects.create(registry=harbor, name="aaa-private")
    RegistrySpace.objects.create(registry=harbor, name="zzz-later")
    SpaceBinding.objects.create(space=space, workspace=shown)
    for workspace in (shown, unseen):
        PullCredential.objects.create(workspace=workspace, registry=harbor, state=PullCredential.State.DONE)
    client.force_login(admin)
    response = client.get(reverse("registries:spaces", args=[harbor.pk]))
    assert set(response.context["registry"]._wharf_credentials) == {shown.pk}
    assert "in Harbor" in response.text
    row = client.get(reverse("registries:space-row", args=[harbor.pk, space.pk]))
    assert set(row.context["registry"]._wharf_credentials) == {shown.pk}


def test_spaces_have_a_covering_name_index_on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("the covering index is PostgreSQL-only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", ["space_name_registry_id"])
        (definition,) = cursor.fetchone()
    assert "(name, registry_id) INCLUDE (id)" in definition


@pytest.mark.parametrize("q", ["web", "-", "-01", "nothing-matches"])
def test_a_capped_search_shows_each_page_as_plain_paging_does(big_registry, q):
    # Each request makes its own paginator and counts from the page asked for.
    spaces = big_registry.spaces.filter(name__icontains=q).order_by("name")
    plain = Paginator(spaces, SPACES_PER_PAGE)
    for number in plain.page_range:
        ours = KeyPaginator(spaces, SPACES_PER_PAGE, key="name", capped=True, ahead_pages=2)
        page = ours.get_page(number)
        assert [space.pk for space in page] == [space.pk for space in plain.page(number)]
        assert ours.count <= plain.count
        assert ours.more == (ours.count < plain.count)
        assert page.has_next() == plain.page(number).has_next()


def test_a_common_search_counts_a_few_pages_ahead_and_says_more(client, admin, big_registry):
    # Every name has a "-": 130 matches, more than the 5 pages (100 spaces) counted ahead.
    client.force_login(admin)
    url = reverse("registries:spaces", args=[big_registry.pk])
    first = client.get(url, {"q": "-"})
    assert "Page 1 of more than 5 (more than 100 spaces)" in first.text
    assert "page=2" in first.text
    last = client.get(url, {"q": "-", "page": 7})
    assert "Page 7 of 7 (130 spaces)" in last.text
    assert len(last.context["page"]) == 10
    # A rarer term is counted exactly: all its matches are within the pages counted ahead.
    rare = client.get(url, {"q": "web"}).context["page"].paginator
    assert not rare.more and rare.count == big_registry.spaces.filter(name__icontains="web").count()


def test_a_search_far_past_the_last_page_shows_the_last_page(client, admin, big_registry):
    client.force_login(admin)
    response = client.get(reverse("registries:spaces", args=[big_registry.pk]), {"q": "-", "page": 99})
    assert response.context["page"].number == 7
    assert "Page 7 of 7 (130 spaces)" in response.text


def test_the_last_page_reads_its_keys_from_the_end_of_the_list(big_registry):
    from django.test.utils import CaptureQueriesContext

    spaces = big_registry.spaces.order_by("name")
    plain = Paginator(spaces, SPACES_PER_PAGE)
    first_page = [space.pk for space in plain.page(1)]
    last_page = [space.pk for space in plain.page(plain.num_pages)]
    ours = KeyPaginator(spaces, SPACES_PER_PAGE, key="name")
    assert ours.count == plain.count
    with CaptureQueriesContext(connection) as first:
        assert [space.pk for space in ours.page(1)] == first_page
    with CaptureQueriesContext(connection) as last:
        assert [space.pk for space in ours.page(plain.num_pages)] == last_page
    assert "DESC" not in first.captured_queries[-1]["sql"]
    # The keys of the last page come from the end of the (registry, name) order, walked back.
    assert "DESC LIMIT 10)" in last.captured_queries[-1]["sql"]  # the last page's 10 keys
