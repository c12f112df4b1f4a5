"""Spaces x workspaces (Admin): who has which space, across a registry or all of them.

Spaces are the rows, workspaces the columns, both searched by name and paged, a checkbox per
possible binding. Saving sends the cells shown as they were shown and as ticked, and
``services.apply_matrix`` applies only the difference. The CSV export lists every binding.
"""

import csv
import json
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods

from portal.decorators import admin_required
from portal.htmx import render_page, toast_events
from portal.inputs import id_or_none, search_term
from registries import rows as rows_html
from registries import services
from registries.models import Registry, RegistrySpace, SpaceBinding
from registries.paging import KeyPaginator
from workspaces.models import Workspace

# 20 x 10 = 200 checkboxes a page: the whole grid stays readable without scrolling sideways.
MATRIX_SPACES = 20
MATRIX_WORKSPACES = 10
EXPORT_CHUNK = 2000


def _filters(data) -> dict:
    """What the grid shows, from the query string (GET) or the form's hidden fields (POST)."""
    return {
        "registry": id_or_none(data.get("registry")),
        # Two search boxes, each cleaned as any page's ``q``.
        "sq": search_term({"q": data.get("sq", "")}),
        "wq": search_term({"q": data.get("wq", "")}),
        "sp": data.get("sp"),
        "wp": data.get("wp"),
    }


def _platform_registries():
    return list(Registry.objects.filter(scope=Registry.Scope.PLATFORM).only("id", "name").order_by("name"))


def _grid(filters: dict, registries: list[Registry]) -> dict:
    """The page of spaces and the page of workspaces, and which of their pairs are bound.

    Constant queries whatever the sizes: a count and a page per axis, then the bindings among
    the pairs shown (from the (space, workspace) unique index).
    """
    by_id = {registry.pk: registry for registry in registries}
    registry = by_id.get(filters["registry"])
    if filters["registry"] is not None and registry is None:
        raise Http404
    if registry is not None:
        # Ordered by the (registry, name) unique index; the names identify the rows.
        spaces = RegistrySpace.objects.filter(registry=registry).order_by("name")
        key = "name"
    else:
        # By name over all platform registries (space_name_registry_id: an index-only walk).
        spaces = RegistrySpace.objects.filter(registry_id__in=list(by_id)).order_by("name", "registry_id")
        key = "pk"
    spaces = spaces.only("id", "name", "registry_id", "visibility")
    if filters["sq"]:
        spaces = spaces.filter(name__icontains=filters["sq"])
    # Searches are counted only a few pages ahead, so a common term (a stage, a letter) costs
    # what a rare one does (registries.paging.KeyPaginator); the whole lists exactly.
    space_page = KeyPaginator(spaces, MATRIX_SPACES, key=key, capped=bool(filters["sq"])).get_page(
        filters["sp"]
    )
    workspaces = Workspace.objects.only("id", "name").order_by("name")
    if filters["wq"]:
        workspaces = workspaces.filter(name__icontains=filters["wq"])
    workspace_page = KeyPaginator(
        workspaces, MATRIX_WORKSPACES, key="name", capped=bool(filters["wq"])
    ).get_page(filters["wp"])
    columns = list(workspace_page)
    space_list = list(space_page)
    bound = (
        set(
            SpaceBinding.objects.filter(
                space_id__in=[space.pk for space in space_list],
                workspace_id__in=[workspace.pk for workspace in columns],
            )
            .order_by()
            .values_list("space_id", "workspace_id")
        )
        if space_list and columns
        else set()
    )
    rows = [
        {
            "space": space,
            "registry": by_id[space.registry_id],
            # Built here rather than in the template: 200 cells a page.
            "cells": [
                (f"{space.pk}:{workspace.pk}", workspace.pk, (space.pk, workspace.pk) in bound)
                for workspace in columns
            ],
        }
        for space in space_list
    ]
    return {
        "registry": registry,
        "space_page": space_page,
        "workspace_page": workspace_page,
        "columns": columns,
        "rows": rows,
        "matrix_rows": rows_html.matrix_rows(rows, show_registry=registry is None),
    }


def _query(filters: dict, **changes) -> str:
    values = {**filters, **changes}
    return urlencode({name: value for name, value in values.items() if value not in (None, "")})


def _context(filters: dict, registries: list[Registry], error: str | None = None) -> dict:
    grid = _grid(filters, registries)
    filters = {**filters, "sp": grid["space_page"].number, "wp": grid["workspace_page"].number}
    pages = {}
    for name, page, param in (
        ("spaces", grid["space_page"], "sp"),
        ("workspaces", grid["workspace_page"], "wp"),
    ):
        pages[name] = {
            "previous": _query(filters, **{param: page.number - 1}) if page.has_previous() else None,
            "next": _query(filters, **{param: page.number + 1}) if page.has_next() else None,
        }
    return {
        **grid,
        "registries": registries,
        "filters": filters,
        "pages": pages,
        "error": error,
        "query": _query(filters),
        "export_query": _query({"registry": filters["registry"]}),
    }


@admin_required
@require_http_methods(["GET", "POST"])
def binding_matrix(request):
    registries = _platform_registries()
    if request.method == "GET":
        filters = _filters(request.GET)
        return render_page(
            request,
            "registries/binding_matrix.html",
            _context(filters, registries),
            fragment="binding-matrix",
        )
    filters = _filters(request.POST)
    try:
        change = services.apply_matrix(
            request.user,
            space_ids=request.POST.getlist("spaces"),
            workspace_ids=request.POST.getlist("workspaces"),
            before=request.POST.getlist("was"),
            after=request.POST.getlist("cell"),
        )
    except services.ServiceError as error:
        # The grid as it is now, with the reason; nothing was changed.
        response = render_page(
            request,
            "registries/binding_matrix.html",
            _context(filters, registries, error=error.message),
            fragment="binding-matrix",
            status=422,
        )
        # htmx does not swap a 422 answer; it still shows its toast.
        response["HX-Trigger"] = json.dumps({"showToast": {"message": str(error.message), "level": "error"}})
        return response
    message = _change_message(change)
    if not request.htmx:
        messages.success(request, message)
        return redirect(f"{reverse('registries:binding-matrix')}?{_query(filters)}")
    response = render_page(
        request, "registries/binding_matrix.html", _context(filters, registries), fragment="binding-matrix"
    )
    response["HX-Trigger"] = json.dumps(toast_events(message, close_modal=False))
    return response


def _change_message(change: services.MatrixChange) -> str:
    if not change.changed:
        return _("No changes to the bindings.")
    added = ngettext("%(count)d binding added", "%(count)d bindings added", change.added) % {
        "count": change.added
    }
    removed = ngettext("%(count)d binding removed", "%(count)d bindings removed", change.removed) % {
        "count": change.removed
    }
    return _("Saved: %(added)s, %(removed)s.") % {"added": added, "removed": removed}


# Cells starting with these are read as formulas by spreadsheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


class _Echo:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value):
        return value


@admin_required
@require_GET
def binding_export(request):
    """Every binding of the platform registries (or of one), as CSV, streamed in chunks."""
    registries = _platform_registries()
    registry_id = id_or_none(request.GET.get("registry"))
    if request.GET.get("registry") and registry_id not in {registry.pk for registry in registries}:
        raise Http404
    bindings = SpaceBinding.objects.filter(space__registry__scope=Registry.Scope.PLATFORM)
    if registry_id is not None:
        bindings = bindings.filter(space__registry_id=registry_id)
    rows = bindings.order_by("space__registry__name", "space__name", "workspace__name").values_list(
        "space__registry__name",
        "space__name",
        "space__visibility",
        "workspace__name",
        "created",
        "created_by__username",
    )
    header = [_("Registry"), _("Space"), _("Type"), _("Workspace"), _("Bound since"), _("Bound by")]
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([csv_cell(title) for title in header])
        for registry, space, visibility, workspace, created, by in rows.iterator(chunk_size=EXPORT_CHUNK):
            yield writer.writerow(
                [
                    csv_cell(registry),
                    csv_cell(space),
                    csv_cell(visibility),
                    csv_cell(workspace),
                    created.isoformat(),
                    csv_cell(by),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="wharf-bindings.csv"'
    return response
