""" "Generate login command" and the push commands of a registry's spaces, for any signed-in
user who may see something of the registry (others: 404). Every write goes through
registries.login_commands, as the API's does."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from portal.htmx import render_page
from registries import access, imagerefs, login_commands
from registries.services import ServiceError


def push_commands(registry, space_name: str, repository: str = "IMAGE", tag: str = "TAG") -> dict:
    """The commands that push a local image into ``space_name`` of ``registry``."""
    target = imagerefs.in_space(registry.host, space_name, repository, tag=tag)
    return {
        "target": target,
        "docker": [f"docker tag SOURCE_IMAGE[:TAG] {target}", f"docker push {target}"],
        "skopeo": f"skopeo copy docker-daemon:SOURCE_IMAGE[:TAG] docker://{target}",
    }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def login_command(request, pk):
    registry = get_object_or_404(access.registries_for_user(request.user), pk=pk)
    generated = None
    error = ""
    lifetime = request.POST.get("lifetime", "") if request.method == "POST" else ""
    status = 200
    if request.method == "POST":
        try:
            generated = login_commands.generate(request.user, registry, lifetime)
            status = 201
        except ServiceError as refusal:
            error, status = refusal.message, 400
    pushable = [
        {"space": space, **push_commands(registry, space.name)}
        for space in access.pushable_spaces(request.user, registry).order_by("name")
    ]
    context = {
        "registry": registry,
        "supported": login_commands.supports(registry),
        "max_lifetime": login_commands.max_lifetime(),
        "min_lifetime": login_commands.MIN_LIFETIME,
        "lifetime": lifetime,
        "generated": generated,
        "error": error,
        "active": list(login_commands.active_for(request.user, registry).order_by("-created", "-id")),
        "pushable": pushable,
    }
    return render_page(request, "images/login_command.html", context, status=status)


@login_required
@require_POST
def revoke_login_command(request, pk):
    registry = get_object_or_404(access.registries_for_user(request.user), pk=pk)
    username = request.POST.get("username", "")
    try:
        login_commands.revoke(request.user, registry, username)
    except login_commands.UnknownLogin:
        messages.error(request, _("No working login command of yours has that username."))
    else:
        messages.success(request, _("Login %(username)s was revoked.") % {"username": username})
    return redirect("registries:login-command", pk=registry.pk)
