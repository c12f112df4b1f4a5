from functools import partial

from django.urls import NoReverseMatch
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from portal.permissions import can, is_admin
from portal.urlmakers import cached_reverse

# (section, [(label, url name, who may see it)]) in the order of DESIGN section 4.
NAVIGATION = [
    (
        _("Container Registry"),
        [
            (_("Integrated Registry (Admin)"), "registries:platform-list", lambda u: is_admin(u)),
            (_("Spaces x workspaces"), "registries:binding-matrix", lambda u: is_admin(u)),
            (
                _("Integrated Registry (Workspace)"),
                "registries:workspace-list",
                lambda u: can(u, "view_workspace"),
            ),
            (_("Images"), "registries:images", lambda u: True),
        ],
    ),
    (
        _("Container Management"),
        [
            (_("Namespaces"), "workspaces:namespace-list", lambda u: True),
            # Admins may deploy to namespaces bound to no workspace (public images only). The
            # Admin flag comes with the user; asking it first spares an Admin's page the query
            # of memberships.
            (
                _("Create by Image"),
                "registries:create-by-image",
                lambda u: is_admin(u) or can(u, "use_images"),
            ),
        ],
    ),
    (
        _("Global Management"),
        [
            (_("Workspaces"), "workspaces:list", lambda u: True),
            (_("Access requests"), "access_requests:list", lambda u: is_admin(u) or can(u, "request_spaces")),
            (_("Audit Log"), "audit-log", lambda u: can(u, "view_audit_log")),
        ],
    ),
]


def _badge(user, url_name: str) -> int:
    """A count beside a navigation entry: Admins see how many access requests wait (one query)."""
    if url_name == "access_requests:list" and is_admin(user):
        from access_requests.models import AccessRequest

        return AccessRequest.objects.pending().count()
    return 0


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    current = request.path
    sections = []
    for title, entries in NAVIGATION:
        items = []
        for label, url_name, allowed in entries:
            if not allowed(user):
                continue
            try:
                url = cached_reverse(url_name)
            except NoReverseMatch:
                continue  # the page is not part of this build
            # "page" for the page itself; "true" for a page below it (a registry below the list),
            # whose own section then marks the page.
            active = "page" if current == url else "true" if current.startswith(url) else ""
            items.append(
                {
                    "label": label,
                    "url": url,
                    "active": active,
                    # Counted only if the page shows the navigation (not for fragments).
                    "badge": SimpleLazyObject(partial(_badge, user, url_name)),
                }
            )
        if items:
            sections.append({"title": title, "items": items})
    return {"navigation": sections, "user_is_admin": is_admin(user)}
