"""Integrated Registry (Workspace): registries a Workspace Admin integrates for one workspace.

Same form, connection check and services as the Admin pages; the scope differs. Members see
them; only the workspace's admins change them; everyone else gets 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.decorators import refusal
from portal.inputs import id_or_none
from portal.permissions import can
from registries import services
from registries.api.filters import RegistryFilter
from registries.forms import WorkspaceRegistryForm
from registries.models import Registry, SyncRun
from registries.tasks import enqueue_sync
from registries.views import sync_now_with_message
from workspaces.models import Workspace
from workspaces.scope import workspace_for


def _workspace_registry(request, pk, *, manage=False) -> Registry:
    registry = get_object_or_404(
        Registry.objects.select_related("workspace"),
        pk=pk,
        scope=Registry.Scope.WORKSPACE,
        workspace__in=Workspace.objects.visible_to(request.user),
    )
    if manage and not can(request.user, "manage_workspace_registries", registry.workspace):
        raise refusal("manage_workspace_registries")
    return registry


@login_required
@require_GET
def workspace_registry_list(request):
    workspaces = list(Workspace.objects.visible_to(request.user).order_by("name"))
    if not workspaces:
        return render(request, "registries/workspace_registry_list.html", {"workspaces": []})
    selected = workspaces[0]
    if request.GET.get("workspace"):
        selected = next((w for w in workspaces if str(w.pk) == request.GET["workspace"]), None)
        if selected is None:
            raise Http404
    filters = RegistryFilter(request.GET, queryset=Registry.objects.of_workspace(selected).order_by("name"))
    registries = filters.qs
    return render(
        request,
        "registries/workspace_registry_list.html",
        {
            "workspaces": workspaces,
            "selected": selected,
            "registries": registries,
            "may_manage": can(request.user, "manage_workspace_registries", selected),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def workspace_registry_create(request):
    pk = id_or_none(request.GET.get("workspace") or request.POST.get("workspace"))
    workspace = workspace_for(request.user, pk or 0, "manage_workspace_registries")
    form = WorkspaceRegistryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        registry = form.save_checked(request.user, scope=Registry.Scope.WORKSPACE, workspace=workspace)
        if registry:
            messages.success(
                request,
                _("Integrated registry %(name)s for workspace %(workspace)s.")
                % {"name": registry.name, "workspace": workspace.name},
            )
            enqueue_sync(registry)
            return redirect("registries:workspace-detail", pk=registry.pk)
    return render(
        request, "registries/registry_form.html", {"form": form, "registry": None, "workspace": workspace}
    )


@login_required
@require_http_methods(["GET", "POST"])
def workspace_registry_edit(request, pk):
    registry = _workspace_registry(request, pk, manage=True)
    form = WorkspaceRegistryForm(request.POST or None, instance=registry)
    if request.method == "POST" and form.is_valid() and form.save_checked(request.user):
        messages.success(request, _("Saved registry %(name)s.") % {"name": registry.name})
        return redirect("registries:workspace-detail", pk=registry.pk)
    return render(
        request,
        "registries/registry_form.html",
        {"form": form, "registry": registry, "workspace": registry.workspace},
    )


@login_required
@require_GET
def workspace_registry_detail(request, pk):
    registry = _workspace_registry(request, pk)
    return render(
        request,
        "registries/workspace_registry_detail.html",
        {
            "registry": registry,
            "spaces": registry.spaces.order_by("name"),
            "sync_runs": SyncRun.objects.filter(registry=registry)[:5],
            "may_manage": can(request.user, "manage_workspace_registries", registry.workspace),
        },
    )


@login_required
@require_POST
def workspace_registry_sync(request, pk):
    registry = _workspace_registry(request, pk, manage=True)
    sync_now_with_message(request, registry, to_its_page=True)
    return redirect("registries:workspace-detail", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_registry_remove(request, pk):
    registry = _workspace_registry(request, pk, manage=True)
    if request.method == "POST":
        workspace = registry.workspace
        services.remove_registry(registry, request.user)
        messages.success(request, _("Removed registry %(name)s.") % {"name": registry.name})
        return redirect(f"{reverse('registries:workspace-list')}?workspace={workspace.pk}")
    return render(
        request,
        "registries/registry_remove.html",
        {
            "registry": registry,
            "space_count": registry.spaces.count(),
            "binding_count": 0,
            "cancel_url": reverse("registries:workspace-detail", args=[registry.pk]),
        },
    )
