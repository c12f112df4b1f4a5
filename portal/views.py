from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views import i18n as i18n_views
from django.views.decorators.http import require_GET, require_POST

from portal import audit_sentences, languages, lockout, services
from portal.api.filters import AuditEventFilter
from portal.decorators import permission_required
from portal.forms import AuditFilterForm, LoginForm
from portal.htmx import render_page
from portal.models import AuditEvent
from portal.permissions import is_admin
from portal.redirects import is_same_site_path
from registries import access
from registries.models import Registry, RegistrySpace, SpaceBinding
from workspaces.models import Membership, Namespace


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    redirect_authenticated_user = True
    # LoginView would take PUT as a POST: the page answers only what its form uses.
    http_method_names = ["get", "head", "post"]

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.is_locked_out:
            response.status_code = 429
            seconds = lockout.retry_after(self.request)
            if seconds is not None:
                response["Retry-After"] = str(seconds)
        return response


def lockout_response(request, original_response=None, credentials=None):
    """Axes' answer for a locked-out request (AXES_LOCKOUT_CALLABLE). The login page, the API
    and the token service answer a lockout themselves, in their own formats (a 429), and that
    answer is kept; anything else calling ``authenticate()`` (Django admin's login) gets the
    login page with the lockout message."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    form = LoginForm(request, initial={"username": (credentials or {}).get("username") or ""})
    response = render(
        request,
        "registration/login.html",
        {"form": form, "lockout_message": lockout.message(request)},
        status=429,
    )
    seconds = lockout.retry_after(request)
    if seconds is not None:
        response["Retry-After"] = str(seconds)
    return response


@login_required
@require_GET
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
    status = 200
    if form.is_bound and not form.is_valid():
        # Bad filters list nothing rather than everything; htmx swaps only 2xx answers, so
        # the errors reach the table there with a 200.
        events = events.none()
        status = 200 if request.htmx else 400
    elif form.is_bound:
        # The page's form shows and checks the filters; the API's FilterSet applies them.
        events = AuditEventFilter(request.GET, queryset=events).qs
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render_page(
        request,
        "portal/audit_log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "lines": audit_sentences.describe(page, request.user),
        },
        fragment="audit-table",
        status=status,
    )


# Error pages: JSON under /api/ (clients parse it, the schema documents it), HTML elsewhere.


def _api_error(request, status: int, message: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return None


def bad_request(request, exception):
    return _api_error(request, 400, _("Bad request.")) or defaults.bad_request(request, exception)


def permission_denied(request, exception):
    return _api_error(request, 403, _("You do not have permission to perform this action.")) or _error_page(
        request, "403.html", 403, {"required_role": getattr(exception, "role", "")}
    )


def page_not_found(request, exception):
    return _api_error(request, 404, _("Not found.")) or _error_page(request, "404.html", 404)


def server_error(request):
    # defaults.server_error renders 500.html with no request context: nothing that may have
    # failed (the database, a context processor) is needed to say so.
    return _api_error(request, 500, _("Server error.")) or defaults.server_error(request)


def _error_page(request, template_name: str, status: int, context=None):
    return render(request, template_name, context or {}, status=status)


@require_POST
def set_language(request):
    """The top bar's language switch: Django's set_language (cookie, same-site ``next``), and
    for a signed-in person the choice is stored on the account too."""
    if not is_same_site_path(request.POST.get("next", "")):
        request.POST = request.POST.copy()
        request.POST["next"] = reverse("dashboard")
    response = i18n_views.set_language(request)
    language = request.POST.get("language")
    if response.status_code in (302, 204) and languages.is_supported(language):
        if request.user.is_authenticated:
            services.set_language_preference(request.user, language)
            languages.remember_in_session(request, language)
    return response
