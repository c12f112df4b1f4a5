from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.decorators import permission_required
from portal.forms import AuditFilterForm
from portal.htmx import render_page
from portal.models import AuditEvent
from portal.permissions import is_admin
from registries import access
from registries.models import Registry, RegistrySpace, SpaceBinding
from workspaces.models import Membership, Namespace


@login_required
def dashboard(request):
    user = request.user
    context = {
        "memberships": Membership.objects.filter(user=user).select_related("workspace"),
        "visible_space_count": access.spaces_for_user(user).count(),
        "visible_repository_count": access.repositories_in(access.spaces_for_user(user)).count(),
    }
    if is_admin(user):
        context["platform"] = {
            "registries": Registry.objects.filter(scope=Registry.Scope.PLATFORM).count(),
            "unhealthy": Registry.objects.filter(status=Registry.Status.UNHEALTHY).count(),
            "spaces": RegistrySpace.objects.count(),
            "bindings": SpaceBinding.objects.count(),
            "unbound_namespaces": Namespace.objects.filter(workspace__isnull=True).count(),
        }
    return render(request, "portal/dashboard.html", context)


@permission_required("view_audit_log")
@require_GET
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.all()
    if form.is_valid():
        events = form.filter(events)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render_page(request, "portal/audit_log.html",
                       {"form": form, "page": page, "query": query.urlencode()},
                       fragment="audit-table")
