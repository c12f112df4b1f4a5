"""Images and Choose Image at scale (issue 5, performance): paging with a capped count, the
repository lists' access-rule shape, and the indexes behind them.

``CappedCountPaginator`` must show exactly what plain paging would, with an exact count while
the list ends within its window and "more than N" beyond; ``access.repositories_to_list`` must
list exactly what ``access.repositories_in`` does.
"""

import random

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from registries import access
from registries.image_views import PICKER_PER_PAGE
from registries.models import Registry, RegistrySpace, Repository
from registries.paging import COUNT_AHEAD_PAGES, CappedCountPaginator
from registries.tests import image_world
from registries.tests.image_world import NAMESPACES

WINDOW = PICKER_PER_PAGE * COUNT_AHEAD_PAGES


@pytest.fixture
def many(db):
    """A public space with more repositories than the picker's window, in shuffled order."""
    registry = Registry.objects.create(
        name="many", kind="harbor", url="https://many.example.com", is_demo=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="big", visibility="public")
    names = [
        f"big/{word}-{number:04d}"
        for number, word in enumerate(
            random.Random(5).choices(["api", "Web", "data", "web-ui"], k=WINDOW + 57)
        )
    ]
    random.Random(6).shuffle(names)
    Repository.objects.bulk_create(Repository(space=space, name=name) for name in names)
    return space


def _plain(space, q=""):
    repositories = Repository.objects.filter(space=space).order_by("name", "pk")
    return repositories.filter(name__icontains=q) if q else repositories


@pytest.mark.parametrize("q", ["", "web", "-01", "nothing-matches"])
def test_pages_hold_the_same_rows_as_plain_paging(many, q):
    plain = Paginator(_plain(many, q), PICKER_PER_PAGE)
    for number in plain.page_range:
        ours = CappedCountPaginator(_plain(many, q), PICKER_PER_PAGE)
        page = ours.get_page(number)
        assert [r.pk for r in page] == [r.pk for r in plain.page(number)]
        assert page.start_index() == plain.page(number).start_index()
        assert page.has_next() == plain.page(number).has_next()
        assert page.has_previous() == plain.page(number).has_previous()


def test_short_lists_are_counted_exactly(many):
    ours = CappedCountPaginator(_plain(many, "-01"), PICKER_PER_PAGE)
    page = ours.get_page(1)
    expected = _plain(many, "-01").count()
    assert expected < WINDOW
    assert (ours.count, ours.more) == (expected, False)
    assert ours.num_pages == ours.known_pages == -(-expected // PICKER_PER_PAGE)
    assert len(page) == min(expected, PICKER_PER_PAGE)


def test_long_lists_count_up_to_the_window_past_the_page_asked_for(many):
    total = Repository.objects.filter(space=many).count()
    first = CappedCountPaginator(_plain(many), PICKER_PER_PAGE)
    page = first.get_page(1)
    assert (first.count, first.more) == (WINDOW, True)
    assert first.known_pages == COUNT_AHEAD_PAGES
    assert first.num_pages == COUNT_AHEAD_PAGES + 1 and page.has_next()
    # Page 4 looks as many pages past its own start: past the end of the list, counted exactly.
    assert 3 * PICKER_PER_PAGE + WINDOW >= total
    fourth = CappedCountPaginator(_plain(many), PICKER_PER_PAGE)
    page = fourth.get_page(4)
    assert (fourth.count, fourth.more) == (total, False)
    assert page.number == 4 and len(page) == PICKER_PER_PAGE
    assert fourth.num_pages == -(-total // PICKER_PER_PAGE)


@pytest.mark.parametrize("asked", ["999", "2.5", "abc", "-1", "0", "99999999999999999999999"])
def test_pages_past_the_end_or_not_numbers_answer_like_get_page(many, asked):
    expected = Paginator(_plain(many, "web"), PICKER_PER_PAGE).get_page(asked)
    page = CappedCountPaginator(_plain(many, "web"), PICKER_PER_PAGE).get_page(asked)
    assert page.number == expected.number
    assert [r.pk for r in page] == [r.pk for r in expected]


def test_two_queries_per_page_however_long_the_list(many, django_assert_num_queries):
    with django_assert_num_queries(2):
        list(CappedCountPaginator(_plain(many), PICKER_PER_PAGE).get_page(4))
    with django_assert_num_queries(1):  # nothing to read after an empty window
        list(CappedCountPaginator(_plain(many, "nothing-matches"), PICKER_PER_PAGE).get_page(1))


def test_picker_and_api_say_there_are_more(many, api_client_admin_free):
    api, namespace = api_client_admin_free
    data = api.get(reverse("api:namespace-images", args=[namespace.pk]), {"tab": "public"}).json()
    assert data["count"] == WINDOW and data["count_exact"] is False and data["next"]
    assert len(data["results"]) == PICKER_PER_PAGE
    total = Repository.objects.count()
    last = api.get(data["next"].replace("page=2", f"page={-(-total // PICKER_PER_PAGE)}")).json()
    assert last["count"] == total and last["count_exact"] is True and last["next"] is None
    response = api.get(
        reverse("registries:picker"),
        {"namespace": namespace.pk, "tab": "public"},
        headers={"HX-Request": "true", "HX-Target": "picker-results"},
    )
    assert f"Page 1 of more than {COUNT_AHEAD_PAGES} (more than {WINDOW} images)" in response.content.decode()


@pytest.fixture
def api_client_admin_free(admin, db):
    """The Admin, who may browse a namespace bound to no workspace (public images only)."""
    from workspaces.models import Cluster, Namespace

    namespace = Namespace.objects.create(cluster=Cluster.objects.create(name="c1"), name="free")
    api = APIClient()
    api.force_login(admin)
    return api, namespace


# The repository lists' shape -------------------------------------------------------------------


@pytest.fixture
def world(workspace, other_workspace):
    return image_world.build({"payments": workspace, "search": other_workspace})


@pytest.mark.parametrize("limit", [access.LISTED_SPACES_AS_CONSTANTS, 1])
@pytest.mark.parametrize("tab", [None, "public", "private"])
@pytest.mark.parametrize("namespace_name", list(NAMESPACES))
def test_repositories_to_list_lists_what_repositories_in_does(world, monkeypatch, limit, tab, namespace_name):
    monkeypatch.setattr(access, "LISTED_SPACES_AS_CONSTANTS", limit)
    spaces = access.spaces_for_namespace(world["namespaces"][namespace_name], tab)
    listed = set(access.repositories_to_list(spaces).values_list("pk", flat=True))
    assert listed == set(access.repositories_in(spaces).values_list("pk", flat=True))
    assert listed or tab == "private"


def test_repository_indexes_on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index is PostgreSQL-only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('registries_repository', 'registries_tag')"
        )
        indexes = dict(cursor.fetchall())
    trigram = indexes["registries_repository_name_trgm"]
    assert "gin_trgm_ops" in trigram and "upper" in trigram.lower()
    assert "(name, id, space_id)" in indexes["repository_name_order"]
    assert "(repository_id, pushed DESC, name, id)" in indexes["tag_newest_first"]
