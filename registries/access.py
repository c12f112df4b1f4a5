"""The access rule (DESIGN section 2), and its only home.

For a namespace N bound to workspace W (or unbound, W = None):
- Public tab: spaces with visibility=public of healthy platform registries.
- Private tab: private spaces of platform registries bound to W, plus every space of
  workspace-scope registries owned by W.
- W = None: public only.

For a user: the union over the workspaces the user is a member of. Being an Admin adds
nothing here: Admins manage bindings but do not see tenants' private images.

Pages, the API, the explainer, the token service and credential reconciliation call these
functions; nothing else derives who may see what.
"""

from django.db import connections
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet, Value

from portal.permissions import can, workspace_roles
from portal.roles import Person, is_admin
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, SpaceBindingQuerySet
from workspaces.models import Namespace, Workspace

PUBLIC = "public"
PRIVATE = "private"
TABS = (PUBLIC, PRIVATE)


def _spaces(healthy_only: bool) -> QuerySet[RegistrySpace]:
    spaces = RegistrySpace.objects.filter(missing=False)
    if healthy_only:
        spaces = spaces.filter(registry__status=Registry.Status.HEALTHY)
    return spaces


def _public_q() -> Q:
    return Q(visibility=RegistrySpace.Visibility.PUBLIC, registry__scope=Registry.Scope.PLATFORM)


def _private_platform_q() -> Q:
    return Q(visibility=RegistrySpace.Visibility.PRIVATE, registry__scope=Registry.Scope.PLATFORM)


def _private_q(workspaces: QuerySet[Workspace]) -> Q:
    """Private platform spaces bound to, plus every space owned by, any of ``workspaces``.

    Subqueries rather than joins, so a space never appears twice and no DISTINCT is needed.
    """
    bound = Exists(SpaceBinding.objects.filter(space=OuterRef("pk"), workspace__in=workspaces))
    return (Q(bound) & _private_platform_q()) | Q(
        registry__scope=Registry.Scope.WORKSPACE, registry__workspace__in=workspaces
    )


def granting_bindings(*, healthy_only: bool = True) -> SpaceBindingQuerySet:
    """Bindings that give their workspace something everyone else lacks: a private platform space.

    (A binding of a public space matters only once the space turns private.)
    """
    return SpaceBinding.objects.filter(
        space__in=_spaces(healthy_only).filter(_private_platform_q()).values("pk")
    )


def public_spaces(*, healthy_only: bool = True) -> QuerySet[RegistrySpace]:
    return _spaces(healthy_only).filter(_public_q())


def private_spaces_for_workspace(
    workspace: Workspace | None, *, healthy_only: bool = True
) -> QuerySet[RegistrySpace]:
    if workspace is None:
        return RegistrySpace.objects.none()
    return _spaces(healthy_only).filter(_private_q(Workspace.objects.filter(pk=workspace.pk)))


def spaces_for_workspace(
    workspace: Workspace | None, tab: str | None = None, *, healthy_only: bool = True
) -> QuerySet[RegistrySpace]:
    if tab == PUBLIC or workspace is None:
        return public_spaces(healthy_only=healthy_only) if tab != PRIVATE else RegistrySpace.objects.none()
    if tab == PRIVATE:
        return private_spaces_for_workspace(workspace, healthy_only=healthy_only)
    return _spaces(healthy_only).filter(_public_q() | _private_q(Workspace.objects.filter(pk=workspace.pk)))


def spaces_for_namespace(
    namespace: Namespace, tab: str | None = None, *, healthy_only: bool = True
) -> QuerySet[RegistrySpace]:
    return spaces_for_workspace(namespace.workspace, tab, healthy_only=healthy_only)


def spaces_for_user(
    user: Person | None, tab: str | None = None, *, healthy_only: bool = True
) -> QuerySet[RegistrySpace]:
    if user is None or not user.is_authenticated:
        return spaces_for_workspace(None, tab, healthy_only=healthy_only)
    private = _private_q(Workspace.objects.of_member(user))
    if tab == PUBLIC:
        return public_spaces(healthy_only=healthy_only)
    if tab == PRIVATE:
        return _spaces(healthy_only).filter(private)
    return _spaces(healthy_only).filter(_public_q() | private)


def repositories_in(spaces: QuerySet[RegistrySpace]) -> QuerySet[Repository]:
    return Repository.objects.filter(space__in=spaces.values("pk"))


# Up to this many spaces, ``repositories_to_list`` filters by their ids as constants.
LISTED_SPACES_AS_CONSTANTS = 1000


def repositories_to_list(spaces: QuerySet[RegistrySpace]) -> QuerySet[Repository]:
    """``repositories_in(spaces)`` for the long lists (Images, Choose Image): the same rows.

    The spaces' ids are read first (one small query) and the repositories filtered by those
    ids as constants. PostgreSQL then knows how many repositories they hold, from its
    statistics, where it can only guess for a subquery; with hundreds of thousands of
    repositories that guess decides between walking the name index, intersecting the trigram
    and space indexes, or sorting everything. Beyond ``LISTED_SPACES_AS_CONSTANTS`` spaces
    (planning a longer list costs more than it saves) the subquery stays.
    """
    ids = list(spaces.order_by().values_list("pk", flat=True)[: LISTED_SPACES_AS_CONSTANTS + 1])
    if len(ids) > LISTED_SPACES_AS_CONSTANTS:
        return repositories_in(spaces)
    if connections[Repository.objects.db].vendor == "postgresql":
        # One array literal rather than an IN list of as many parameters: the same plan,
        # without composing, sending and parsing a query as long as the list.
        array = "{" + ",".join(str(int(pk)) for pk in ids) + "}"
        return Repository.objects.filter(_AnyOf(F("space_id"), Value(array)))
    return Repository.objects.filter(space_id__in=ids)


class _AnyOf(Func):
    """PostgreSQL's ``expression = ANY('{1,2,3}'::bigint[])``."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s::bigint[]))"
    output_field = BooleanField()


def namespaces_for_user(user: Person | None, action: str = "browse_images") -> QuerySet[Namespace]:
    """The namespaces whose images ``user`` may browse ("browse_images") or use ("use_images").

    A namespace of a workspace counts when the user's role there allows ``action``
    (portal.permissions decides). A platform Admin also gets the namespaces bound to no
    workspace, which see public images only; never another workspace's namespaces, whose
    private images an Admin does not see.
    """
    if user is None or not user.is_authenticated:
        return Namespace.objects.none()
    workspace_ids = [pk for pk in workspace_roles(user) if can(user, action, pk)]
    allowed = Q(workspace_id__in=workspace_ids)
    if is_admin(user):
        allowed |= Q(workspace__isnull=True)
    return Namespace.objects.filter(allowed)


# At the registry itself (the token service, pull credentials) --------------------------------
# Health is ignored here: the registry is answering a pull right now, so Wharf's last view of
# its health must not decide who may pull.


def spaces_pullable_at_registry(
    registry: Registry, *, workspace: Workspace | None = None, user: Person | None = None
) -> QuerySet[RegistrySpace]:
    """The spaces of ``registry`` that may be pulled anonymously (neither given), with a pull
    credential of ``workspace``, or by ``user`` (over the workspaces they are a member of)."""
    if user is not None:
        spaces = spaces_for_user(user, healthy_only=False)
    else:
        spaces = spaces_for_workspace(workspace, healthy_only=False)
    return spaces.filter(registry=registry)


def owns_whole_registry(
    registry: Registry, *, workspace: Workspace | None = None, user: Person | None = None
) -> bool:
    """Whether every repository of ``registry`` is ``workspace``'s (or one of ``user``'s
    workspaces'): true for the owner of a workspace-scope registry, including repositories
    pushed since the last sync, whose space Wharf does not know yet."""
    if registry.scope != Registry.Scope.WORKSPACE:
        return False
    if user is not None:
        return registry.workspace_id in workspace_roles(user)
    return workspace is not None and registry.workspace_id == workspace.pk


def registries_pullable_by_workspace(workspace: Workspace | None) -> QuerySet[Registry]:
    """Registries holding anything ``workspace`` may pull: a public or bound space, or owned."""
    if workspace is None:
        return Registry.objects.none()
    spaces = spaces_for_workspace(workspace, healthy_only=False)
    return Registry.objects.filter(
        Q(pk__in=spaces.values("registry_id")) | Q(scope=Registry.Scope.WORKSPACE, workspace=workspace)
    )


# Pushing (and asking for scans, deleting images) --------------------------------------------
# Health is ignored: whether a push may happen is the registry's question at the moment it is
# asked (the token service, Harbor's robot), not Wharf's last view of the registry.


def _push_workspace_ids(user: Person | None) -> list[int]:
    """The workspaces whose spaces ``user``'s role lets them push into (portal.permissions)."""
    return [pk for pk in workspace_roles(user) if can(user, "push_images", pk)]


def spaces_pushable_by(user: Person | None) -> QuerySet[RegistrySpace]:
    """The spaces ``user`` may push into.

    Platform Admins: every space. Workspace Admins and Editors: the private platform spaces
    bound to their workspace and every space of their workspace's own registries (the spaces
    the access rule gives the workspace privately). A public platform space is the Admins'
    alone; everyone else (viewers, namespaces, anonymous) gets nothing.
    """
    if user is None or not user.is_authenticated:
        return RegistrySpace.objects.none()
    if is_admin(user):
        return _spaces(healthy_only=False)
    workspaces = Workspace.objects.filter(pk__in=_push_workspace_ids(user))
    return _spaces(healthy_only=False).filter(_private_q(workspaces))


def pushable_spaces(user: Person | None, registry: Registry) -> QuerySet[RegistrySpace]:
    """The spaces of ``registry`` that ``user`` may push into (``spaces_pushable_by``)."""
    return spaces_pushable_by(user).filter(registry=registry)


def can_push(user: Person | None, space: RegistrySpace) -> bool:
    """Whether ``user`` may push into ``space`` (``spaces_pushable_by``, for one space)."""
    if user is None or not user.is_authenticated or space.missing:
        return False
    if is_admin(user):
        return True
    return spaces_pushable_by(user).filter(pk=space.pk).exists()


def registries_for_user(user: Person | None) -> QuerySet[Registry]:
    """The registries ``user`` may see anything of: a visible space's, their workspaces' own,
    and for a platform Admin every platform registry. Others answer 404."""
    if user is None or not user.is_authenticated:
        return Registry.objects.none()
    visible = Q(pk__in=spaces_for_user(user, healthy_only=False).values("registry_id")) | Q(
        scope=Registry.Scope.WORKSPACE, workspace_id__in=list(workspace_roles(user))
    )
    if is_admin(user):
        visible |= Q(scope=Registry.Scope.PLATFORM)
    return Registry.objects.filter(visible)
