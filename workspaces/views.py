"""Workspace pages. registries builds on workspaces, so the pages that show a workspace's
registry spaces, pull credentials and pull secrets import registries where they use it."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.api.filters import cleaned
from portal.decorators import permission_required
from portal.errors import ServiceError
from portal.htmx import render_page
from portal.permissions import can
from workspaces import services
from workspaces.api.filters import NamespaceFilter, WorkspaceFilter
from workspaces.forms import (
    ClusterForm,
    MemberForm,
    NamespaceBindForm,
    NamespaceForm,
    RoleForm,
    WorkspaceForm,
)
from workspaces.models import Membership, Namespace, Workspace
from workspaces.scope import namespace_for, workspace_for

PER_PAGE = 50


# Workspaces -------------------------------------------------------------------------------


@login_required
@require_GET
def workspace_list(request):
    filters = WorkspaceFilter(
        request.GET, queryset=Workspace.objects.visible_to(request.user).with_counts().order_by("name")
    )
    workspaces = filters.qs
    q = cleaned(filters, "q")
    page = Paginator(workspaces, PER_PAGE).get_page(request.GET.get("page"))
    roles = dict(Membership.objects.filter(user=request.user).values_list("workspace_id", "role"))
    role_labels = dict(Membership.Role.choices)
    for workspace in page:
        workspace.my_role = role_labels.get(roles.get(workspace.pk), "")
    return render_page(
        request,
        "workspaces/workspace_list.html",
        {"page": page, "q": q, "may_create": can(request.user, "manage_workspaces")},
        fragment="workspace-table",
    )


@permission_required("manage_workspaces")
@require_http_methods(["GET", "POST"])
def workspace_create(request):
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        workspace = services.create_workspace(request.user, **form.cleaned_data)
        messages.success(request, _("Created workspace %(name)s.") % {"name": workspace.name})
        return redirect("workspaces:detail", pk=workspace.pk)
    return render(request, "workspaces/workspace_form.html", {"form": form, "workspace": None})


@permission_required("manage_workspaces")
@require_http_methods(["GET", "POST"])
def workspace_edit(request, pk):
    workspace = get_object_or_404(Workspace, pk=pk)
    form = WorkspaceForm(request.POST or None, instance=workspace)
    if request.method == "POST" and form.is_valid():
        services.update_workspace(workspace, request.user, description=form.cleaned_data["description"])
        messages.success(request, _("Saved workspace %(name)s.") % {"name": workspace.name})
        return redirect("workspaces:detail", pk=workspace.pk)
    return render(request, "workspaces/workspace_form.html", {"form": form, "workspace": workspace})


@permission_required("manage_workspaces")
@require_http_methods(["GET", "POST"])
def workspace_delete(request, pk):
    workspace = get_object_or_404(Workspace, pk=pk)
    blockers = services.deletion_blockers(workspace)
    if request.method == "POST":
        try:
            services.delete_workspace(workspace, request.user)
        except ServiceError as error:
            messages.error(request, error.message)
            return redirect("workspaces:delete", pk=pk)
        messages.success(request, _("Deleted workspace %(name)s.") % {"name": workspace.name})
        return redirect("workspaces:list")
    return render(
        request,
        "workspaces/workspace_delete.html",
        {"workspace": workspace, "blockers": blockers, "blocked": any(blockers.values())},
    )


@login_required
@require_GET
def workspace_detail(request, pk):
    from registries.models import PullCredential, RegistrySpace

    workspace = workspace_for(request.user, pk)
    context = {
        "workspace": workspace,
        "memberships": workspace.memberships.select_related("user").order_by("user__username"),
        "bound_spaces": RegistrySpace.objects.filter(bindings__workspace=workspace)
        .select_related("registry")
        .order_by("registry__name", "name"),
        "namespaces": workspace.namespaces.select_related("cluster"),
        "registries": workspace.registries.all(),
        "may_manage_members": can(request.user, "manage_members", workspace),
        "may_manage_workspace": can(request.user, "manage_workspaces"),
        "may_manage_registries": can(request.user, "manage_workspace_registries", workspace),
        "credentials": PullCredential.objects.filter(workspace=workspace)
        .select_related("registry")
        .only("id", "username", "state", "rotated", "previous_valid_until", "registry__name")
        .order_by("registry__name"),
        "may_rotate_credentials": can(request.user, "rotate_pull_credentials", workspace),
        "member_form": MemberForm(),
        "role_choices": Membership.Role.choices,
    }
    return render(request, "workspaces/workspace_detail.html", context)


def _member_manager(request, pk) -> Workspace:
    workspace = workspace_for(request.user, pk, "manage_members")
    return workspace


@login_required
@require_POST
def member_add(request, pk):
    workspace = _member_manager(request, pk)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            services.add_member(
                workspace, request.user, user=form.cleaned_data["username"], role=form.cleaned_data["role"]
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Added %(user)s.") % {"user": form.cleaned_data["username"]})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("workspaces:detail", pk=pk)


@login_required
@require_POST
def member_change(request, pk, member_pk):
    workspace = _member_manager(request, pk)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "workspace"), pk=member_pk, workspace=workspace
    )
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.change_role(membership, request.user, form.cleaned_data["role"])
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Changed the role of %(user)s.") % {"user": membership.user})
    else:
        messages.error(request, _("Choose Workspace Admin, Editor or Viewer."))
    return redirect("workspaces:detail", pk=pk)


@login_required
@require_POST
def member_remove(request, pk, member_pk):
    workspace = _member_manager(request, pk)
    membership = get_object_or_404(
        Membership.objects.select_related("user", "workspace"), pk=member_pk, workspace=workspace
    )
    try:
        services.remove_member(membership, request.user)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Removed %(user)s from the workspace.") % {"user": membership.user})
    return redirect("workspaces:detail", pk=pk)


@login_required
@require_POST
def pull_credentials_rotate(request, pk):
    """Rotate the workspace's pull credentials (Workspace Admins and Admins)."""
    from registries.services import rotate_pull_credentials

    workspace = workspace_for(request.user, pk, "rotate_pull_credentials")
    rotated = rotate_pull_credentials(workspace, request.user, reason="requested on the workspace page")
    if not rotated:
        messages.info(request, _("This workspace has no pull credentials to rotate yet."))
    elif settings.WHARF_CREDENTIAL_OVERLAP:
        until = timezone.now() + dt.timedelta(seconds=settings.WHARF_CREDENTIAL_OVERLAP)
        messages.success(
            request,
            _(
                "New pull credentials for %(registries)s. The old ones keep working until %(until)s: "
                "download each namespace's registry-secret again before then."
            )
            % {
                "registries": ", ".join(rotated),
                "until": date_format(timezone.localtime(until), "DATETIME_FORMAT"),
            },
        )
    else:
        messages.success(
            request,
            _(
                "New pull credentials for %(registries)s; the old ones no longer work: download each "
                "namespace's registry-secret again."
            )
            % {"registries": ", ".join(rotated)},
        )
    return redirect("workspaces:detail", pk=pk)


# Clusters and namespaces ------------------------------------------------------------------


@login_required
@require_GET
def namespace_list(request):
    filters = NamespaceFilter(
        request.GET,
        queryset=Namespace.objects.visible_to(request.user)
        .select_related("cluster", "workspace")
        .order_by("cluster__name", "name"),
    )
    q, bound = cleaned(filters, "q"), cleaned(filters, "bound")
    page = Paginator(filters.qs, PER_PAGE).get_page(request.GET.get("page"))
    return render_page(
        request,
        "workspaces/namespace_list.html",
        {
            "page": page,
            "q": q,
            "bound": bound or "",
            "may_manage": can(request.user, "manage_clusters"),
            "may_bind": can(request.user, "bind_namespaces"),
        },
        fragment="namespace-table",
    )


@permission_required("manage_clusters")
@require_http_methods(["GET", "POST"])
def cluster_create(request):
    form = ClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cluster = services.create_cluster(request.user, **form.cleaned_data)
        messages.success(request, _("Registered cluster %(name)s.") % {"name": cluster.name})
        return redirect("workspaces:namespace-list")
    return render(request, "workspaces/simple_form.html", {"form": form, "title": _("Register cluster")})


@permission_required("manage_clusters")
@require_http_methods(["GET", "POST"])
def namespace_create(request):
    form = NamespaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            namespace = services.create_namespace(request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("Registered namespace %(name)s.") % {"name": namespace})
            return redirect("workspaces:namespace-list")
    return render(request, "workspaces/simple_form.html", {"form": form, "title": _("Register namespace")})


@login_required
@require_GET
def namespace_detail(request, pk):
    from registries import pull_secrets

    namespace = get_object_or_404(
        Namespace.objects.visible_to(request.user).select_related("cluster", "workspace"), pk=pk
    )
    may_fetch_secret = bool(namespace.workspace_id) and can(
        request.user, "fetch_pull_secret", namespace.workspace
    )
    return render(
        request,
        "workspaces/namespace_detail.html",
        {
            "namespace": namespace,
            "may_bind": can(request.user, "bind_namespaces"),
            "may_deploy": namespace.workspace_id and can(request.user, "use_images", namespace.workspace),
            "may_fetch_secret": may_fetch_secret,
            "covered": pull_secrets.covered_registries(namespace.workspace) if may_fetch_secret else [],
            "secret_name": pull_secrets.SECRET_NAME,
        },
    )


@login_required
@require_POST
def namespace_pull_secret(request, pk):
    """Download the namespace's `registry-secret` manifest (audited).

    A POST (with its CSRF token): the download mints missing credentials and writes an audit
    event, which a link another site embeds (an image tag) must not be able to cause.
    """
    from registries import pull_secrets

    namespace = namespace_for(request.user, pk, "fetch_pull_secret", unbound=Http404())
    manifest = pull_secrets.fetch_pull_secret(namespace, request.user, mint=True)
    response = HttpResponse(pull_secrets.as_yaml(manifest), content_type="application/yaml")
    filename = f"{pull_secrets.SECRET_NAME}-{namespace.name}.yaml"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@permission_required("bind_namespaces")
@require_http_methods(["GET", "POST"])
def namespace_bind(request, pk):
    namespace = get_object_or_404(Namespace.objects.select_related("cluster", "workspace"), pk=pk)
    form = NamespaceBindForm(request.POST or None, initial={"workspace": namespace.workspace})
    if request.method == "POST" and form.is_valid():
        workspace = form.cleaned_data["workspace"]
        try:
            services.bind_namespace(namespace, request.user, workspace)
        except ServiceError as error:
            form.add_error("workspace", error.message)
        else:
            if workspace:
                message = _("Bound %(namespace)s to workspace %(workspace)s.") % {
                    "namespace": namespace,
                    "workspace": workspace.name,
                }
            else:
                message = _("Unbound %(namespace)s from its workspace.") % {"namespace": namespace}
            messages.success(request, message)
            return redirect("workspaces:namespace-list")
    return render(
        request,
        "workspaces/namespace_bind.html",
        {"namespace": namespace, "form": form},
        status=422 if form.errors else 200,
    )
