"""Writes to registries, spaces and bindings: one function per user action.

Each runs in one transaction with its audit events, so the page, the API and any script get
the same behaviour. Calls to a registry happen before the database write they justify.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any, NoReturn

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit
from portal.audit import Actor
from portal.errors import ServiceError
from portal.inputs import MAX_ID, whole_number
from portal.roles import Person
from registries import access, background, imagerefs, outbound, pull_secrets, robots, tokens
from registries.clients import Deadline, RegistryClient, RegistryError
from registries.kinds import client_for
from registries.models import PullCredential, Registry, RegistrySpace, Repository, SpaceBinding, Tag
from workspaces.models import Workspace

# A dialog or API call naming more workspaces than this is refused rather than half-applied.
MAX_WORKSPACES_PER_CHANGE = 1000
# The spaces x workspaces view saves at most one page of rows at once.
MAX_SPACES_PER_MATRIX = 200

# Sent inside the transaction that binds ``workspaces`` to ``space``, or (``workspaces`` None)
# makes it public. access_requests builds on registries and closes the requests this answers.
space_opened = Signal()


def registry_snapshot(registry: Registry) -> dict[str, Any]:
    return {
        "name": registry.name,
        "kind": registry.kind,
        "url": registry.url,
        "username": registry.username,
        "verify_tls": registry.verify_tls,
        "ca_bundle": bool(registry.ca_bundle),
        "scope": registry.scope,
        "workspace": registry.workspace_id,
        "token_service": registry.token_service,
        "token_service_id": registry.token_service_id,
    }


def check_connection(
    registry: Registry, actor: Actor | None = None, *, deadline: Deadline | None = None
) -> None:
    """Prove the registry answers with these settings, within the request's deadline; raise
    ServiceError with what ``actor`` may be told (registries.outbound.shown_message)."""
    if registry.is_demo:
        return
    try:
        with client_for(registry.kind, registry.connection(deadline=deadline)) as client:
            client.check(require_admin=registry.scope == Registry.Scope.PLATFORM)
    except RegistryError as error:
        outbound.log_failure(registry, "Connection check", error)
        raise ServiceError(outbound.shown_message(registry, error, actor)) from None


@transaction.atomic
def save_registry(
    registry: Registry,
    actor: Actor,
    *,
    password: str | None = None,
    check: bool = True,
    deadline: Deadline | None = None,
) -> Registry:
    """Create or update a registry after a successful connection check.

    ``password=None`` keeps the stored one (a blank password field on Edit). ``deadline`` is the
    one the caller started when the request began (the form's address check used it too).
    """
    creating = registry.pk is None
    before = None if creating else registry_snapshot(Registry.objects.get(pk=registry.pk))
    if problem := registry.token_service_problem():
        raise ServiceError(problem, "token_service")
    if password:
        registry.set_password(password)
    if check:
        check_connection(registry, actor, deadline=deadline)
    now = timezone.now()
    if creating or registry.status != Registry.Status.HEALTHY:
        registry.status_changed = now
    registry.status = Registry.Status.HEALTHY
    registry.status_message = ""
    if creating:
        registry.save()
        if (
            registry.kind_plugin.token_service
            and registry.scope == Registry.Scope.PLATFORM
            and not registry.is_demo
        ):
            # Its own signing key, so whatever it may be told to trust is its own.
            tokens.create_signing_key(registry)
    else:
        # Leave sync's fields (last_sync, last_sync_error) to a sync that may be running now.
        registry.save(
            update_fields=[
                "name",
                "url",
                "username",
                "password_encrypted",
                "verify_tls",
                "ca_bundle",
                "token_service",
                "status",
                "status_message",
                "status_changed",
                "updated",
            ]
        )
    after = registry_snapshot(registry)
    if password:
        after["password"] = "changed"
    audit.record(
        actor, "registry.create" if creating else "registry.update", registry, before=before, after=after
    )
    if registry.token_service and not (before or {}).get("token_service"):
        # Bindings made before the token service was turned on grant pulls from now on.
        bound = access.granting_bindings().in_registry(registry).values("workspace")
        pull_secrets.access_granted(registry, Workspace.objects.filter(pk__in=bound), actor)
    return registry


@transaction.atomic
def remove_registry(registry: Registry, actor: Actor) -> None:
    registry = Registry.objects.select_for_update().get(pk=registry.pk)
    before = registry_snapshot(registry)
    before["spaces"] = registry.spaces.count()
    before["bindings"] = SpaceBinding.objects.in_registry(registry).count()
    audit.record(actor, "registry.delete", registry, before=before)
    robots.registry_removing(registry)
    registry.delete()


# Bindings ---------------------------------------------------------------------------------


@dataclass
class BindingChange:
    added: list[Workspace] = field(default_factory=list)
    removed: list[Workspace] = field(default_factory=list)
    # Bound before and still bound, with a new end (or none any more).
    extended: list[Workspace] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.extended)


def resolve_workspaces(ids: Iterable[object]) -> list[Workspace]:
    """Turn submitted ids into workspaces, refusing unknown, repeated or too many."""
    try:
        # JSON integers or ASCII digits: not 1.0, true or "١" (which int() reads as 1).
        numbers = [whole_number(value) for value in ids]
    except ValueError:
        raise ServiceError(_("Workspace ids must be whole numbers."), "workspaces") from None
    if len(numbers) > MAX_WORKSPACES_PER_CHANGE:
        raise ServiceError(
            _("At most %(max)d workspaces can be changed at once.") % {"max": MAX_WORKSPACES_PER_CHANGE},
            "workspaces",
        )
    if len(set(numbers)) != len(numbers):
        raise ServiceError(_("A workspace is listed more than once."), "workspaces")
    in_range = [value for value in numbers if 1 <= value <= MAX_ID]
    found = {workspace.pk: workspace for workspace in Workspace.objects.filter(pk__in=in_range)}
    unknown = [value for value in numbers if value not in found]
    if unknown:
        raise ServiceError(
            _("Unknown workspace id(s): %(ids)s.") % {"ids": ", ".join(map(str, unknown))}, "workspaces"
        )
    return [found[value] for value in numbers]


def check_expiry(expires: datetime | None, now: datetime | None = None) -> None:
    """A binding's end must lie ahead: one already past would grant nothing and be removed
    within the minute, which is never what was meant."""
    if expires is not None and expires <= (now or timezone.now()):
        raise ServiceError(_("The end of a binding must be in the future."), "expires")


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@transaction.atomic
def change_bindings(
    space: RegistrySpace,
    actor: Actor,
    *,
    add: Iterable[Workspace] = (),
    remove: Iterable[Workspace] = (),
    expires: dict[Workspace, datetime | None] | None = None,
) -> BindingChange:
    """Apply a diff under a row lock on the space.

    Two Admins editing one space at once each apply only what they changed, so neither undoes
    the other. Adding a bound workspace or removing an unbound one is a no-op (re-submitting a
    dialog changes nothing and writes no event).

    ``expires`` maps workspaces to when their binding ends (None: never): a new binding of
    ``add`` starts with it, a binding that exists already gets it. A workspace it leaves out
    keeps its end, and one it names that is not bound (nor added) stays unbound.
    """
    expires = expires or {}
    now = timezone.now()
    for ends in expires.values():
        check_expiry(ends, now)
    locked = RegistrySpace.objects.select_for_update(of=("self",)).select_related("registry").get(pk=space.pk)
    if add and locked.registry.scope != Registry.Scope.PLATFORM:
        # A workspace registry's spaces belong to its workspace alone (the access rule).
        raise ServiceError(_("Only spaces of platform registries can be bound to workspaces."), "space")
    bound = dict(SpaceBinding.objects.filter(space=space).values_list("workspace_id", "expires"))
    change = _write_bindings(space, actor, bound, add=add, remove=remove, expires=expires)
    _record_bindings(space, actor, change, bound, expires)
    _announce_bindings(locked, actor, change)
    return change


def _write_bindings(
    space: RegistrySpace,
    actor: Actor,
    bound: dict[int, datetime | None],
    *,
    add: Iterable[Workspace],
    remove: Iterable[Workspace],
    expires: dict[Workspace, datetime | None],
) -> BindingChange:
    """The diff against ``bound`` (workspace id -> end), written: new bindings, changed ends,
    removed bindings."""
    change = BindingChange()
    new_bindings = []
    for workspace in add:
        if workspace.pk not in bound:
            new_bindings.append(
                SpaceBinding(
                    space=space,
                    workspace=workspace,
                    expires=expires.get(workspace),
                    created_by=audit.signed_in(actor),
                )
            )
            change.added.append(workspace)
    for workspace, ends in expires.items():
        if workspace.pk in bound and ends != bound[workspace.pk] and workspace not in remove:
            SpaceBinding.objects.filter(space=space, workspace=workspace).update(expires=ends)
            change.extended.append(workspace)
    SpaceBinding.objects.bulk_create(new_bindings)
    to_remove = [workspace for workspace in remove if workspace.pk in bound]
    if to_remove:
        SpaceBinding.objects.filter(space=space, workspace__in=to_remove).delete()
        change.removed = to_remove
    return change


def _record_bindings(
    space: RegistrySpace,
    actor: Actor,
    change: BindingChange,
    bound: dict[int, datetime | None],
    expires: dict[Workspace, datetime | None],
) -> None:
    """One audit event per workspace bound, whose end changed, or unbound."""
    label = str(space)
    for workspace in change.added:
        after = {"workspace": workspace.name, "workspace_id": workspace.pk}
        if expires.get(workspace):
            after["expires"] = _moment(expires[workspace])
        audit.record(actor, "space.bind", space, label=label, after=after)
    for workspace in change.extended:
        audit.record(
            actor,
            "space.binding_expires",
            space,
            label=label,
            before={
                "workspace": workspace.name,
                "workspace_id": workspace.pk,
                "expires": _moment(bound[workspace.pk]),
            },
            after={
                "workspace": workspace.name,
                "workspace_id": workspace.pk,
                "expires": _moment(expires[workspace]),
            },
        )
    for workspace in change.removed:
        before = {"workspace": workspace.name, "workspace_id": workspace.pk}
        if bound[workspace.pk]:
            before["expires"] = _moment(bound[workspace.pk])
        audit.record(actor, "space.unbind", space, label=label, before=before)


def _announce_bindings(locked: RegistrySpace, actor: Actor, change: BindingChange) -> None:
    """What follows a change of bindings: robots, pull secrets, and the space_opened signal."""
    if change.added or change.removed:
        robots.bindings_changed(locked, added=change.added, removed=change.removed)
    if change.added and locked.visibility == RegistrySpace.Visibility.PRIVATE:
        pull_secrets.access_granted(locked.registry, change.added, actor)
    if change.added:
        space_opened.send(sender=RegistrySpace, space=locked, actor=actor, workspaces=change.added)


def parse_day(value: str) -> date | None:
    """A dialog's "Ends on" date (YYYY-MM-DD), or None when blank; ServiceError otherwise."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else _invalid_day()
    except ValueError:
        return _invalid_day()


def _invalid_day() -> NoReturn:
    raise ServiceError(_("Enter the end of a binding as a date (YYYY-MM-DD)."), "expires")


def start_of_day(day: date) -> datetime:
    """Bindings "ending on" a day end when it begins, in the portal's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def apply_dialog(
    space: RegistrySpace,
    actor: Actor,
    *,
    shown_ids: Iterable[object],
    chosen_ids: Iterable[object],
    end_days: dict[int, str] | None = None,
) -> BindingChange:
    """The Bind/unbind dialog: what the Admin chose, compared with what the dialog showed.

    ``end_days`` holds each chosen workspace's "Ends on" date as typed (blank: no end); a
    workspace without one keeps its end. A day equal to the one the binding already ends on
    keeps its exact time (the API can set any).
    """
    shown = {workspace.pk: workspace for workspace in resolve_workspaces(shown_ids)}
    chosen = {workspace.pk: workspace for workspace in resolve_workspaces(chosen_ids)}
    if not shown and not chosen:
        raise ServiceError(_("Select at least one workspace."), "workspaces")
    current = dict(
        SpaceBinding.objects.filter(space=space, workspace__in=list(chosen)).values_list(
            "workspace_id", "expires"
        )
    )
    expires = {}
    for pk, workspace in chosen.items():
        ends = current.get(pk)
        if end_days is None or pk not in end_days:
            # No "Ends on" field for it (the page without JavaScript): its end stays as it is.
            expires[workspace] = ends
            continue
        day = parse_day(end_days[pk])
        if day is not None and ends is not None and timezone.localdate(ends) == day:
            expires[workspace] = ends
        else:
            expires[workspace] = start_of_day(day) if day is not None else None
    return change_bindings(
        space,
        actor,
        add=[workspace for pk, workspace in chosen.items() if pk not in shown],
        remove=[workspace for pk, workspace in shown.items() if pk not in chosen],
        expires=expires,
    )


@dataclass
class MatrixChange:
    """What a save of the spaces x workspaces view did: the diff applied, space by space."""

    added: int = 0
    removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _cells(values: Iterable[object], space_ids: set[int], workspace_ids: set[int]) -> set[tuple[int, int]]:
    """``"<space id>:<workspace id>"`` values as pairs, each one inside the grid that was shown."""
    cells = set()
    for value in values:
        space_id, _colon, workspace_id = str(value).partition(":")
        try:
            cell = (whole_number(space_id), whole_number(workspace_id))
        except ValueError:
            raise ServiceError(_("A cell of the grid is not a space and a workspace id."), "cells") from None
        if cell[0] not in space_ids or cell[1] not in workspace_ids:
            raise ServiceError(_("A cell is outside the grid that was shown."), "cells")
        cells.add(cell)
    return cells


@transaction.atomic
def apply_matrix(
    actor: Actor,
    *,
    space_ids: Iterable[object],
    workspace_ids: Iterable[object],
    before: Iterable[object],
    after: Iterable[object],
) -> MatrixChange:
    """The spaces x workspaces view: the cells shown, as they were shown and as submitted.

    Only the cells that the Admin changed are applied, each space through ``change_bindings``
    (its row lock, its audit events, its robot update): a binding someone else added or removed
    since the grid was shown stays as they left it unless the Admin ticked that very cell. All
    spaces change in one transaction, locked in id order so two saves cannot deadlock.
    """
    spaces = _matrix_spaces(space_ids)
    workspaces = {workspace.pk: workspace for workspace in resolve_workspaces(workspace_ids)}
    shown_before = _cells(before, set(spaces), set(workspaces))
    shown_after = _cells(after, set(spaces), set(workspaces))
    change = MatrixChange()
    for space_id in sorted(spaces):
        add = [workspaces[w] for s, w in sorted(shown_after - shown_before) if s == space_id]
        remove = [workspaces[w] for s, w in sorted(shown_before - shown_after) if s == space_id]
        if add or remove:
            applied = change_bindings(spaces[space_id], actor, add=add, remove=remove)
            change.added += len(applied.added)
            change.removed += len(applied.removed)
    return change


def _matrix_spaces(ids: Iterable[object]) -> dict[int, RegistrySpace]:
    """Spaces of platform registries by id, refusing unknown, repeated or too many."""
    try:
        numbers = [whole_number(value) for value in ids]
    except ValueError:
        raise ServiceError(_("Space ids must be whole numbers."), "spaces") from None
    if len(numbers) > MAX_SPACES_PER_MATRIX:
        raise ServiceError(
            _("At most %(max)d spaces can be changed at once.") % {"max": MAX_SPACES_PER_MATRIX}, "spaces"
        )
    if len(set(numbers)) != len(numbers):
        raise ServiceError(_("A space is listed more than once."), "spaces")
    found = (
        RegistrySpace.objects.filter(
            pk__in=[value for value in numbers if 1 <= value <= MAX_ID],
            registry__scope=Registry.Scope.PLATFORM,
        )
        .select_related("registry")
        .in_bulk()
    )
    unknown = [value for value in numbers if value not in found]
    if unknown:
        raise ServiceError(
            _("Unknown space id(s): %(ids)s.") % {"ids": ", ".join(map(str, unknown))}, "spaces"
        )
    return found


def expire_bindings(now: datetime | None = None) -> list[tuple[RegistrySpace, list[Workspace]]]:
    """Unbind every binding whose end has come, space by space, through ``change_bindings``
    (its lock, robots and audit events, by "expiry"). Returns what was unbound."""
    now = now or timezone.now()
    due = (
        SpaceBinding.objects.filter(expires__lte=now)
        .select_related("space", "workspace")
        .order_by("space_id", "workspace__name")
    )
    by_space: dict[int, tuple[RegistrySpace, list[Workspace]]] = {}
    for binding in due:
        by_space.setdefault(binding.space_id, (binding.space, []))[1].append(binding.workspace)
    done = []
    for space, workspaces in by_space.values():
        # Re-read under the lock: a binding extended meanwhile is no longer due.
        with transaction.atomic():
            still_due = set(
                SpaceBinding.objects.filter(
                    space=space, workspace__in=workspaces, expires__lte=now
                ).values_list("workspace_id", flat=True)
            )
            change = change_bindings(space, audit.EXPIRY, remove=[w for w in workspaces if w.pk in still_due])
        if change.removed:
            done.append((space, change.removed))
    return done


def bindings_ending_soon(days: int = 7, now: datetime | None = None) -> QuerySet[SpaceBinding]:
    """Bindings that end within ``days`` (Admins see them on the Access requests page)."""
    now = now or timezone.now()
    return (
        SpaceBinding.objects.filter(expires__gt=now, expires__lte=now + timedelta(days=days))
        .select_related("space__registry", "workspace")
        .order_by("expires", "pk")
    )


# Spaces -----------------------------------------------------------------------------------


def _client(registry: Registry) -> RegistryClient:
    # A person is waiting: the request's deadline holds.
    return client_for(registry.kind, registry.connection())


def _refusal(registry: Registry, action: str, error: RegistryError, actor: Actor) -> ServiceError:
    outbound.log_failure(registry, action, error)
    return ServiceError(outbound.shown_message(registry, error, actor))


@transaction.atomic
def create_space(registry: Registry, actor: Actor, *, name: str, visibility: str) -> RegistrySpace:
    if not registry.kind_plugin.creates_spaces:
        # Recording a name the registry does not have would list a space nothing can fill.
        raise ServiceError(
            registry.kind_notices.get("space_create")
            or _(
                "Registry spaces of this registry cannot be created in Wharf: create them in the "
                "registry itself, then sync."
            )
        )
    if registry.spaces.filter(name=name).exists():
        raise ServiceError(_("This registry already has a space of that name."), "name")
    public = visibility == RegistrySpace.Visibility.PUBLIC
    upstream_id = ""
    created = None
    if not registry.is_demo:
        try:
            with _client(registry) as client:
                info = client.create_space(name, public)
        except RegistryError as error:
            raise _refusal(registry, "Creating a space", error, actor) from None
        upstream_id, created = info.upstream_id, info.created
    space = RegistrySpace.objects.create(
        registry=registry,
        name=name,
        visibility=visibility,
        upstream_id=upstream_id,
        upstream_created=created or timezone.now(),
    )
    registry.spaces_changed()
    audit.record(actor, "space.create", space, after={"name": name, "visibility": visibility})
    return space


@transaction.atomic
def set_visibility(space: RegistrySpace, actor: Actor, visibility: str) -> RegistrySpace:
    space = RegistrySpace.objects.select_for_update().select_related("registry").get(pk=space.pk)
    if space.visibility == visibility:
        return space
    if not space.registry.is_demo:
        try:
            with _client(space.registry) as client:
                client.set_space_visibility(space.name, visibility == RegistrySpace.Visibility.PUBLIC)
        except RegistryError as error:
            raise _refusal(space.registry, "Changing a space's visibility", error, actor) from None
    before = {"visibility": space.visibility}
    space.visibility = visibility
    space.save(update_fields=["visibility", "updated"])
    audit.record(actor, "space.visibility", space, before=before, after={"visibility": visibility})
    robots.visibility_changed(space)
    if visibility == RegistrySpace.Visibility.PUBLIC:
        space_opened.send(sender=RegistrySpace, space=space, actor=actor, workspaces=None)
    if visibility == RegistrySpace.Visibility.PRIVATE:
        pull_secrets.access_granted(space.registry, space.workspaces.all(), actor)
    return space


@transaction.atomic
def delete_space(space: RegistrySpace, actor: Actor) -> None:
    space = RegistrySpace.objects.select_for_update().select_related("registry").get(pk=space.pk)
    if space.repository_count or space.repositories.exists():
        raise ServiceError(_("Only empty registry spaces can be deleted; this one holds images."))
    if not space.registry.is_demo and not space.missing:
        try:
            with _client(space.registry) as client:
                client.delete_space(space.name)
        except RegistryError as error:
            raise _refusal(space.registry, "Deleting a space", error, actor) from None
    bound = list(space.workspaces.values_list("name", flat=True))
    audit.record(
        actor,
        "space.delete",
        space,
        before={"name": space.name, "visibility": space.visibility, "workspaces": bound},
    )
    robots.space_deleting(space)
    space.delete()
    space.registry.spaces_changed()


# Images: scans and deletion (the repository page and the API) ------------------------------
# Written to the registry first, then to Wharf's cache, in one transaction with the audit
# event: when the registry refuses, the transaction rolls back and both stay as they were.


class NotAllowed(ServiceError):
    """The actor may not push into the repository's space (registries.access.can_push)."""


def short_digest(digest: str) -> str:
    """What the artifact confirmation asks for: the first 12 characters of the hash."""
    return digest.partition(":")[2][:12]


def _require_push(actor: Person, space: RegistrySpace) -> None:
    if not access.can_push(actor, space):
        raise NotAllowed(_("Only those who may push into this registry space can scan or delete its images."))


def _require_confirmation(typed: str, expected: str, *also: str) -> None:
    if (typed or "").strip() not in (expected, *also):
        raise ServiceError(_("Type %(name)s to confirm.") % {"name": expected}, "confirm")


def _ask_registry(
    registry: Registry, actor: Actor, action: str, call: Callable[[RegistryClient], Any]
) -> None:
    if registry.is_demo:
        raise ServiceError(_("Not supported: this is a demo registry, which Wharf never contacts."))
    try:
        with _client(registry) as client:
            call(client)
    except RegistryError as error:
        outbound.log_failure(registry, action, error)
        if error.code == "unsupported":
            raise ServiceError(
                _("Not supported by this registry: %(reason)s") % {"reason": error.message}
            ) from None
        raise ServiceError(outbound.shown_message(registry, error, actor)) from None


def _recount_tags(repository: Repository) -> None:
    repository.tag_count = repository.tags.count()
    repository.save(update_fields=["tag_count"])


@transaction.atomic
def delete_tag(tag: Tag, actor: Person, *, confirm: str) -> None:
    tag = Tag.objects.select_for_update().select_related("repository__space__registry").get(pk=tag.pk)
    repository = tag.repository
    _require_push(actor, repository.space)
    _require_confirmation(confirm, tag.name)
    _ask_registry(
        repository.space.registry,
        actor,
        "Deleting a tag",
        lambda client: client.delete_tag(repository.name, tag.name, tag.digest),
    )
    audit.record(
        actor,
        "image.tag.delete",
        repository,
        label=imagerefs.without_host(repository.name, tag=tag.name),
        before={"tag": tag.name, "digest": tag.digest},
    )
    tag.delete()
    _recount_tags(repository)


@transaction.atomic
def delete_artifact(repository: Repository, digest: str, actor: Person, *, confirm: str) -> list[str]:
    """Delete the image (or index) ``digest`` and every tag on it; answers the tags' names."""
    repository = (
        Repository.objects.select_for_update().select_related("space__registry").get(pk=repository.pk)
    )
    _require_push(actor, repository.space)
    tags = list(repository.tags.filter(digest=digest).order_by("name").values_list("name", flat=True))
    if not tags:
        raise ServiceError(_("No image of this repository has that digest."), "digest")
    _require_confirmation(confirm, short_digest(digest), digest)
    _ask_registry(
        repository.space.registry,
        actor,
        "Deleting an image",
        lambda client: client.delete_artifact(repository.name, digest),
    )
    audit.record(
        actor,
        "image.artifact.delete",
        repository,
        label=imagerefs.without_host(repository.name, digest=digest),
        before={"digest": digest, "tags": tags},
    )
    repository.tags.filter(digest=digest).delete()
    _recount_tags(repository)
    return tags


@transaction.atomic
def delete_repository(repository: Repository, actor: Person, *, confirm: str) -> None:
    repository = (
        Repository.objects.select_for_update().select_related("space__registry").get(pk=repository.pk)
    )
    space = repository.space
    _require_push(actor, space)
    _require_confirmation(confirm, repository.name)
    _ask_registry(
        space.registry,
        actor,
        "Deleting a repository",
        lambda client: client.delete_repository(repository.name),
    )
    audit.record(
        actor,
        "image.repository.delete",
        repository,
        before={"name": repository.name, "tags": repository.tag_count},
    )
    repository.delete()
    space.repository_count = space.repositories.count()
    space.save(update_fields=["repository_count", "updated"])


@transaction.atomic
def request_scan(repository: Repository, digest: str, actor: Person) -> None:
    """Ask the registry (Harbor) to scan ``digest`` for vulnerabilities."""
    registry = repository.space.registry
    _require_push(actor, repository.space)
    if not repository.tags.filter(digest=digest).exists():
        raise ServiceError(_("No image of this repository has that digest."), "digest")
    if not registry.kind_plugin.scanning:
        raise ServiceError(_("Not supported: this registry does not scan images for vulnerabilities."))
    _ask_registry(registry, actor, "Requesting a scan", lambda client: client.scan(repository.name, digest))
    audit.record(
        actor,
        "image.scan",
        repository,
        label=imagerefs.without_host(repository.name, digest=digest),
        after={"digest": digest},
    )


# Workspace pull credentials ---------------------------------------------------------------


def _enqueue_rotation(credential_id: int, actor_id: int | None, reason: str) -> None:
    background.task("rotate_credential_task").enqueue(credential_id, actor_id, reason)


@transaction.atomic
def rotate_pull_credentials(workspace: Workspace, actor: Actor | None, *, reason: str) -> list[str]:
    """New secrets for every pull credential of ``workspace``; returns the registries' names.

    The old secrets keep working for WHARF_CREDENTIAL_OVERLAP seconds, so the namespaces' pull
    secrets can be fetched again before they stop. Token-service credentials change in this
    transaction; Harbor robots once it commits (Harbor is never called under a row lock), in a
    task each. Nothing to rotate writes nothing.
    """
    overlap = settings.WHARF_CREDENTIAL_OVERLAP
    credentials = (
        PullCredential.objects.select_related("registry")
        .filter(workspace=workspace)
        .order_by("registry__name")
    )
    rotated, on_harbor = [], []
    for credential in credentials:
        registry = credential.registry
        if registry.uses_token_service and credential.secret_hash:
            tokens.rotate_credential(credential, actor, overlap=overlap, reason=reason)
        elif robots.manages_robots(registry) and credential.upstream_id:
            on_harbor.append(credential.pk)
        else:
            continue
        rotated.append(registry.name)
    if not rotated:
        return []
    audit.record(
        actor,
        "workspace.rotate_pull_credentials",
        workspace,
        after={"reason": reason, "registries": rotated, "overlap_seconds": overlap},
    )
    person = audit.signed_in(actor)
    actor_id = person.pk if person is not None else None
    for credential_id in on_harbor:
        transaction.on_commit(partial(_enqueue_rotation, credential_id, actor_id, reason), robust=True)
    return rotated
