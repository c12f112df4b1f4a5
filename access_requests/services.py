"""Writes to access requests: ask, approve, decline, and the requests that close themselves.

Each runs in one transaction with its audit events. An approval binds through
registries.services.change_bindings, the same path as the Bind/unbind dialog.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from access_requests.models import AccessRequest
from portal import audit
from portal.audit import Actor
from portal.errors import ServiceError
from portal.permissions import can
from registries import access
from registries.models import Registry, RegistrySpace
from registries.services import change_bindings, check_expiry, space_opened
from workspaces.models import Workspace

REQUEST_FIELDS = ("workspace", "registry", "space_name", "status")


def _snapshot(request: AccessRequest) -> dict[str, Any]:
    return {
        "workspace": request.workspace.name,
        "workspace_id": request.workspace_id,
        "registry": request.registry.name,
        "space": request.space_name,
        "status": request.status,
    }


def _usable(workspace: Workspace, registry: Registry, space_name: str) -> bool:
    """Can ``workspace`` already use this space (public, bound, or its own)? Health aside."""
    return (
        access.spaces_for_workspace(workspace, healthy_only=False)
        .filter(registry=registry, name=space_name)
        .exists()
    )


@transaction.atomic
def request_access(
    actor: User, *, workspace: Workspace, registry: Registry, space_name: str, reason: str
) -> tuple[AccessRequest, bool]:
    """Record that ``actor`` asks for ``registry``/``space_name`` for ``workspace``.

    Returns the request and whether it merged into a pending one for the same space and
    workspace. Recorded whether or not such a space exists: the answer is the same either way.
    """
    if not can(actor, "request_spaces", workspace):
        raise ServiceError(
            _("Only a Workspace Admin or Editor of %(workspace)s can request registry spaces for it.")
            % {"workspace": workspace.name},
            "workspace",
        )
    if registry.scope != Registry.Scope.PLATFORM:
        raise ServiceError(_("Only spaces of an Integrated Registry (Admin) can be requested."), "registry")
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Say why the workspace needs this space."), "reason")
    if _usable(workspace, registry, space_name):
        # Nothing is revealed: the member can already see (and use) this space.
        raise ServiceError(
            _("Workspace %(workspace)s can already use %(space)s; it is on the Images page.")
            % {"workspace": workspace.name, "space": space_name},
            "space_name",
        )
    existing = (
        AccessRequest.objects.select_for_update()
        .pending()
        .filter(workspace=workspace, registry=registry, space_name=space_name)
        .first()
    )
    if existing is not None:
        existing.reason = f"{existing.reason}\n\n{actor.get_username()}: {reason}"[:4000]
        existing.times_requested += 1
        existing.save(update_fields=["reason", "times_requested", "updated"])
        audit.record(
            actor,
            "access_request.merge",
            existing,
            label=str(existing),
            after={**_snapshot(existing), "times_requested": existing.times_requested},
        )
        return existing, True
    try:
        with transaction.atomic():
            created = AccessRequest.objects.create(
                workspace=workspace,
                registry=registry,
                space_name=space_name,
                reason=reason,
                requested_by=actor,
            )
    except IntegrityError:
        # Another member asked for the same at the same moment: merge into theirs.
        return request_access(
            actor, workspace=workspace, registry=registry, space_name=space_name, reason=reason
        )
    audit.record(
        actor,
        "access_request.create",
        created,
        label=str(created),
        after={**_snapshot(created), "reason": reason},
    )
    return created, False


def _locked_pending(request: AccessRequest) -> AccessRequest:
    locked: AccessRequest = (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("workspace", "registry")
        .get(pk=request.pk)
    )
    if not locked.is_pending:
        raise ServiceError(
            _("This request was already %(status)s.") % {"status": locked.get_status_display().lower()},
            "status",
        )
    return locked


@transaction.atomic
def approve(
    request: AccessRequest, actor: User, *, expires: datetime | None = None, note: str = ""
) -> AccessRequest:
    """Bind the requested space to the workspace (ending at ``expires``, if given)."""
    if not can(actor, "bind_spaces"):
        raise ServiceError(_("Only a platform Admin may do this."))
    check_expiry(expires)
    locked = _locked_pending(request)
    space = locked.matching_space()
    if space is None:
        raise ServiceError(
            _(
                "Registry %(registry)s has no space %(space)s (as of its last sync): "
                "decline the request, or sync the registry first."
            )
            % {"registry": locked.registry.name, "space": locked.space_name},
            "space_name",
        )
    before = _snapshot(locked)
    locked.status = AccessRequest.Status.APPROVED
    locked.decided_by, locked.decided = actor, timezone.now()
    locked.note, locked.expires = note.strip(), expires
    locked.save(update_fields=["status", "decided_by", "decided", "note", "expires", "updated"])
    audit.record(
        actor,
        "access_request.approve",
        locked,
        label=str(locked),
        before=before,
        after={**_snapshot(locked), "note": locked.note, "expires": expires.isoformat() if expires else None},
    )
    change_bindings(
        space, actor, add=[locked.workspace], expires={locked.workspace: expires} if expires else None
    )
    return locked


@transaction.atomic
def decline(request: AccessRequest, actor: User, *, note: str = "") -> AccessRequest:
    if not can(actor, "bind_spaces"):
        raise ServiceError(_("Only a platform Admin may do this."))
    locked = _locked_pending(request)
    before = _snapshot(locked)
    locked.status = AccessRequest.Status.DECLINED
    locked.decided_by, locked.decided, locked.note = actor, timezone.now(), note.strip()
    locked.save(update_fields=["status", "decided_by", "decided", "note", "updated"])
    audit.record(
        actor,
        "access_request.decline",
        locked,
        label=str(locked),
        before=before,
        after={**_snapshot(locked), "note": locked.note},
    )
    return locked


def _close(requests: Iterable[AccessRequest], actor: Actor | None, note: str) -> list[AccessRequest]:
    closed = []
    for request in requests:
        before = _snapshot(request)
        request.status = AccessRequest.Status.CLOSED
        request.decided = timezone.now()
        request.note = note
        request.save(update_fields=["status", "decided", "note", "updated"])
        audit.record(
            actor,
            "access_request.close",
            request,
            label=str(request),
            before=before,
            after={**_snapshot(request), "note": note},
        )
        closed.append(request)
    return closed


def close_satisfied(
    space: RegistrySpace, actor: Actor | None = None, *, workspaces: Iterable[Workspace] | None = None
) -> list[AccessRequest]:
    """Close the pending requests for ``space`` that its new state answers: all of them when it
    became public, those of ``workspaces`` when they were bound to it. Called inside the
    transaction of that change (registries.services)."""
    pending = (
        AccessRequest.objects.select_for_update(of=("self",))
        .pending()
        .select_related("workspace", "registry")
        .filter(registry_id=space.registry_id, space_name=space.name)
        .order_by("pk")
    )
    if workspaces is not None:
        pending = pending.filter(workspace__in=list(workspaces))
        note = _("The space was bound to the workspace meanwhile.")
    else:
        note = _("The space became public meanwhile.")
    return _close(list(pending), actor, note)


@receiver(space_opened)
def _close_when_space_opened(
    sender: type,
    space: RegistrySpace,
    actor: Actor | None,
    workspaces: Iterable[Workspace] | None,
    **kwargs: Any,
) -> None:
    close_satisfied(space, actor, workspaces=workspaces)


@transaction.atomic
def close_all_satisfied() -> list[AccessRequest]:
    """Close pending requests whose workspace can use the space by now, however that came
    about (a sync that found it public, say). Run with ``manage.py expire_bindings``."""
    pending = list(
        AccessRequest.objects.select_for_update(of=("self",))
        .pending()
        .select_related("workspace", "registry")
        .order_by("pk")
    )
    satisfied = [
        request for request in pending if _usable(request.workspace, request.registry, request.space_name)
    ]
    return _close(satisfied, None, _("The workspace can use the space by now."))
