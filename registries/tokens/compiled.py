"""Compiled queries: the token service's fast path.

Building and compiling the access rule's querysets costs several times more CPU than running
them, and the token endpoint asks the same few shapes of question thousands of times a second.
So each shape is built once per process by the same code (access.py, service.py), with unique
placeholder values, compiled, and afterwards run with the request's values in the placeholders'
places. A shape whose placeholders the ORM did not pass as plain parameters is never templated:
it runs through the ORM every time, so the result is the same either way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

from registries.models import RegistrySpace

logger = logging.getLogger("wharf.tokens")

# Off in tests that compare the two ways of running a shape.
USE_TEMPLATES = True


class Placeholders(dict):
    """Placeholder values for the names a shape takes, unlikely to be anything real."""

    def number(self, name: str) -> int:
        return self.setdefault(name, -(2**52) - len(self))

    def text(self, name: str) -> str:
        return self.setdefault(name, f"\x00wharf-placeholder-{len(self)}\x00")


@dataclass(frozen=True)
class Template:
    sql: str
    slots: tuple[str | None, ...]  # per parameter: the placeholder it holds, or None (a constant)
    constants: tuple

    def run(self, alias: str, values: dict[str, Any]) -> list[tuple]:
        params = [
            values[slot] if slot is not None else constant
            for slot, constant in zip(self.slots, self.constants, strict=True)
        ]
        with connections[alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            return cursor.fetchall()


# By (database alias, shape): the template, or None for a shape that runs through the ORM.
templates: dict[tuple, Template | None] = {}


def _compile(queryset: QuerySet, alias: str, placeholders: Placeholders) -> Template | None:
    """``queryset``'s SQL with each parameter marked as a placeholder's or a constant; None
    unless every placeholder is a parameter of its own and none is written into the SQL."""
    sql, params = queryset.query.get_compiler(using=alias).as_sql()
    by_value = {value: name for name, value in placeholders.items()}
    slots = []
    for param in params:
        hashable = isinstance(param, int | str) and not isinstance(param, bool)
        slots.append(by_value.get(param) if hashable else None)
    usable = set(placeholders) == {slot for slot in slots if slot} and not any(
        str(value) in sql for value in placeholders.values()
    )
    return Template(sql, tuple(slots), tuple(params)) if usable else None


def template(key: tuple[Hashable, ...], build: Callable[[Placeholders], QuerySet]) -> Template | None:
    """The compiled template of shape ``key``; ``build(placeholders)`` returns its queryset."""
    alias = router.db_for_read(RegistrySpace)
    key = (alias, *key)
    if key in templates:
        return templates[key]
    placeholders = Placeholders()
    compiled = _compile(build(placeholders), alias, placeholders)
    if compiled is None:
        logger.warning("token service: query shape %s cannot be templated; using the ORM", key)
    templates[key] = compiled
    return compiled
