from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.api.filters import cleaned
from portal.decorators import admin_required
from portal.htmx import render_page, toast_events, trigger
from portal.inputs import id_or_none, search_term
from portal.redirects import next_url
from portal.urlmakers import url_maker
from registries import robots, rows, services
from registries.api.filters import RegistryFilter, SpaceFilter
from registries.forms import RegistryForm, SpaceCreateForm
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, SyncRun
from registries.paging import KeyPaginator
from registries.tasks import enqueue_sync, sync_now
from workspaces.models import Workspace

# 20 rows: each row's menu and workspace list cost ~0.65 ms to render, and at 50 rows the page
# missed its 50 ms p95 (bench/RESULTS.md). DCE itself shows 10.
SPACES_PER_PAGE = 20
DIALOG_RESULTS = 20
# "Load more (N more workspaces)" counts the matches only this far past the results shown.
DIALOG_COUNT_AHEAD = 100
# The seed's toast, word for word in English; translated when shown.
BIND_TOAST = gettext_noop("Bound/Unbound workspace successfully")


def _platform_registry(pk) -> Registry:
    return get_object_or_404(Registry.objects.platform(), pk=pk)


def sync_now_with_message(request, registry: Registry, *, to_its_page: bool) -> None:
    """ "Sync now" for either kind of registry, and the message saying how it went: failed, done,
    or started (a worker runs it). The registry's own page states an Unhealthy reason itself,
    so there the message does not repeat it (``to_its_page``); elsewhere the message gives it."""
    if registry.is_demo:
        messages.error(request, _("Demo registries are never contacted, so they cannot be synced."))
    else:
        finished, failure = sync_now(registry)
        if failure and to_its_page:
            messages.error(
                request,
                _("Sync of %(name)s failed; the registry's status below says why.") % {"name": registry.name},
            )
        elif failure:
            messages.error(
                request, _("Sync of %(name)s failed: %(reason)s") % {"name": registry.name, "reason": failure}
            )
        elif finished:
            messages.success(request, _("Synced %(name)s.") % {"name": registry.name})
        else:
            messages.info(request, _("Sync of %(name)s started.") % {"name": registry.name})


# Integrated Registry (Admin) --------------------------------------------------------------


@admin_required
@require_GET
def platform_list(request):
    filters = RegistryFilter(request.GET, queryset=Registry.objects.platform().order_by("name"))
    registries = filters.qs
    q = cleaned(filters, "q")
    return render_page(
        request,
        "registries/registry_list.html",
        {"registries": registries, "q": q},
        fragment="registry-table",
    )


@admin_required
@require_http_methods(["GET", "POST"])
def registry_create(request):
    form = RegistryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        registry = form.save_checked(request.user, scope=Registry.Scope.PLATFORM)
        if registry:
            messages.success(request, _("Integrated registry %(name)s.") % {"name": registry.name})
            enqueue_sync(registry)
            return redirect("registries:detail", pk=registry.pk)
    return render(request, "registries/registry_form.html", {"form": form, "registry": None})


@admin_required
@require_http_methods(["GET", "POST"])
def registry_edit(request, pk):
    registry = _platform_registry(pk)
    form = RegistryForm(request.POST or None, instance=registry)
    if request.method == "POST" and form.is_valid() and form.save_checked(request.user):
        messages.success(request, _("Saved registry %(name)s.") % {"name": registry.name})
        return redirect("registries:detail", pk=registry.pk)
    return render(request, "registries/registry_form.html", {"form": form, "registry": registry})


@admin_required
@require_http_methods(["GET", "POST"])
def registry_remove(request, pk):
    registry = _platform_registry(pk)
    if request.method == "POST":
        name = registry.name
        services.remove_registry(registry, request.user)
        messages.success(request, _("Removed registry %(name)s.") % {"name": name})
        return redirect("registries:platform-list")
    context = {
        "registry": registry,
        "space_count": registry.spaces.count(),
        "binding_count": SpaceBinding.objects.in_registry(registry).count(),
        "bound_workspaces": Workspace.objects.filter(space_bindings__space__registry=registry)
        .distinct()
        .order_by("name")[:50],
    }
    return render(request, "registries/registry_remove.html", context)


@admin_required
@require_POST
def registry_sync(request, pk):
    registry = _platform_registry(pk)
    its_page = reverse("registries:detail", args=[registry.pk])
    target = next_url(request, its_page)
    sync_now_with_message(request, registry, to_its_page=target == its_page)
    return redirect(target)


@admin_required
@require_GET
def registry_detail(request, pk):
    registry = _platform_registry(pk)
    counts = registry.spaces.aggregate(
        spaces=Count("pk"),
        public=Count("pk", filter=Q(visibility="public")),
        missing=Count("pk", filter=Q(missing=True)),
    )
    context = {
        "registry": registry,
        "counts": counts,
        "binding_count": SpaceBinding.objects.in_registry(registry).count(),
        "repository_count": Repository.objects.in_registry(registry).count(),
        "sync_runs": SyncRun.objects.filter(registry=registry)[:5],
        "tab": "overview",
    }
    return render(request, "registries/registry_detail.html", context)


# Registry space ---------------------------------------------------------------------------


def _prepare_rows(request, registry, spaces) -> SafeString:
    """What each row shows, computed once per page here rather than by tags in every row, and
    the rows' HTML (registries/rows.py).

    bench/space_row_profile.py measured the row's template work: its seven ``{% url %}`` (a
    ``reverse`` each) were half of it, and each ``space.workspaces`` built a related manager;
    then the template engine itself (lookups, ``{% translate %}``, the include) was most of it.
    Also reads the robots' propagation status of the workspaces bound on these rows only, in
    one query, and each row's propagation status.
    """
    urls = {
        name: url_maker(f"registries:{route}", registry.pk)
        for name, route in (
            ("row", "space-row"),
            ("bindings", "space-bindings"),
            ("visibility", "space-visibility"),
            ("delete", "space-delete"),
        )
    }
    retry_url = url_maker("registries:credential-retry", registry.pk)
    spaces = list(spaces)
    bound = SpaceBinding.objects.bound_by_space([space.pk for space in spaces])
    for space in spaces:
        space.bound = bound.get(space.pk, [])
        space.urls = {name: make(space.pk) for name, make in urls.items()}
    robots.credentials_by_workspace(registry, {workspace.pk for space in spaces for workspace in space.bound})
    for space in spaces:
        # None for most rows (public, unbound, no robots).
        space.propagation = robots.propagation_status(registry, space, space.bound)
    return rows.space_rows(spaces, csrf_input(request), retry_url)


@admin_required
@require_GET
def space_list(request, pk):
    registry = _platform_registry(pk)
    filters = SpaceFilter(request.GET, queryset=registry.spaces.order_by("name"))
    spaces = filters.qs
    q = cleaned(filters, "q")
    # A search or a filter is counted only a few pages ahead (registries.paging.KeyPaginator
    # says why); the whole list exactly, from the (registry, name) index.
    searched = not filters.is_valid() or any(filters.form.cleaned_data.values())
    page = KeyPaginator(spaces, SPACES_PER_PAGE, key="name", capped=searched).get_page(
        request.GET.get("page")
    )
    context = {
        "registry": registry,
        "page": page,
        "q": q,
        "tab": "spaces",
        "space_rows": _prepare_rows(request, registry, page),
    }
    return render_page(request, "registries/space_list.html", context, fragment="space-table")


def _space(registry_pk, space_pk) -> RegistrySpace:
    return get_object_or_404(
        RegistrySpace.objects.select_related("registry"),
        pk=space_pk,
        registry_id=registry_pk,
        registry__scope=Registry.Scope.PLATFORM,
    )


@admin_required
@require_GET
def space_row(request, pk, space_pk):
    space = get_object_or_404(_platform_registry(pk).spaces, pk=space_pk)
    return render(
        request,
        "registries/space_list.html#space-rows",
        {"registry": space.registry, "space_rows": _prepare_rows(request, space.registry, [space])},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def space_bindings(request, pk, space_pk):
    """The Bind/unbind workspace dialog: open, search, load more, and apply on OK.

    Without htmx (JavaScript off, or the link opened on its own) the same URL is a page: a plain
    form of checkboxes, one page of workspaces at a time, bound ones first.
    """
    space = _space(pk, space_pk)
    if request.method == "POST":
        end_days = _end_days(request.POST)
        try:
            change = services.apply_dialog(
                space,
                request.user,
                shown_ids=request.POST.getlist("shown"),
                chosen_ids=request.POST.getlist("workspaces"),
                end_days=end_days,
            )
        except services.ServiceError as error:
            if not request.htmx:
                return render(
                    request,
                    "registries/binding_page.html",
                    _page_context(space, request.POST, error=error.message),
                    status=422,
                )
            chosen = _chosen_workspaces(request.POST.getlist("workspaces"))
            for workspace in chosen:
                workspace.end_day = end_days.get(workspace.pk, "")
            return render(
                request,
                "registries/_binding_dialog.html",
                _dialog_context(
                    space,
                    request.POST.getlist("shown"),
                    chosen,
                    search_term(request.POST),
                    error=error.message,
                ),
                status=422,
            )
        message = _(BIND_TOAST) if change.changed else _("No changes to the bound workspaces.")
        if not request.htmx:
            messages.success(request, message)
            return redirect("registries:spaces", pk=pk)
        return trigger(toast_events(message, f"space-changed-{space.pk}"))

    if not request.htmx:
        return render(request, "registries/binding_page.html", _page_context(space, request.GET))
    if request.GET.get("results"):
        # Search or "Load more" inside the open dialog: only the result rows are replaced.
        chosen = _chosen_workspaces(request.GET.getlist("workspaces"))
        fragment = "binding-rows" if request.GET.get("offset") else "binding-results"
        return render(
            request,
            f"registries/_binding_dialog.html#{fragment}",
            _dialog_context(space, [], chosen, search_term(request.GET), offset=_offset(request.GET)),
        )
    bound = []
    for binding in (
        space.bindings.select_related("workspace")
        .only("id", "space_id", "expires", "workspace__id", "workspace__name")
        .order_by("workspace__name")
    ):
        if binding.expires:
            binding.workspace.end_day = timezone.localdate(binding.expires).isoformat()
        bound.append(binding.workspace)
    return render(
        request,
        "registries/_binding_dialog.html",
        _dialog_context(space, [w.pk for w in bound], bound, search_term(request.GET)),
    )


def _offset(data) -> int:
    return id_or_none(data.get("offset")) or 0


def _end_days(data) -> dict[int, str]:
    """Each chosen workspace's "Ends on" field as typed (``expires-<id>``); a workspace sent
    without one (the page without JavaScript has none) is left out, so its end stays."""
    days = {}
    for pk in map(id_or_none, data.getlist("workspaces")[: services.MAX_WORKSPACES_PER_CHANGE]):
        if pk is not None and f"expires-{pk}" in data:
            days[pk] = data[f"expires-{pk}"][:20]
    return days


def _chosen_workspaces(ids) -> list[Workspace]:
    clean = [pk for pk in map(id_or_none, ids) if pk is not None][: services.MAX_WORKSPACES_PER_CHANGE]
    return list(Workspace.objects.filter(pk__in=clean).only("id", "name").order_by("name"))


def _workspaces_for(space, q: str):
    """Every workspace matching ``q``, those bound to ``space`` first, then by name."""
    workspaces = (
        Workspace.objects.only("id", "name", "description")
        .annotate(
            is_bound=Exists(SpaceBinding.objects.filter(space=space, workspace=OuterRef("pk"))),
        )
        .order_by("-is_bound", "name")
    )
    if q:
        workspaces = workspaces.filter(name__icontains=q)
    return workspaces


def _dialog_results(space, q: str, offset: int) -> tuple[list[Workspace], int, bool]:
    """The dialog's results from ``offset``: the workspaces matching ``q``, those bound to
    ``space`` first, then by name, one more than a page (to know there are more). Also how
    many follow the page, counted at most ``DIALOG_COUNT_AHEAD`` far, and whether more do.

    Sorting every matching workspace by "bound, then name" (``_workspaces_for``) reads them
    all: 5,000 workspaces, 4 ms in bench/pages_bench.py, against 0.1 ms at 1 % of the data,
    and counting the rest for "Load more (N more)" read them all again. Here the bound ones
    (a space has a few) come from its bindings, the others from the name index as far as the
    page reaches, and the count stops ``DIALOG_COUNT_AHEAD`` past the page: the same rows,
    in the same order, with a cost that does not grow with the number of workspaces.
    """
    matching = Workspace.objects.only("id", "name", "description")
    if q:
        matching = matching.filter(name__icontains=q)
    bound_ids = SpaceBinding.objects.filter(space=space).values("workspace_id")
    wanted = DIALOG_RESULTS + 1
    bound = list(matching.filter(pk__in=bound_ids).order_by("name"))
    results = bound[offset : offset + wanted]
    start = max(offset - len(bound), 0)
    # At least one row asked for, even when the bound ones fill the page: the same queries
    # for every page.
    others = matching.exclude(pk__in=bound_ids).order_by("name")[
        start : start + max(wanted - len(results), 1)
    ]
    for workspace in results:
        workspace.is_bound = True
    for workspace in others:
        workspace.is_bound = False
        results.append(workspace)
    results = results[:wanted]
    if len(results) <= DIALOG_RESULTS:
        return results, 0, False
    next_offset = offset + DIALOG_RESULTS
    counted = matching.order_by()[: next_offset + DIALOG_COUNT_AHEAD + 1].count() - next_offset
    return results, min(counted, DIALOG_COUNT_AHEAD), counted > DIALOG_COUNT_AHEAD


def _dialog_context(space, shown_ids, chosen, q: str, error=None, offset: int = 0):
    """``q`` comes cleaned by search_term (no NUL, at most 100 characters)."""
    results, remaining, remaining_more = _dialog_results(space, q, offset)
    more = len(results) > DIALOG_RESULTS
    next_offset = offset + DIALOG_RESULTS
    return {
        "space": space,
        "registry": space.registry,
        "shown_ids": shown_ids,
        "chosen": chosen,
        "chosen_ids": {workspace.pk for workspace in chosen},
        "results": results[:DIALOG_RESULTS],
        "more_results": more,
        "remaining": remaining,
        "remaining_more": remaining_more,
        "next_offset": next_offset,
        "q": q,
        "error": error,
        "first_end_day": timezone.localdate() + timedelta(days=1),
    }


def _page_context(space, data, error=None):
    """The page without JavaScript: checkboxes named ``workspaces`` for one page of workspaces;
    ``shown`` lists the bound ones on it, so the diff touches only what this page showed."""
    q = search_term(data)
    page = Paginator(_workspaces_for(space, q), DIALOG_RESULTS).get_page(data.get("page"))
    if error is None:
        checked = {workspace.pk for workspace in page if workspace.is_bound}
    else:
        checked = {pk for pk in map(id_or_none, data.getlist("workspaces")) if pk is not None}
    return {
        "space": space,
        "registry": space.registry,
        "page": page,
        "checked_ids": checked,
        "bound_count": space.workspaces.count(),
        "q": q,
        "error": error,
    }


@admin_required
@require_http_methods(["GET", "POST"])
def space_create(request, pk):
    registry = _platform_registry(pk)
    form = SpaceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_space(registry, request.user, **form.cleaned_data)
        except services.ServiceError as error:
            form.add_error(error.field, error.message)
        else:
            if request.htmx:
                return trigger(toast_events(_("Created registry space successfully"), "spaces-changed"))
            messages.success(request, _("Created registry space successfully"))
            return redirect("registries:spaces", pk=registry.pk)
    template = "registries/_space_create.html" if request.htmx else "registries/space_create_page.html"
    return render(request, template, {"registry": registry, "form": form}, status=422 if form.errors else 200)


@admin_required
@require_POST
def space_visibility(request, pk, space_pk):
    space = _space(pk, space_pk)
    visibility = request.POST.get("visibility")
    if visibility not in RegistrySpace.Visibility.values:
        return _space_action_error(request, space, _("Choose public or private."))
    try:
        services.set_visibility(space, request.user, visibility)
    except services.ServiceError as error:
        return _space_action_error(request, space, error.message)
    message = _("%(space)s is now %(visibility)s.") % {
        "space": space.name,
        "visibility": RegistrySpace.Visibility(visibility).label,
    }
    if request.htmx:
        return trigger(toast_events(message, f"space-changed-{space.pk}", close_modal=False))
    messages.success(request, message)
    return redirect("registries:spaces", pk=pk)


@admin_required
@require_http_methods(["GET", "POST"])
def space_delete(request, pk, space_pk):
    space = _space(pk, space_pk)
    if request.method == "POST":
        try:
            services.delete_space(space, request.user)
        except services.ServiceError as error:
            return _space_action_error(request, space, error.message)
        message = _("Deleted registry space %(name)s.") % {"name": space.name}
        if request.htmx:
            return trigger(toast_events(message, "spaces-changed"))
        messages.success(request, message)
        return redirect("registries:spaces", pk=pk)
    context = {
        "space": space,
        "registry": space.registry,
        "bound": list(space.workspaces.order_by("name").values_list("name", flat=True)),
    }
    template = "registries/_space_delete.html" if request.htmx else "registries/space_delete_page.html"
    return render(request, template, context)


def _space_action_error(request, space, message):
    if request.htmx:
        response = trigger({"showToast": {"message": str(message), "level": "error"}}, status=422)
        # htmx does not swap 4xx answers, but still reads their events.
        return response
    messages.error(request, message)
    return redirect("registries:spaces", pk=space.registry_id)
