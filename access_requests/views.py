"""Access requests: members ask for a private registry space, Admins approve or decline.

Scope: an Admin sees every request; a Workspace Admin or Editor those of their workspaces (any
other request answers 404); a Viewer, who may not ask, gets 403. Writes go through
access_requests.services.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from access_requests import services
from access_requests.api.filters import AccessRequestFilter
from access_requests.forms import STATUS_CHOICES, AccessRequestForm, DecisionForm
from access_requests.models import AccessRequest
from portal.api.filters import cleaned
from portal.decorators import permission_required
from portal.htmx import render_page
from portal.inputs import id_or_none
from portal.permissions import can, is_admin
from registries.models import Registry
from registries.services import ServiceError, bindings_ending_soon

PER_PAGE = 20
ENDING_SOON_SHOWN = 50


def _may_see_requests(user) -> bool:
    return is_admin(user) or can(user, "request_spaces")


def _visible(user):
    return AccessRequest.objects.visible_to(user).select_related(
        "workspace", "registry", "requested_by", "decided_by"
    )


@login_required
@require_GET
def request_list(request):
    user = request.user
    if not _may_see_requests(user):
        raise PermissionDenied
    admin = is_admin(user)
    data = request.GET
    if admin and "status" not in data:
        # Admins come here to decide: the pending ones unless they chose a status ("All" is "").
        data = data.copy()
        data["status"] = AccessRequest.Status.PENDING
    filters = AccessRequestFilter(data, queryset=_visible(user).order_by("-created", "-id"))
    status, q = cleaned(filters, "status"), cleaned(filters, "q")
    workspace_id, registry_id = cleaned(filters, "workspace", None), cleaned(filters, "registry", None)
    page = Paginator(filters.qs, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "status": status,
        "statuses": STATUS_CHOICES,
        "admin": admin,
        "registry_id": registry_id,
        "workspace_id": workspace_id,
        "registries": Registry.objects.filter(scope=Registry.Scope.PLATFORM)
        .order_by("name")
        .only("id", "name")
        if admin
        else [],
        "may_request": can(user, "request_spaces"),
        "ending_soon": list(bindings_ending_soon()[:ENDING_SOON_SHOWN]) if admin else [],
    }
    return render_page(request, "access_requests/request_list.html", context, fragment="request-table")


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request):
    if not can(request.user, "request_spaces"):
        raise PermissionDenied
    # Prefilled from the explainer's or the Images page's link; validated only when sent.
    initial = {"space_name": request.GET.get("space", "").replace("\x00", "")[:255]}
    if workspace_id := id_or_none(request.GET.get("workspace")):
        initial["workspace"] = workspace_id
    if registry_id := id_or_none(request.GET.get("registry")):
        initial["registry"] = registry_id
    form = AccessRequestForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            access_request, merged = services.request_access(request.user, **form.cleaned_data)
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            if merged:
                messages.success(
                    request,
                    _(
                        "A request for this space and workspace was already waiting; "
                        "your reason was added to it."
                    ),
                )
            else:
                messages.success(
                    request, _("Request sent. An Admin will approve or decline it; the outcome appears here.")
                )
            return redirect("access_requests:detail", pk=access_request.pk)
    return render(
        request, "access_requests/request_form.html", {"form": form}, status=422 if form.errors else 200
    )


@login_required
@require_GET
def request_detail(request, pk):
    access_request = get_object_or_404(_visible(request.user), pk=pk)
    admin = is_admin(request.user)
    context = {
        "access_request": access_request,
        "admin": admin,
        "form": DecisionForm() if admin and access_request.is_pending else None,
    }
    if admin:
        # Only Admins learn whether the name matches a space (see the module docstring).
        context["space"] = access_request.matching_space()
    return render(request, "access_requests/request_detail.html", context)


def _decide(request, pk, decision):
    access_request = get_object_or_404(_visible(request.user), pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decision(access_request, form.cleaned_data)
        except ServiceError as error:
            form.add_error(None, error.message)
        else:
            return redirect("access_requests:detail", pk=pk)
    context = {
        "access_request": access_request,
        "admin": True,
        "form": form,
        "space": access_request.matching_space(),
    }
    return render(request, "access_requests/request_detail.html", context, status=422)


@permission_required("bind_spaces")
@require_POST
def request_approve(request, pk):
    def approve(access_request, data):
        services.approve(access_request, request.user, expires=data["ends"], note=data["note"])
        messages.success(
            request,
            _("Approved: %(space)s is bound to %(workspace)s.")
            % {"space": access_request.space_name, "workspace": access_request.workspace.name},
        )

    return _decide(request, pk, approve)


@permission_required("bind_spaces")
@require_POST
def request_decline(request, pk):
    def decline(access_request, data):
        services.decline(access_request, request.user, note=data["note"])
        messages.success(request, _("Declined the request."))

    return _decide(request, pk, decline)
