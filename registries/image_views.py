"""Images, a repository's tags, the Choose Image picker and “Why can't I see this image?”.

What is shown always comes from registries/access.py; roles from portal.permissions (through
access.namespaces_for_user). Anything outside the user's scope answers 404.
"""

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from access_requests.links import explainer_request_link, request_link
from portal.api.filters import cleaned
from portal.htmx import render_page
from portal.inputs import id_or_none
from portal.permissions import is_admin
from portal.urlmakers import cached_reverse, url_maker
from registries import access, explain, image_details, imagerefs, login_commands, rows, services
from registries.api.filters import RepositoryFilter
from registries.clients.base import DIGEST
from registries.forms import ConfirmDeletionForm
from registries.login_views import push_commands
from registries.models import Registry, Repository, Tag
from registries.paging import CappedCountPaginator
from workspaces.models import Membership, Namespace
from workspaces.scope import namespace_for

IMAGES_PER_PAGE = 50
TAGS_PER_PAGE = 50
PICKER_PER_PAGE = 20
# The columns the repository lists show (not the registry's credentials, CA bundle, ...).
LISTED_COLUMNS = (
    "name",
    "description",
    "tag_count",
    "last_push",
    "space__name",
    "space__visibility",
    "space__registry__name",
    "space__registry__url",
    "space__registry__scope",
    # The kind says how the url becomes an image reference's host (Registry.host).
    "space__registry__status",
    "space__registry__kind",
)


def _int_param(request, name: str) -> int | None:
    """A whole-number query parameter; anything else is 404 (it names no object of ours)."""
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    pk = id_or_none(value)
    if pk is None:
        raise Http404
    return pk


def _namespace(request, action: str = "browse_images") -> Namespace | None:
    pk = _int_param(request, "namespace")
    if pk is None:
        return None
    return namespace_for(request.user, pk, action, scope=access.namespaces_for_user(request.user, action))


def explainable_namespaces(user):
    """The namespaces the explainer answers for: a member's, and every one for an Admin.

    An Admin manages bindings, so may ask why any namespace cannot see an image; the answer
    still never lists a private repository of a workspace the Admin is not a member of.
    """
    if is_admin(user):
        return Namespace.objects.all()
    return access.namespaces_for_user(user, "browse_images")


# Images -----------------------------------------------------------------------------------


@login_required
@require_GET
def images(request):
    memberships = list(
        Membership.objects.filter(user=request.user).select_related("workspace").order_by("workspace__name")
    )
    workspaces = [membership.workspace for membership in memberships]
    chosen = _int_param(request, "workspace")
    if chosen is None:
        workspace = workspaces[0] if workspaces else None
    else:
        workspace = next((w for w in workspaces if w.pk == chosen), None)
        if workspace is None:
            raise Http404
    spaces = access.spaces_for_workspace(workspace, healthy_only=False)
    repositories = (
        access.repositories_to_list(spaces)
        .select_related("space__registry")
        .only(*LISTED_COLUMNS)
        .order_by("name", "pk")
    )
    filters = RepositoryFilter(request.GET, queryset=repositories)
    q = cleaned(filters, "q")
    page = CappedCountPaginator(filters.qs, IMAGES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "workspaces": workspaces,
        "workspace": workspace,
        "q": q,
        "page": page,
        "request_link": request_link(request.user, workspace.pk if workspace else None),
    }
    return render_page(request, "images/image_list.html", context, fragment="image-table")


def visible_repository(user, pk) -> Repository:
    """A repository ``user`` may see (registries.access), or 404."""
    visible = access.repositories_in(access.spaces_for_user(user, healthy_only=False))
    return get_object_or_404(visible.select_related("space__registry"), pk=pk)


def artifact_digest(repository: Repository, digest: str) -> str:
    """``digest`` when a tag of ``repository`` names it (what Wharf knows of), else 404."""
    if not DIGEST.fullmatch(digest) or not repository.tags.filter(digest=digest).exists():
        raise Http404
    return digest


def _require_push(user, repository: Repository) -> None:
    # Seen but not theirs to change: forbidden, not hidden.
    if not access.can_push(user, repository.space):
        raise PermissionDenied


@login_required
@require_GET
def repository_detail(request, pk):
    repository = visible_repository(request.user, pk)
    registry = repository.space.registry
    tags = repository.tags.order_by("-pushed", "name", "pk")
    page = Paginator(tags, TAGS_PER_PAGE).get_page(request.GET.get("page"))
    host = registry.host
    may_push = access.can_push(request.user, repository.space)
    # Each row links to up to five actions: reversed once per page, not once per row and link.
    urls = {
        name: url_maker(f"registries:{name}", repository.pk, marker="0placeholder0")
        for name in ("artifact-layers", "artifact-scan", "artifact-delete", "tag-delete")
    }
    scanning = image_details.supports_scanning(registry)
    for tag in page:
        tag.reference, tag.pinned = imagerefs.tag_references(host, repository.name, tag)
        tag.layers_url = urls["artifact-layers"](tag.digest)
        tag.scan_url = urls["artifact-scan"](tag.digest)
        if may_push:
            tag.delete_url = urls["tag-delete"](quote(tag.name, safe=""))
            tag.delete_image_url = urls["artifact-delete"](tag.digest)
    push = push_commands(registry, repository.space.name, repository.short_name) if may_push else None
    context = {
        "repository": repository,
        "space": repository.space,
        "registry": registry,
        "page": page,
        "push": push,
        "login_supported": login_commands.supports(registry),
        "description": image_details.render_description(repository.description),
        "may_push": may_push,
        "scanning": scanning,
        # Jinja2 rows (registries/rows.py): Django's engine was most of the page's time.
        "tag_rows": rows.tag_rows(page, scanning=scanning, may_push=may_push),
        "workspace_id": id_or_none(request.GET.get("workspace")) or "",
    }
    return render_page(request, "images/repository_detail.html", context, fragment="tag-table")


@login_required
@require_GET
def artifact_layers(request, pk, digest):
    repository = visible_repository(request.user, pk)
    digest = artifact_digest(repository, digest)
    context = {
        "repository": repository,
        "digest": digest,
        "platforms": None,
        "error": None,
        "reference": imagerefs.without_host(repository.name, digest=digest),
    }
    try:
        context["platforms"] = image_details.layers(repository, digest, request.user)
    except image_details.DetailError as error:
        context["error"] = error.message
    return render_page(request, "images/artifact_layers.html", context, fragment="layers")


@login_required
@require_http_methods(["GET", "POST"])
def artifact_scan(request, pk, digest):
    """GET: the scan overview (Harbor), a small bar. POST: ask Harbor to scan the image."""
    repository = visible_repository(request.user, pk)
    digest = artifact_digest(repository, digest)
    notice, problem, status = "", "", 200
    if request.method == "POST":
        _require_push(request.user, repository)
        try:
            services.request_scan(repository, digest, request.user)
            notice = _("Harbor was asked to scan the image.")
        except services.ServiceError as error:
            problem = error.message
            # htmx swaps only 2xx answers: the fragment shows the refusal itself.
            status = 200 if request.htmx else 409
        if not request.htmx and not problem:
            messages.success(request, notice)
            return redirect("registries:repository", pk=repository.pk)
    context = {
        "repository": repository,
        "digest": digest,
        "overview": None,
        "error": None,
        "reference": imagerefs.without_host(repository.name, digest=digest),
        "notice": notice,
        "problem": problem,
        "may_push": access.can_push(request.user, repository.space),
        "scanning": image_details.supports_scanning(repository.space.registry),
    }
    if not problem or request.htmx:
        try:
            context["overview"] = image_details.scan_overview(repository, digest, request.user)
        except image_details.DetailError as error:
            context["error"] = error.message
    context["severities"] = image_details.severity_rows(context["overview"])
    return render_page(request, "images/artifact_scan.html", context, fragment="scan", status=status)


def _confirm_deletion(
    request, repository: Repository, *, what: str, name: str, delete, done_url: str, done_message: str
):
    """The type-the-name page of each deletion: GET shows it, POST deletes (services)."""
    _require_push(request.user, repository)
    form = ConfirmDeletionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                delete(form.cleaned_data["confirm"])
            except services.ServiceError as error:
                form.add_error("confirm" if error.field == "confirm" else None, error.message)
                status = 400 if error.field == "confirm" else 409
            else:
                messages.success(request, done_message)
                return redirect(done_url)
        else:
            status = 400
    context = {
        "repository": repository,
        "form": form,
        "what": what,
        "name": name,
        "cancel_url": reverse("registries:repository", args=[repository.pk]),
    }
    return render(request, "images/confirm_delete.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def tag_delete(request, pk, tag):
    repository = visible_repository(request.user, pk)
    tag_object = get_object_or_404(Tag.objects.filter(repository=repository), name=tag)
    return _confirm_deletion(
        request,
        repository,
        what=_("tag"),
        name=tag_object.name,
        delete=lambda typed: services.delete_tag(tag_object, request.user, confirm=typed),
        done_url=reverse("registries:repository", args=[repository.pk]),
        done_message=_("Deleted tag %(name)s.")
        % {"name": imagerefs.without_host(repository.name, tag=tag_object.name)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def artifact_delete(request, pk, digest):
    repository = visible_repository(request.user, pk)
    digest = artifact_digest(repository, digest)
    return _confirm_deletion(
        request,
        repository,
        what=_("image"),
        name=services.short_digest(digest),
        delete=lambda typed: services.delete_artifact(repository, digest, request.user, confirm=typed),
        done_url=reverse("registries:repository", args=[repository.pk]),
        done_message=_("Deleted image %(name)s and its tags.")
        % {"name": imagerefs.without_host(repository.name, digest=digest)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def repository_delete(request, pk):
    repository = visible_repository(request.user, pk)
    return _confirm_deletion(
        request,
        repository,
        what=_("repository"),
        name=repository.name,
        delete=lambda typed: services.delete_repository(repository, request.user, confirm=typed),
        done_url=reverse("registries:images"),
        done_message=_("Deleted repository %(name)s.") % {"name": repository.name},
    )


# Choose Image -----------------------------------------------------------------------------


def _picker_render(
    request, template_page: str, template_modal: str, context: dict, fragment: str | None = None
):
    """Full page without htmx; the modal's content when opened; one fragment inside it."""
    if not request.htmx or request.htmx.boosted:
        name = template_page
    elif fragment and request.htmx.target != "modal-body":
        name = f"{template_modal}#{fragment}"
    else:
        name = template_modal
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@login_required
@require_GET
def picker(request):
    namespace = _namespace(request)
    tab = request.GET.get("tab") if request.GET.get("tab") in access.TABS else access.PUBLIC
    filters = RepositoryFilter(request.GET, queryset=Repository.objects.none())
    q, registry_id = cleaned(filters, "q"), cleaned(filters, "registry", None)
    context = {"namespace": namespace, "tab": tab, "q": q, "tabs": access.TABS}
    if namespace is None:
        return _picker_render(request, "images/picker_page.html", "images/picker.html", context)
    registries = list(
        Registry.objects.filter(pk__in=access.spaces_for_namespace(namespace).values("registry_id")).order_by(
            "name"
        )
    )
    registry = next((r for r in registries if r.pk == registry_id), None)
    filters.queryset = (
        access.repositories_to_list(access.spaces_for_namespace(namespace, tab))
        .select_related("space__registry")
        .only(*LISTED_COLUMNS)
        .order_by("name", "pk")
    )
    page = CappedCountPaginator(filters.qs, PICKER_PER_PAGE).get_page(request.GET.get("page"))
    for repository in page:
        repository.reference = imagerefs.of_repository(repository)
    empty = None
    if not page.object_list:
        empty = explain.picker_empty_state(namespace, tab, q=q, registry_id=registry_id)
    context.update(
        {
            "registries": registries,
            "registry": registry,
            "page": page,
            "empty": empty,
            "not_bound": explain.not_bound_notice(namespace),
            "request_link": request_link(request.user, namespace.workspace_id)
            if empty and tab == access.PRIVATE
            else None,
        }
    )
    return _picker_render(
        request, "images/picker_page.html", "images/picker.html", context, fragment="picker-results"
    )


@login_required
@require_GET
def picker_tags(request, pk):
    namespace = _namespace(request)
    if namespace is None:
        raise Http404
    visible = access.repositories_in(access.spaces_for_namespace(namespace))
    repository = get_object_or_404(visible.select_related("space__registry"), pk=pk)
    host = repository.space.registry.host
    page = Paginator(repository.tags.order_by("-pushed", "name", "pk"), PICKER_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for tag in page:
        tag.reference, tag.pinned = imagerefs.tag_references(host, repository.name, tag)
    tag_rows = rows.picker_tag_rows(
        page, create_url=cached_reverse("registries:create-by-image"), namespace_pk=namespace.pk
    )
    state = request.GET.copy()
    state.pop("page", None)
    back = state.copy()
    back.setlist("page", state.getlist("from_page"))
    back.pop("from_page", None)
    context = {
        "namespace": namespace,
        "repository": repository,
        "registry": repository.space.registry,
        "page": page,
        "tag_rows": tag_rows,
        "back_query": back.urlencode(),
        "tags_query": state.urlencode(),
        "tab": request.GET.get("tab") if request.GET.get("tab") in access.TABS else access.PUBLIC,
    }
    return _picker_render(
        request, "images/picker_tags_page.html", "images/picker_tags.html", context, fragment="tag-list"
    )


# Why can't I see this image? --------------------------------------------------------------


@login_required
@require_GET
def explain_page(request):
    namespaces = (
        explainable_namespaces(request.user)
        .select_related("cluster", "workspace")
        .order_by("cluster__name", "name")
    )
    namespace_id = _int_param(request, "namespace")
    namespace = get_object_or_404(namespaces, pk=namespace_id) if namespace_id is not None else None
    image = request.GET.get("image", "").strip()[: imagerefs.MAX_REFERENCE_LENGTH + 1]
    tab = request.GET.get("tab") if request.GET.get("tab") in access.TABS else None
    result = None
    if namespace is not None and "image" in request.GET:
        result = explain.explain(namespace, image, user=request.user, tab=tab)
    context = {
        "namespaces": namespaces,
        "namespace": namespace,
        "image": image,
        "tab": tab,
        "result": result,
        "request_link": explainer_request_link(request.user, result),
    }
    return render_page(request, "images/explain.html", context, fragment="explain-result")
