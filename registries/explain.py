"""“Why can't I see this image?”: the FAQ's checks, in order, for a namespace and an image.

1. the image reference parses;
2. a registry with that host is integrated for this namespace (a platform registry, or a
   registry of the namespace's own workspace) and is healthy;
3. the namespace is bound to a workspace (or the image is public, which needs no binding);
4. the registry space is public, bound to that workspace, or owned by its registry;
5. which tab of Choose Image the image is on (Public / Private);
6. the repository and tag are known from the last sync (the picker lists only those).

Checks after the first failure are "not reached". Decision 4 and the tab come from
registries/access.py; this module only looks things up and words the answer. The picker's
empty states use the same sentences (``empty_state``).

Only Admins, who fix bindings, are told that a private space exists but is not bound to the
namespace's workspace. Anyone else gets the same answer for such a space as for a name no
registry has (finding 12), so the explainer cannot be used to find out which private spaces
other workspaces have.

A constant number of queries, however large the registry.
"""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, Value
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.permissions import can, is_admin
from registries import access, imagerefs
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag
from workspaces.models import Namespace

PASSED = "passed"
FAILED = "failed"
NOT_REACHED = "not_reached"

# Who can fix a failed check.
FIXER_YOU = gettext_lazy("You")
FIXER_ADMIN = gettext_lazy("Admin")
FIXER_WORKSPACE_ADMIN = gettext_lazy("Workspace Admin")
FIXER_ADMIN_OR_WORKSPACE_ADMIN = gettext_lazy("Admin or Workspace Admin")

TITLES = {
    "reference": gettext_lazy("The image reference is valid"),
    "registry": gettext_lazy("The registry is integrated and healthy"),
    "namespace": gettext_lazy("The namespace is bound to a workspace"),
    "space": gettext_lazy("The registry space is public, bound to the workspace, or its own"),
    "tab": gettext_lazy("The tab it is on"),
    "synced": gettext_lazy("The repository and tag are known from the last sync"),
}
ORDER = list(TITLES)


@dataclass
class Check:
    key: str
    state: str = NOT_REACHED
    message: str = ""
    fixer: str = ""

    @property
    def title(self) -> str:
        return str(TITLES[self.key])

    @property
    def passed(self) -> bool:
        return self.state == PASSED

    @property
    def reached(self) -> bool:
        return self.state != NOT_REACHED

    def as_dict(self) -> dict:
        return {
            "name": self.key,
            "title": self.title,
            "state": self.state,
            "passed": self.passed,
            "message": self.message,
            "fixer": str(self.fixer),
        }


@dataclass
class Explanation:
    namespace: object
    image: str
    checks: list[Check]
    ref: imagerefs.ImageRef | None = None
    registry: Registry | None = None
    space: RegistrySpace | None = None
    repository: Repository | None = None
    tag: Tag | None = None
    # The tab the image is on, when checks 1-4 pass.
    on_tab: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def failure(self) -> Check | None:
        return next((check for check in self.checks if check.state == FAILED), None)

    @property
    def allowed(self) -> bool:
        """Checks 1-4 passed: the namespace may use the image (the access rule says so)."""
        return self.on_tab is not None

    @property
    def listed(self) -> bool:
        """Every check passed: Choose Image shows the image on the tab asked about."""
        return all(check.passed for check in self.checks)


def _when(value) -> str:
    return date_format(value, "DATETIME_FORMAT") if value else _("never")


def _manager(registry: Registry):
    return FIXER_ADMIN if registry.scope == Registry.Scope.PLATFORM else FIXER_WORKSPACE_ADMIN


def tab_label(tab: str) -> str:
    return _("Public") if tab == access.PUBLIC else _("Private")


def host_q(host: str, prefix: str = "") -> Q:
    """Registries whose URL has this host[:port] (what an image reference starts with)."""
    host = host.lower()
    urls = {f"https://{host}", f"http://{host}"}
    if host.endswith(":443"):
        urls.add(f"https://{host[:-4]}")
    if host.endswith(":80"):
        urls.add(f"http://{host[:-3]}")
    query = Q()
    for url in sorted(urls):
        query |= Q(**{f"{prefix}url__iexact": url})
    return query


def candidate_registries(host: str, workspace) -> list[Registry]:
    """Registries this host may mean for a namespace: platform ones and its workspace's own.

    Another workspace's registry is never a candidate (nor mentioned): it is none of this
    namespace's business.
    """
    scope = Q(scope=Registry.Scope.PLATFORM)
    if workspace is not None:
        scope |= Q(scope=Registry.Scope.WORKSPACE, workspace=workspace)
    return list(Registry.objects.filter(host_q(host)).filter(scope).order_by("scope", "name"))


def image_is_private(reference: str | imagerefs.ImageRef, namespace) -> bool:
    """Does pulling this image into the namespace need the pull secret?

    Yes when its registry space is one of the workspace's private spaces by the access rule
    (bound private spaces and its own registries' spaces), healthy or not.
    """
    ref = reference if isinstance(reference, imagerefs.ImageRef) else imagerefs.parse(reference)
    if namespace.workspace_id is None:
        return False
    return (
        access.private_spaces_for_workspace(namespace.workspace, healthy_only=False)
        .filter(host_q(ref.registry_host, "registry__"), name=ref.space_name)
        .exists()
    )


def _knowable(space: RegistrySpace, registry_scope: str) -> bool:
    """May a non-Admin asking for this namespace learn that ``space`` exists? Public spaces,
    the spaces bound to its workspace and those of its workspace's own registries (the only
    workspace-scope registries that are candidates): what it could use."""
    return (
        space.visibility == RegistrySpace.Visibility.PUBLIC
        or registry_scope == Registry.Scope.WORKSPACE
        or space.bound_here
    )


def _not_bound_message(namespace) -> str:
    return _(
        "Namespace %(namespace)s is not bound to a workspace, so only public images are "
        "available; ask an Admin to bind it in Namespaces."
    ) % {"namespace": namespace.name}


def explain(namespace, image: str, *, user=None, tab: str | None = None) -> Explanation:
    result = Explanation(
        namespace=namespace, image=(image or "").strip(), checks=[Check(key) for key in ORDER]
    )
    _Explainer(result, image, user=user, tab=tab).run()
    return result


class _Explainer:
    """One explanation's checks, in order: each step passes its check, or fails it and stops."""

    def __init__(self, result: Explanation, image: str, *, user=None, tab: str | None = None):
        self.result = result
        self.image = image
        self.user = user
        self.tab = tab
        self.namespace = result.namespace
        self.workspace = result.namespace.workspace
        self.by_key = {check.key: check for check in result.checks}
        self.admin = is_admin(user)
        self.public_ids: set[int] = set()
        self.private_ids: set[int] = set()

    def run(self) -> None:
        steps = (
            self.check_reference,
            self.check_registry,
            self.check_namespace,
            self.check_space,
            self.check_tab,
            self.check_synced,
        )
        for step in steps:
            if not step():
                return

    def fail(self, key: str, message: str, fixer) -> bool:
        check = self.by_key[key]
        check.state, check.message, check.fixer = FAILED, message, fixer
        return False

    def ok(self, key: str, message: str) -> bool:
        check = self.by_key[key]
        check.state, check.message = PASSED, message
        return True

    # 1. The reference parses.
    def check_reference(self) -> bool:
        try:
            ref = imagerefs.parse(self.image)
        except imagerefs.ImageRefError as error:
            return self.fail("reference", error.message, FIXER_YOU)
        self.result.ref = self.ref = ref
        return self.ok(
            "reference",
            _("Registry host %(host)s, repository %(path)s, %(version)s.")
            % {
                "host": ref.registry_host,
                "path": ref.path,
                "version": (_("digest %(digest)s") % {"digest": ref.digest})
                if ref.digest
                else (_("tag %(tag)s") % {"tag": ref.effective_tag}),
            },
        )

    # 2. A registry with that host, integrated for this namespace, and healthy.
    def check_registry(self) -> bool:
        registries = candidate_registries(self.ref.registry_host, self.workspace)
        if not registries:
            return self.fail("registry", *self._no_registry())
        spaces = self._knowable_spaces(registries)
        self._read_access(spaces)
        space, registry = self._pick(spaces, registries)
        self.result.registry, self.result.space = self.registry, self.space = registry, space
        if not registry.is_healthy:
            return self.fail(
                "registry",
                _(
                    "Registry %(registry)s is Unhealthy since %(since)s (%(error)s); its images are left out "
                    "of Choose Image until a sync succeeds again."
                )
                % {
                    "registry": registry.name,
                    "since": _when(registry.status_changed),
                    "error": registry.status_message or registry.last_sync_error or _("no details"),
                },
                _manager(registry),
            )
        return self.ok(
            "registry",
            _("%(registry)s (%(scope)s) is integrated and Healthy.")
            % {"registry": registry.name, "scope": registry.get_scope_display()},
        )

    def _no_registry(self) -> tuple[str, object]:
        """The message and fixer when no candidate registry has the reference's host."""
        ref, workspace = self.ref, self.workspace
        if workspace is None:
            message = _(
                "No registry with host %(host)s is integrated: an Admin can add it in "
                "Integrated Registry (Admin)."
            ) % {"host": ref.registry_host}
            fixer = FIXER_ADMIN
        else:
            message = _(
                "No registry with host %(host)s is integrated: an Admin can add it in "
                "Integrated Registry (Admin), or a Workspace Admin of %(workspace)s in "
                "Integrated Registry (Workspace)."
            ) % {"host": ref.registry_host, "workspace": workspace.name}
            fixer = FIXER_ADMIN_OR_WORKSPACE_ADMIN
        if ref.host is None:
            message = (
                _("The image names no registry, so it would come from Docker Hub (docker.io).")
                + " "
                + message
            )
        return message, fixer

    def _knowable_spaces(self, registries: list[Registry]) -> list[RegistrySpace]:
        """The spaces with the reference's name in the candidate registries that the asker may
        learn of."""
        workspace = self.workspace
        named = RegistrySpace.objects.filter(registry__in=registries, name=self.ref.space_name)
        spaces = list(
            named.annotate(
                bound_here=Exists(SpaceBinding.objects.filter(space=OuterRef("pk"), workspace=workspace))
                if workspace is not None
                else Value(False),
            )
        )
        if self.admin:
            return spaces
        # Any other space is answered as if the name were unknown, from the registry check on.
        scopes = {registry.pk: registry.scope for registry in registries}
        return [space for space in spaces if _knowable(space, scopes[space.registry_id])]

    def _read_access(self, spaces: list[RegistrySpace]) -> None:
        """Which of the spaces are on the namespace's Public and Private tabs (the access rule)."""
        space_ids = [space.pk for space in spaces]
        self.public_ids = set(
            access.spaces_for_namespace(self.namespace, access.PUBLIC)
            .filter(pk__in=space_ids)
            .values_list("pk", flat=True)
        )
        self.private_ids = set(
            access.spaces_for_namespace(self.namespace, access.PRIVATE)
            .filter(pk__in=space_ids)
            .values_list("pk", flat=True)
        )

    def _pick(
        self, spaces: list[RegistrySpace], registries: list[Registry]
    ) -> tuple[RegistrySpace | None, Registry]:
        """Prefer the space the namespace may use, then a healthy registry, then the first."""
        usable = self.public_ids | self.private_ids
        healthy = [registry for registry in registries if registry.is_healthy]
        by_registry = {space.registry_id: space for space in spaces}
        space = (
            next((s for s in spaces if s.pk in usable), None)
            or next((by_registry[r.pk] for r in healthy if r.pk in by_registry), None)
            or (spaces[0] if spaces else None)
        )
        registry = (
            next(r for r in registries if r.pk == space.registry_id)
            if space
            else (healthy[0] if healthy else registries[0])
        )
        if space is not None:
            space.registry = registry
        return space, registry

    # 3. The namespace is bound to a workspace (a public image needs no binding).
    def check_namespace(self) -> bool:
        namespace, workspace = self.namespace, self.workspace
        if workspace is not None:
            return self.ok(
                "namespace",
                _("Namespace %(namespace)s is bound to workspace %(workspace)s.")
                % {"namespace": namespace.name, "workspace": workspace.name},
            )
        on_public = self.space is not None and self.space.pk in self.public_ids
        if not on_public:
            return self.fail("namespace", _not_bound_message(namespace), FIXER_ADMIN)
        return self.ok(
            "namespace",
            _(
                "Namespace %(namespace)s is not bound to a workspace, so only public images "
                "are available; this image's registry space is public, so that is enough."
            )
            % {"namespace": namespace.name},
        )

    # 4. The space is public, bound to the workspace, or owned by its registry (access rule).
    def check_space(self) -> bool:
        space, registry, workspace = self.space, self.registry, self.workspace
        if space is None:
            return self.fail("space", self._unknown_space(), _manager(registry))
        if space.missing:
            return self.fail(
                "space",
                _(
                    "Registry space %(space)s was not found in the last complete listing of %(registry)s "
                    "(missing upstream)."
                )
                % {"space": space.name, "registry": registry.name},
                _manager(registry),
            )
        if space.pk in self.public_ids:
            self.result.on_tab = access.PUBLIC
            return self.ok("space", _("Registry space %(space)s is public.") % {"space": space.name})
        if space.pk in self.private_ids:
            self.result.on_tab = access.PRIVATE
            if registry.scope == Registry.Scope.WORKSPACE:
                message = _(
                    "Registry space %(space)s belongs to %(registry)s, the registry of workspace "
                    "%(workspace)s."
                )
            else:
                message = _("Registry space %(space)s is private and bound to workspace %(workspace)s.")
            return self.ok(
                "space",
                message % {"space": space.name, "registry": registry.name, "workspace": workspace.name},
            )
        return self.fail(
            "space",
            _(
                "Registry space %(space)s is private and not bound to workspace %(workspace)s; ask an "
                "Admin to bind it (Integrated Registry (Admin) → %(registry)s → Registry space → ⋮ → "
                "Bind/unbind workspace)."
            )
            % {"space": space.name, "workspace": workspace.name, "registry": registry.name},
            FIXER_ADMIN,
        )

    def _unknown_space(self) -> str:
        """No space by that name that the asker may learn of. Only Admins are told that Wharf
        knows none at all: for anyone else it may also be a private space not bound here."""
        registry = self.registry
        if not self.admin:
            return _(
                "Registry space %(space)s is not available to workspace %(workspace)s in %(registry)s: "
                "there is no such space (as of the last sync, %(when)s), or it is private and not bound "
                "to %(workspace)s. Check the name, Sync now, or ask an Admin to bind it."
            ) % {
                "space": self.ref.space_name,
                "workspace": self.workspace.name,
                "registry": registry.name,
                "when": _when(registry.last_sync),
            }
        return _(
            "Wharf knows no registry space %(space)s in %(registry)s: it does not exist there, or "
            "it was created after the last sync (%(when)s). Check the name, or Sync now."
        ) % {"space": self.ref.space_name, "registry": registry.name, "when": _when(registry.last_sync)}

    # 5. The tab.
    def check_tab(self) -> bool:
        on_tab = self.result.on_tab
        if self.tab in access.TABS and self.tab != on_tab:
            return self.fail(
                "tab",
                _("The image is on the %(tab)s tab; you are looking at the %(other)s tab: switch tabs.")
                % {"tab": tab_label(on_tab), "other": tab_label(self.tab)},
                FIXER_YOU,
            )
        return self.ok(
            "tab", _("The image is on the %(tab)s tab of Choose Image.") % {"tab": tab_label(on_tab)}
        )

    # 6. Known from the last sync; a private repository only for members of its workspace.
    def check_synced(self) -> bool:
        ref, space, registry, workspace = self.ref, self.space, self.registry, self.workspace
        if (
            self.result.on_tab == access.PRIVATE
            and self.user is not None
            and not can(self.user, "browse_images", workspace)
        ):
            self.by_key["synced"].message = _(
                "Not shown: you are not a member of workspace %(workspace)s, so "
                "its private images are not listed for you."
            ) % {"workspace": workspace.name}
            return False
        repository = Repository.objects.filter(space=space, name=ref.path).first()
        when = _when(registry.last_sync)
        if repository is None:
            return self.fail(
                "synced",
                _(
                    "Repository %(path)s was not in the last sync of %(registry)s (%(when)s): it does not "
                    "exist, or it was pushed since. Check the name, or Sync now."
                )
                % {"path": ref.path, "registry": registry.name, "when": when},
                _manager(registry),
            )
        repository.space = space
        self.result.repository = repository
        tags = Tag.objects.filter(repository=repository)
        tag = (tags.filter(digest=ref.digest) if ref.digest else tags.filter(name=ref.effective_tag)).first()
        if tag is None:
            version = ref.digest or ref.effective_tag
            return self.fail(
                "synced",
                _(
                    "Repository %(path)s is known, but %(version)s was not in the last sync of %(registry)s "
                    "(%(when)s). Check the tag, or Sync now."
                )
                % {"path": ref.path, "version": version, "registry": registry.name, "when": when},
                _manager(registry),
            )
        self.result.tag = tag
        return self.ok(
            "synced",
            _("%(path)s:%(tag)s (%(digest)s) is known from the last sync (%(when)s).")
            % {"path": ref.path, "tag": tag.name, "digest": tag.digest, "when": when},
        )


# The picker's empty states: the same reasons, worded for the list that came back empty.


def empty_state(
    namespace, tab: str, *, q: str = "", other_tab_matches: bool = False, workspace_has_private: bool = True
) -> str:
    workspace = namespace.workspace
    if tab == access.PRIVATE and workspace is None:
        return _not_bound_message(namespace)
    if tab == access.PRIVATE and not workspace_has_private:
        return _(
            "Nothing is bound to workspace %(workspace)s: no private registry space is bound to "
            "it and it has no Integrated Registry (Workspace). Ask an Admin to bind a registry "
            "space (Bind/unbind workspace), or a Workspace Admin to integrate a registry."
        ) % {"workspace": workspace.name}
    if q and other_tab_matches:
        if tab == access.PUBLIC:
            return _("No public images match “%(q)s”; try the Private tab.") % {"q": q}
        return _("No private images match “%(q)s”; try the Public tab.") % {"q": q}
    if q:
        return _("No images match “%(q)s” on either tab.") % {"q": q}
    if tab == access.PUBLIC:
        return _(
            "No public images are available: no healthy Integrated Registry (Admin) has a "
            "public registry space with images."
        )
    return _(
        "The registry spaces available to workspace %(workspace)s hold no images yet (as of "
        "the last sync), or their registries are Unhealthy."
    ) % {"workspace": workspace.name}


def picker_empty_state(namespace, tab: str, *, q: str = "", registry_id=None) -> str:
    """``empty_state`` for the picker's empty list (pages and API), with the facts it needs
    (does the other tab match ``q``? does the workspace have private spaces at all?) read in
    one query."""
    other = access.PRIVATE if tab == access.PUBLIC else access.PUBLIC
    checks = {}
    if q and (other == access.PUBLIC or namespace.workspace_id):
        others = access.repositories_in(access.spaces_for_namespace(namespace, other))
        if registry_id:
            others = others.filter(space__registry_id=registry_id)
        checks["other_tab_matches"] = Exists(others.filter(name__icontains=q))
    if tab == access.PRIVATE and namespace.workspace_id:
        checks["workspace_has_private"] = Exists(
            access.private_spaces_for_workspace(namespace.workspace, healthy_only=False)
        )
    facts = {"other_tab_matches": False, "workspace_has_private": True}
    if checks:
        facts.update(Namespace.objects.filter(pk=namespace.pk).values(**checks).first() or {})
    return empty_state(namespace, tab, q=q, **facts)


def not_bound_notice(namespace) -> str | None:
    return _not_bound_message(namespace) if namespace.workspace_id is None else None


def space_refusal(namespace, image: str, *, user=None) -> Check | None:
    """The failed check when the namespace may not use the image's registry space (private and
    not bound to its workspace, or the namespace bound to no workspace): what Create by Image
    warns about. None when the space is usable, or when something else is wrong (a typo, an
    unknown host, an Unhealthy registry: the form or the explainer says so)."""
    failure = explain(namespace, image, user=user).failure
    return failure if failure is not None and failure.key in ("namespace", "space") else None
