"""Paging for the lists that can be very long: Images and Choose Image (pages and API).

A workspace may see hundreds of thousands of repositories. Counting them all for "Page 1 of N"
costs a scan of every one on each request, even for a page of 20, and ``LIMIT/OFFSET`` over
whole rows reads every skipped row. ``CappedCountPaginator`` instead reads, in the list's
order, the ids of ``ahead_pages`` pages' worth of rows (five) from the start of the page asked
for, plus one: one query that walks an index (repository_name_order), or sorts the few
matches of a rare search term. From those ids it knows the page's rows and the count:
exact, as with Django's ``Paginator``, while the list ends within the window; beyond it the
count says "more than ``count``" (``more`` is true) and one more page is always offered, so
Next keeps leading on and each later page looks at its own window. A second query reads only
the page's rows. Two queries per page, as with ``Paginator`` (count, then page), whatever the
size of the list.

``KeyPaginator`` pages the spaces (Registry space, Spaces x workspaces) by key; with
``capped`` (their searches) it counts the same way, a few pages ahead of the page asked for.
"""

import math

from django.core.paginator import Paginator
from django.utils.functional import cached_property

from portal.api.pagination import StrictPageNumberPagination

# How many pages from the start of the page asked for are looked at (and counted).
COUNT_AHEAD_PAGES = 5
# Page numbers past this are treated as this (an OFFSET PostgreSQL accepts).
_MAX_PAGE = 10**9


class _CountAhead:
    """What both paginators with a capped count share: the first page asked for decides where
    counting starts; past the counted window one more page is offered ("more")."""

    per_page: int

    def _start_counting(self, ahead_pages: int) -> None:
        self.ahead = self.per_page * max(ahead_pages, 1)
        self.more = False
        self._wanted = 1

    def validate_number(self, number):
        # The first page asked for decides where the window starts (before anything is read).
        if "count" not in self.__dict__:
            try:
                wanted = int(float(number))
            except (TypeError, ValueError, OverflowError):
                wanted = 1
            self._wanted = min(max(wanted, 1), _MAX_PAGE)
        return super().validate_number(number)

    @cached_property
    def num_pages(self) -> int:
        if self.count and self.more:
            # The pages counted, and one more: there is at least one more result.
            return math.ceil((self.count + 1) / self.per_page)
        return super().num_pages

    @property
    def known_pages(self) -> int:
        """The pages full of counted results: "Page 3 of more than ``known_pages``"."""
        return math.ceil(self.count / self.per_page) if self.more else self.num_pages


class CappedCountPaginator(_CountAhead, Paginator):
    """A ``Paginator`` over an ordered QuerySet whose count stops ``ahead_pages`` pages past
    the start of the first page asked for (``get_page`` / ``page``)."""

    def __init__(self, object_list, per_page, *args, ahead_pages: int = COUNT_AHEAD_PAGES, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        self._start_counting(ahead_pages)
        self._start = 0
        self._ids: list | None = None

    def _ids_between(self, bottom: int, top: int) -> list:
        return list(self.object_list.values_list("pk", flat=True)[bottom:top])

    @cached_property
    def count(self) -> int:
        """The number of results up to the end of the window; ``more``: there are more."""
        start = (self._wanted - 1) * self.per_page
        ids = self._ids_between(start, start + self.ahead + 1)
        if not ids and start:
            # Asked for a page past the end: count from the start (get_page then shows the
            # last page). Only for page numbers no link of ours leads to.
            self._ids = None
            return self.object_list.order_by()[: start + 1].count()
        self.more = len(ids) > self.ahead
        self._start, self._ids = start, ids[: self.ahead]
        return start + len(self._ids)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if self._ids is not None and self._start <= bottom:
            ids = self._ids[bottom - self._start : top - self._start]
        else:
            ids = self._ids_between(bottom, top)
        # The page's rows by id, in the list's order (the list's own filters stay: cheap on
        # a page of ids, and nothing is shown that the list would not show now).
        return self._get_page(self.object_list.filter(pk__in=ids), number, self)


class CappedCountPagination(StrictPageNumberPagination):
    """DRF page-number paging with the same capped count; the answer says whether ``count`` is
    exact (``count_exact``) or a lower bound (there are more than ``count`` results)."""

    django_paginator_class = CappedCountPaginator

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        response.data["count_exact"] = not self.page.paginator.more
        return response

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count"]["description"] = (
            f"The number of results, counted over at most {COUNT_AHEAD_PAGES} pages from the "
            "start of this page: exact when count_exact is true, else a lower bound."
        )
        response["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when there are more results than count (follow next).",
        }
        return response


class KeyPaginator(_CountAhead, Paginator):
    """Pages of a list ordered by ``key``, for lists of many thousands of rows (spaces).

    A plain LIMIT/OFFSET reads every skipped row from the table. Here the page's keys come
    from an index alone (an index-only scan: the (registry, name) unique index for one
    registry's spaces by name, space_name_registry_id for all spaces), then only those rows
    are read: the same page in one query. ``key`` must identify the rows (unique in the list).

    Pages in the second half of the list read their keys from the index's end, backwards: the
    deepest page a link leads to reads at most half the keys, and the last page only its own.

    The count, for "Page 3 of 700": exact, as ``Paginator``'s (from the index: ~2 ms at a
    registry's 14,000 spaces); with ``capped`` (searches), counted as ``CappedCountPaginator``
    does, only ``ahead_pages`` pages from the page asked for ("Page 1 of more than 5",
    ``more``). A search for a stage matches 1 space in 6, 2,300 of a registry's 14,000,
    which an exact count reads one by one (6 ms in bench/pages_bench.py, 0.2 ms at 1 % of the
    data: the page grew with the data); the capped count walks the (registry, name) index in
    order until it has ``ahead_pages`` pages' worth (0.75 ms), however many match.
    """

    def __init__(
        self,
        object_list,
        per_page,
        *,
        key: str,
        capped: bool = False,
        ahead_pages: int = COUNT_AHEAD_PAGES,
    ):
        super().__init__(object_list, per_page)
        self.key = key
        self.capped = capped
        self._start_counting(ahead_pages)

    @cached_property
    def count(self) -> int:
        if not self.capped:
            return super().count
        start = (self._wanted - 1) * self.per_page
        keys = self.object_list.prefetch_related(None).values(self.key)
        found = keys[start : start + self.ahead + 1].count()
        if not found and start:
            # Asked for a page past the end: count from the start (get_page then shows the
            # last page). Only for page numbers no link of ours leads to.
            return keys[: start + 1].count()
        self.more = found > self.ahead
        return start + min(found, self.ahead)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = self.object_list.prefetch_related(None).values(self.key)
        if not self.more and self.count - top < bottom:
            # Nearer the end than the start (the last page, a link back from it): the keys
            # from the index's end, walked backwards, so the last page reads 20 keys instead
            # of all of them (the Registry space page's last page: 3.4 ms at a registry's
            # 14,000 spaces, 0.3 ms at 140, bench/pages_bench.py). Only with an exact count.
            keys = keys.reverse()[self.count - top : self.count - bottom]
        else:
            keys = keys[bottom:top]
        return self._get_page(self.object_list.filter(**{f"{self.key}__in": keys}), number, self)
