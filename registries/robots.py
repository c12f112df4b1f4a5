"""Harbor pull credentials: one system-level robot account per (workspace, Harbor registry).

The robot of workspace W on Harbor H holds ``repository:pull`` on exactly the private spaces
of H that the access rule (``registries.access``) gives W, and nothing else: public projects
need no permission (Harbor lets anyone pull them). Its secret is kept in the workspace's
``PullCredential``, encrypted, for the namespace pull secret.

Rules this module keeps (design sections 5 and 6):

* **Who gets robots.** Platform-scope Harbor registries that are not demo data. Demo registries
  are never contacted. A workspace-scope Harbor is integrated with the workspace's own Harbor
  account, which a Harbor admin created for that tenant; the workspace already owns every
  space there and pulls with its own credentials, so Wharf makes no robots on it.
* **Names come from Harbor.** A robot is created as ``wharf-ws-<workspace>``; Harbor prefixes
  it (``robot$`` by default, configurable) and the full name it answers with is what is stored
  and what pulls log in with.
* **Nothing to pull, no robot.** When the workspace has no private space left on the registry
  the robot is deleted and its credential row removed: Harbor refuses robots without
  permissions ("bad request empty permission"), and a robot kept alive with some other
  permission would hold more than nothing. The next bind creates a new robot, with a new
  secret, so the namespace pull secret must then be fetched again.
* **Never half-applied.** Harbor is changed first; the credential's ``granted``, ``upstream_id``
  and secret are written only with what Harbor confirmed. A failure leaves them as they were,
  sets ``state=failed`` with the client's message (which never holds a secret) and counts the
  attempt; the row stays for a retry (the Retry button, the next change, or the periodic
  ``manage.py reconcile_credentials``).
* **No lock held while Harbor answers.** Each reconcile reads the credential, talks to Harbor,
  then stores under a short row lock only if the credential still refers to the robot it
  started from; if another reconcile stored a different robot meanwhile, the robot this one
  created is deleted. If the bindings changed while Harbor was being updated, it goes round
  again (at most ``MAX_ROUNDS`` times), so concurrent reconciles converge on the access rule.
* **Drift.** A reconcile reads the robot back: deleted in Harbor -> created again (new secret);
  permissions, expiry, description or the disabled flag edited in Harbor -> put back. The
  periodic run also logs in as each robot to prove the stored secret still works, and has
  Harbor generate a new one when it does not.
* **Rotation with an overlap window.** A robot has a single secret, so a rotation that keeps
  the old secret working for ``WHARF_CREDENTIAL_OVERLAP`` seconds creates a second robot
  (the names alternate: ``wharf-ws-<workspace>`` and ``wharf-ws-<workspace>.b``), stores it
  as the credential and keeps the old one as ``previous_*`` until the window ends; then
  ``retire_expired`` (the periodic run, and a deferred task where the task backend can defer)
  deletes it. While both live, every reconcile gives both the same permissions, so an unbind
  during the window applies to the old secret too. A second rotation inside the window
  deletes the oldest robot first: never more than two.
* **Leftovers.** A robot carries a description naming its workspace id and this Wharf's owner
  tag (derived from ``SECRET_KEY``; another Wharf on the same Harbor has another tag). Robots
  of deleted workspaces are deleted on commit; those that could not be (Harbor down) are found
  by ``sweep_orphans`` in the periodic run. A create that collides with a leftover of this
  Wharf replaces it; a collision with a robot this Wharf does not own fails with that reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal import metrics
from portal.crypto import DecryptionError
from registries import access, background
from registries.access import private_spaces_for_workspace
from registries.clients import (
    AuthenticationFailed,
    Conflict,
    Connection,
    RegistryError,
    Unreachable,
)
from registries.clients.base import RobotInfo
from registries.kinds import client_for
from registries.models import LoginCredential, PullCredential, Registry, RegistrySpace, SpaceBinding
from registries.tokens.credentials import record_rotation
from workspaces.models import Workspace

logger = logging.getLogger("wharf.robots")

ROBOT_NAME_PREFIX = "wharf-ws-"
# Rounds of one reconcile when the bindings keep changing under it.
MAX_ROUNDS = 3

DONE = PullCredential.State.DONE
FAILED = PullCredential.State.FAILED
PENDING = PullCredential.State.PENDING


# What gets robots, and what they hold -------------------------------------------------------


def manages_robots(registry: Registry) -> bool:
    return (
        registry.kind_plugin.robot_accounts
        and registry.scope == Registry.Scope.PLATFORM
        and not registry.is_demo
    )


def skip_reason(registry: Registry) -> str:
    if registry.is_demo:
        return "demo registry: never contacted"
    if not registry.kind_plugin.robot_accounts:
        return "not a Harbor registry: no robot accounts"
    if registry.scope != Registry.Scope.PLATFORM:
        return "workspace registry: the workspace pulls with its own Harbor account"
    return ""


def desired_projects(workspace: Workspace, registry: Registry) -> list[str]:
    """The Harbor projects the workspace's robot must pull from, from the access rule alone.

    Health is ignored on purpose: a registry that failed a sync keeps its grants.
    """
    spaces = private_spaces_for_workspace(workspace, healthy_only=False).filter(registry=registry)
    return sorted(spaces.values_list("name", flat=True))


def robot_name(workspace: Workspace) -> str:
    return f"{ROBOT_NAME_PREFIX}{workspace.name}"


# The second name a workspace's robot takes during a rotation's overlap window. Workspace names
# are DNS labels, without dots, so one workspace's second name is never another's first.
ALTERNATE_SUFFIX = ".b"


def robot_names(workspace: Workspace) -> tuple[str, str]:
    name = robot_name(workspace)
    return name, name + ALTERNATE_SUFFIX


def is_robot_of(full_name: str, workspace: Workspace) -> bool:
    """Whether a robot's full name (Harbor's prefix included) is one of ``workspace``'s."""
    return any(full_name.endswith(name) for name in robot_names(workspace))


def _free_name(workspace: Workspace, taken: str) -> str:
    """The workspace's robot name that the robot called ``taken`` (full name) does not hold."""
    first, second = robot_names(workspace)
    return first if taken and taken.endswith(second) else second if taken else first


def owner_tag() -> str:
    """Tells this Wharf's robots from another Wharf's on a shared Harbor (not a secret)."""
    return hashlib.sha256(f"wharf-robot-owner:{settings.SECRET_KEY}".encode()).hexdigest()[:12]


def robot_description(workspace: Workspace) -> str:
    return (
        f"Pull credential of Wharf workspace {workspace.name} (id {workspace.pk}). "
        f"Managed by Wharf {owner_tag()}: changes made in Harbor are undone."
    )


_OWNED = re.compile(r"\(id (\d+)\)\. Managed by Wharf ([0-9a-f]{12})")


def owned_workspace_id(robot: RobotInfo) -> int | None:
    """The workspace id of a robot this Wharf made, or None for anyone else's robot."""
    match = _OWNED.search(robot.description)
    if match is None or match.group(2) != owner_tag():
        return None
    return int(match.group(1))


# Outcomes -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one reconcile did, for the command's output and the task's result."""

    workspace: str
    registry: str
    state: str  # done, failed, removed (no robot needed), skipped
    granted: list[str] = field(default_factory=list)
    error: str = ""
    code: str = ""
    actions: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.state == FAILED

    def line(self) -> str:
        pair = f"{self.workspace} @ {self.registry}"
        notes = f" [{'; '.join(self.actions)}]" if self.actions else ""
        if self.state == FAILED:
            return f"{pair}: failed: {self.error}{notes}"
        if self.state == "skipped":
            return f"{pair}: skipped ({self.error})"
        if self.state == "removed":
            return f"{pair}: no robot needed (nothing private to pull){notes}"
        pull = ", ".join(self.granted)
        return f"{pair}: done, pull on {pull}{notes}"

    def as_dict(self) -> dict:
        return {
            "workspace": self.workspace,
            "registry": self.registry,
            "state": self.state,
            "granted": self.granted,
            "error": self.error,
            "actions": self.actions,
        }


class _GoRound(Exception):
    """The credential changed under this reconcile: read it again."""


@dataclass
class _Applied:
    """What Harbor confirmed: the robot (None: none is needed and none exists) and a new secret."""

    robot: RobotInfo | None
    projects: list[str]
    secret: str = field(default="", repr=False)
    created: bool = False
    # The previous robot of an overlap window is gone (deleted now, or already).
    previous_gone: bool = False


# Reconcile ----------------------------------------------------------------------------------


def _pair(target) -> tuple[Workspace, Registry]:
    if isinstance(target, PullCredential):
        return target.workspace, target.registry
    workspace, registry = target
    if not isinstance(workspace, Workspace):
        workspace = Workspace.objects.get(pk=workspace)
    if not isinstance(registry, Registry):
        registry = Registry.objects.get(pk=registry)
    return workspace, registry


def _client(registry: Registry, connection: Connection | None = None):
    # Robot accounts are kept in tasks: background work, no request deadline.
    return client_for(registry.kind, connection or registry.connection(background=True))


def reconcile(target, *, verify_secret: bool = False) -> Outcome:
    """Make Harbor's robot for a (workspace, registry) pair match the access rule.

    ``target`` is a PullCredential or a ``(workspace, registry)`` pair (objects or ids).
    ``verify_secret`` also logs in as the robot to prove the stored secret still works.
    """
    outcome = _reconcile(target, verify_secret=verify_secret)
    metrics.robot_reconciled(outcome)
    return outcome


def _reconcile(target, *, verify_secret: bool) -> Outcome:
    workspace, registry = _pair(target)
    if not manages_robots(registry):
        return Outcome(workspace.name, registry.name, "skipped", error=skip_reason(registry))
    actions: list[str] = []
    for _round in range(MAX_ROUNDS):
        snapshot = PullCredential.objects.filter(workspace=workspace, registry=registry).first()
        desired = desired_projects(workspace, registry)
        if snapshot is None and not desired:
            return Outcome(workspace.name, registry.name, "removed", actions=actions)
        try:
            with _client(registry) as harbor:
                applied = _apply(harbor, registry, workspace, snapshot, desired, verify_secret, actions)
        except _GoRound:
            continue
        except RegistryError as error:
            return _fail(workspace, registry, error.message, error.code, actions)
        except DecryptionError as error:
            return _fail(
                workspace,
                registry,
                f"The registry's password cannot be decrypted: {error}",
                "decrypt",
                actions,
            )
        outcome = _store(workspace, registry, snapshot, desired, applied, actions)
        if outcome is not None:
            return outcome
    return _fail(
        workspace,
        registry,
        "The workspace's spaces kept changing while Harbor was being updated; retry.",
        "busy",
        actions,
    )


def _apply(
    harbor,
    registry: Registry,
    workspace: Workspace,
    snapshot: PullCredential | None,
    desired: list[str],
    verify_secret: bool,
    actions: list[str],
) -> _Applied:
    description = robot_description(workspace)
    previous_gone = _follow_previous(harbor, workspace, snapshot, desired, description, actions)
    robot = None
    if snapshot is not None and snapshot.upstream_id.isdigit():
        robot = harbor.get_robot(int(snapshot.upstream_id))
        if robot is None:
            actions.append("robot was deleted in Harbor")
        elif not is_robot_of(robot.name, workspace):
            # Not the robot Wharf made: never touch it.
            actions.append(f"robot {snapshot.upstream_id} in Harbor is {robot.name}, not Wharf's")
            robot = None
    if not desired:
        if robot is not None:
            harbor.delete_robot(robot.id)
            actions.append(f"deleted robot {robot.name}")
        return _Applied(robot=None, projects=[], previous_gone=previous_gone)
    if robot is None:
        # The name the previous robot of an overlap window does not hold.
        previous = snapshot.previous_username if snapshot is not None and not previous_gone else ""
        robot = _create(harbor, workspace, _free_name(workspace, previous), desired, description, actions)
        return _Applied(
            robot=robot, projects=desired, secret=robot.secret, created=True, previous_gone=previous_gone
        )

    wanted = RobotInfo.pull_permissions(desired)
    if (
        robot.permissions != wanted
        or robot.disabled
        or robot.duration != -1
        or robot.description != description
    ):
        harbor.update_robot_projects(robot.id, robot.name, desired, description)
        expected = RobotInfo.pull_permissions(snapshot.granted) if snapshot else ()
        if robot.permissions != expected or robot.disabled or robot.duration != -1:
            actions.append("repaired a robot edited in Harbor")
        else:
            actions.append("updated permissions")
    secret = ""
    stored = _stored_secret(snapshot)
    if not stored:
        secret = harbor.refresh_robot_secret(robot.id)
        actions.append("new secret (none stored)")
    elif verify_secret and not _secret_works(registry, robot.name, stored):
        secret = harbor.refresh_robot_secret(robot.id)
        actions.append("stored secret no longer worked; Harbor generated a new one")
    return _Applied(robot=robot, projects=desired, secret=secret, previous_gone=previous_gone)


def _follow_previous(
    harbor,
    workspace: Workspace,
    snapshot: PullCredential | None,
    desired: list[str],
    description: str,
    actions: list[str],
) -> bool:
    """Give the previous robot of an overlap window what the current one gets, or delete it when
    its window is over or nothing is left to pull. Returns whether it is gone."""
    if snapshot is None or not snapshot.previous_upstream_id.isdigit():
        return False
    previous = harbor.get_robot(int(snapshot.previous_upstream_id))
    if previous is None or not is_robot_of(previous.name, workspace):
        return True
    if not desired or not snapshot.previous_valid():
        harbor.delete_robot(previous.id)
        actions.append(f"deleted the previous robot {previous.name}")
        return True
    if (
        previous.permissions != RobotInfo.pull_permissions(desired)
        or previous.disabled
        or previous.duration != -1
        or previous.description != description
    ):
        harbor.update_robot_projects(previous.id, previous.name, desired, description)
        actions.append(f"updated the previous robot {previous.name}")
    return False


def _create(
    harbor, workspace: Workspace, name: str, desired: list[str], description: str, actions: list[str]
) -> RobotInfo:
    try:
        robot = harbor.create_robot(name, desired, description)
    except Conflict:
        leftover = next((r for r in harbor.iter_robots(f"name={name}") if r.name.endswith(name)), None)
        owner = owned_workspace_id(leftover) if leftover is not None else None
        if owner is None or (owner != workspace.pk and Workspace.objects.filter(pk=owner).exists()):
            raise Conflict(
                f"Harbor already has a robot account named {name} that this Wharf does not manage; "
                "delete or rename it in Harbor, then retry."
            ) from None
        if PullCredential.objects.filter(workspace=workspace, upstream_id=str(leftover.id)).exists():
            # Another reconcile created and stored it meanwhile: start again from that one.
            raise _GoRound from None
        harbor.delete_robot(leftover.id)
        actions.append(f"replaced leftover robot {leftover.name}")
        robot = harbor.create_robot(name, desired, description)
    actions.append(f"created robot {robot.name}")
    return robot


def _stored_secret(credential: PullCredential | None) -> str:
    if credential is None or not credential.secret_encrypted:
        return ""
    try:
        return credential.get_secret()
    except DecryptionError:
        return ""


def _secret_works(registry: Registry, username: str, secret: str) -> bool:
    """Log in as the robot: Harbor serves bad credentials as anonymous, and says so on
    ``/users/current`` (401), where a robot gets 412."""
    connection = dataclasses.replace(registry.connection(background=True), username=username, password=secret)
    try:
        with _client(registry, connection) as harbor:
            harbor.check()
    except AuthenticationFailed:
        return False
    return True


def _store(
    workspace: Workspace,
    registry: Registry,
    snapshot: PullCredential | None,
    desired: list[str],
    applied: _Applied,
    actions: list[str],
) -> Outcome | None:
    """Write what Harbor confirmed; None when the pair changed meanwhile (go round again)."""
    started_from = snapshot.upstream_id if snapshot else ""
    leftover: RobotInfo | None = None
    with transaction.atomic():
        current = (
            PullCredential.objects.select_for_update().filter(workspace=workspace, registry=registry).first()
        )
        workspace_gone = not Workspace.objects.filter(pk=workspace.pk).exists()
        if workspace_gone or (current.upstream_id if current else "") != started_from:
            # Deleted, or another reconcile stored another robot: ours must not linger.
            leftover = applied.robot if applied.created else None
            outcome = (
                Outcome(workspace.name, registry.name, "removed", actions=actions) if workspace_gone else None
            )
        else:
            outcome = _write(workspace, registry, current, desired, applied, actions)
    if leftover is not None:
        transaction.on_commit(partial(_delete_quietly, registry, [leftover.id]))
    return outcome


def _write(workspace, registry, current, desired, applied, actions) -> Outcome | None:
    now_desired = desired_projects(workspace, registry)
    settled = now_desired == applied.projects
    if applied.previous_gone and current is not None:
        current.clear_previous()
    if applied.robot is None:
        if settled:
            if current is not None:
                current.delete()
            return Outcome(workspace.name, registry.name, "removed", actions=actions)
        if current is None:
            return None
        current.upstream_id = current.username = current.secret_encrypted = current.secret_hash = ""
        current.granted = []
        current.state = PENDING
        current.save()
        return None
    if current is None:
        current = PullCredential(workspace=workspace, registry=registry)
    current.upstream_id = str(applied.robot.id)
    current.username = applied.robot.name
    if applied.secret:
        current.set_secret(applied.secret)
    current.granted = list(applied.projects)
    if not settled:
        current.state = PENDING
        current.save()
        return None
    current.state = DONE
    current.error = ""
    current.attempts = 0
    current.reconciled = timezone.now()
    current.save()
    logger.info(
        "Pull credential of %s on %s: pull on %s%s",
        workspace.name,
        registry.name,
        ", ".join(applied.projects),
        f" ({'; '.join(actions)})" if actions else "",
    )
    return Outcome(workspace.name, registry.name, DONE, granted=list(applied.projects), actions=actions)


def _fail(workspace: Workspace, registry: Registry, message: str, code: str, actions: list[str]) -> Outcome:
    """Keep what was confirmed, say why it failed, count the attempt."""
    with transaction.atomic():
        if Workspace.objects.filter(pk=workspace.pk).exists():
            credential, _ = PullCredential.objects.select_for_update().get_or_create(
                workspace=workspace, registry=registry
            )
            PullCredential.objects.filter(pk=credential.pk).update(
                state=FAILED, error=message, attempts=F("attempts") + 1, updated=timezone.now()
            )
    logger.warning("Pull credential of %s on %s failed: %s", workspace.name, registry.name, message)
    return Outcome(workspace.name, registry.name, FAILED, error=message, code=code, actions=actions)


def _delete_quietly(
    registry: Registry, robot_ids: list[int], connection: Connection | None = None
) -> list[str]:
    """Delete robots; return the errors (logged, never raised)."""
    errors = []
    try:
        with _client(registry, connection) as harbor:
            for robot_id in robot_ids:
                harbor.delete_robot(robot_id)
                logger.info("Deleted robot %s on %s", robot_id, registry.name)
    except (RegistryError, DecryptionError) as error:
        errors.append(str(error))
        logger.warning(
            "Robots %s on %s were not deleted: %s (the periodic reconcile retries)",
            robot_ids,
            registry.name,
            error,
        )
    return errors


# Periodic run -------------------------------------------------------------------------------


def managed_registries():
    return Registry.objects.filter(
        kind__in=Registry.kinds_supporting("robot_accounts"), scope=Registry.Scope.PLATFORM, is_demo=False
    )


def pairs_to_check(registries=None) -> list[tuple[int, int]]:
    """Every pair with a credential, and every pair the access rule says needs one."""
    registries = managed_registries() if registries is None else registries
    pairs = set(
        PullCredential.objects.filter(registry__in=registries).values_list("workspace_id", "registry_id")
    )
    pairs |= set(
        access.granting_bindings(healthy_only=False)
        .filter(space__registry__in=registries)
        .values_list("workspace_id", "space__registry_id")
    )
    return sorted(pairs)


def reconcile_all(
    *, verify_secret: bool = True, workspaces=None, registries=None, sweep: bool = True
) -> list[Outcome]:
    """The periodic job: every pair (optionally only some), then leftover robots.

    A registry that turns out unreachable is not asked again for its other pairs in this run:
    they are marked failed with the same reason.
    """
    registries = [
        r for r in (managed_registries() if registries is None else registries) if manages_robots(r)
    ]
    pairs = pairs_to_check(registries)
    if workspaces is not None:
        wanted = {workspace.pk for workspace in workspaces}
        pairs = [pair for pair in pairs if pair[0] in wanted]
    by_id = Workspace.objects.in_bulk({w for w, _ in pairs})
    pairs = [pair for pair in pairs if pair[0] in by_id]  # a workspace deleted meanwhile
    registry_by_id = {registry.pk: registry for registry in registries}
    ordered = sorted(pairs, key=lambda p: (registry_by_id[p[1]].name, by_id[p[0]].name))
    down: dict[int, tuple[str, str]] = {}
    outcomes = []
    for workspace_id, registry_id in ordered:
        workspace, registry = by_id[workspace_id], registry_by_id[registry_id]
        if registry_id in down:
            message, code = down[registry_id]
            outcomes.append(_fail(workspace, registry, message, code, []))
            continue
        outcome = reconcile((workspace, registry), verify_secret=verify_secret)
        if outcome.failed and outcome.code in {Unreachable.code, "timeout"}:
            down[registry_id] = (outcome.error, outcome.code)
        outcomes.append(outcome)
    if sweep and workspaces is None:
        for registry in sorted(registries, key=lambda r: r.name):
            if registry.pk not in down:
                outcomes.extend(sweep_orphans(registry))
                outcomes.extend(_sweep_login_robots(registry))
    return outcomes


def sweep_orphans(registry: Registry) -> list[Outcome]:
    """Delete this Wharf's robots whose workspace no longer exists (deletion missed)."""
    if not manages_robots(registry):
        return []
    outcomes = []
    try:
        with _client(registry) as harbor:
            robots = [
                r
                for r in harbor.iter_robots(f"name=~{ROBOT_NAME_PREFIX}")
                if owned_workspace_id(r) is not None
            ]
            existing = set(
                Workspace.objects.filter(pk__in={owned_workspace_id(r) for r in robots}).values_list(
                    "pk", flat=True
                )
            )
            credentials = PullCredential.objects.filter(registry=registry)
            known = set(credentials.values_list("upstream_id", flat=True)) | set(
                credentials.values_list("previous_upstream_id", flat=True)
            )
            for robot in robots:
                if owned_workspace_id(robot) in existing or str(robot.id) in known:
                    continue
                harbor.delete_robot(robot.id)
                logger.info("Deleted leftover robot %s on %s", robot.name, registry.name)
                outcomes.append(
                    Outcome(
                        f"(deleted workspace {owned_workspace_id(robot)})",
                        registry.name,
                        "removed",
                        actions=[f"deleted leftover robot {robot.name}"],
                    )
                )
    except (RegistryError, DecryptionError) as error:
        outcomes.append(Outcome("(leftover robots)", registry.name, FAILED, error=str(error)))
    return outcomes


def _sweep_login_robots(registry: Registry) -> list[Outcome]:
    """Delete this Wharf's login-command robots no working login command holds: expired,
    revoked, or whose deletion was missed."""
    try:
        names = sweep_leftover_login_robots(registry)
    except (RegistryError, DecryptionError) as error:
        return [Outcome("(login robots)", registry.name, FAILED, error=str(error))]
    return [
        Outcome("(login command)", registry.name, "removed", actions=[f"deleted leftover robot {name}"])
        for name in names
    ]


# Login-command robots (made and revoked by registries.login_commands) -----------------------

LOGIN_ROBOT_PREFIX = "wharf-login-"


def login_robot_description(credential: LoginCredential) -> str:
    return (
        f"Login command of Wharf user {credential.user.get_username()} (login {credential.pk}). "
        f"Managed by Wharf {owner_tag()}: deleted when it expires."
    )


_OWNED_LOGIN = re.compile(r"\(login (\d+)\)\. Managed by Wharf ([0-9a-f]{12})")


def owned_login_id(robot) -> int | None:
    """The login id of a login robot this Wharf made, or None for any other robot."""
    match = _OWNED_LOGIN.search(robot.description)
    if match is None or match.group(2) != owner_tag():
        return None
    return int(match.group(1))


def sweep_leftover_login_robots(registry: Registry) -> list[str]:
    """Delete this Wharf's login robots on ``registry`` that no working login command holds
    (the row is gone, ended, or never got the robot): returns their names."""
    if not manages_robots(registry):
        return []
    deleted = []
    with _client(registry) as harbor:
        mine = [(robot, owned_login_id(robot)) for robot in harbor.iter_robots(f"name=~{LOGIN_ROBOT_PREFIX}")]
        mine = [(robot, login_id) for robot, login_id in mine if login_id is not None]
        working = {
            (pk, upstream_id)
            for pk, upstream_id in LoginCredential.objects.filter(
                pk__in=[login_id for _robot, login_id in mine],
                registry=registry,
                revoked__isnull=True,
                expires__gt=timezone.now(),
            ).values_list("pk", "upstream_id")
        }
        # A row still being created has no robot id yet: keep its robot until it has one.
        creating = set(
            LoginCredential.objects.filter(
                pk__in=[login_id for _robot, login_id in mine], upstream_id="", expires__gt=timezone.now()
            ).values_list("pk", flat=True)
        )
        for robot, login_id in mine:
            if (login_id, str(robot.id)) in working or login_id in creating:
                continue
            harbor.delete_robot(robot.id)
            deleted.append(robot.name)
            logger.info("Deleted leftover login robot %s on %s", robot.name, registry.name)
    return deleted


# Rotation -----------------------------------------------------------------------------------


def rotate(
    credential: PullCredential, actor=None, *, overlap: int | None = None, reason: str = ""
) -> Outcome:
    """A new secret for the workspace's robot on this Harbor.

    With an ``overlap`` (seconds; default WHARF_CREDENTIAL_OVERLAP), a second robot with the
    same permissions becomes the credential and the old robot keeps working until the window
    ends (``retire_expired`` deletes it); a previous robot still in its window is deleted first.
    Without one, Harbor generates a new secret for the robot itself and the old stops at once.
    Without a robot yet, or with nothing to pull, this is a reconcile.
    """
    overlap = settings.WHARF_CREDENTIAL_OVERLAP if overlap is None else overlap
    credential = (
        PullCredential.objects.select_related("workspace", "registry").filter(pk=credential.pk).first()
    )
    if credential is None:
        return Outcome("", "", "removed", error="The credential no longer exists.")
    workspace, registry = credential.workspace, credential.registry
    if not manages_robots(registry):
        return Outcome(workspace.name, registry.name, "skipped", error=skip_reason(registry))
    desired = desired_projects(workspace, registry)
    if not credential.upstream_id.isdigit() or not desired:
        return reconcile(credential)
    if overlap <= 0:
        return _rotate_in_place(credential, actor, reason)
    started_from, actions = credential.upstream_id, []
    try:
        with _client(registry) as harbor:
            if credential.previous_upstream_id.isdigit():
                harbor.delete_robot(int(credential.previous_upstream_id))
                actions.append(f"deleted the previous robot {credential.previous_username} early")
            robot = _create(
                harbor,
                workspace,
                _free_name(workspace, credential.username),
                desired,
                robot_description(workspace),
                actions,
            )
    except RegistryError as error:
        return _fail(workspace, registry, error.message, error.code, actions)
    except DecryptionError as error:
        return _fail(
            workspace, registry, f"The registry's password cannot be decrypted: {error}", "decrypt", actions
        )
    now = timezone.now()
    with transaction.atomic():
        current = PullCredential.objects.select_for_update().filter(pk=credential.pk).first()
        if current is None or current.upstream_id != started_from:
            transaction.on_commit(partial(_delete_quietly, registry, [robot.id]))
            return Outcome(
                workspace.name,
                registry.name,
                FAILED,
                code="busy",
                error="The credential changed during the rotation; retry.",
            )
        current.workspace, current.registry = workspace, registry
        current.previous_username, current.previous_upstream_id = current.username, started_from
        current.previous_secret_hash = current.secret_hash
        current.previous_valid_until = now + dt.timedelta(seconds=overlap)
        current.upstream_id, current.username = str(robot.id), robot.name
        current.set_secret(robot.secret)
        current.granted = desired
        current.error, current.attempts = "", 0
        current.rotated = current.reconciled = now
        # A binding changed while the robot was made: both robots get it on the next reconcile.
        current.state = DONE if desired_projects(workspace, registry) == desired else PENDING
        current.save()
        record_rotation(actor, current, reason)
        if current.state == PENDING:
            transaction.on_commit(partial(_enqueue, registry.pk, [workspace.pk]), robust=True)
        transaction.on_commit(
            partial(_schedule_retirement, current.pk, current.previous_valid_until), robust=True
        )
    actions.append(
        f"rotated: {robot.name} is the credential, {current.previous_username} works "
        f"until {current.previous_valid_until:%Y-%m-%d %H:%M:%S %Z}"
    )
    return Outcome(workspace.name, registry.name, current.state, granted=list(desired), actions=actions)


def _rotate_in_place(credential: PullCredential, actor, reason: str) -> Outcome:
    """Have Harbor generate a new secret for the robot and store it (the old one stops working)."""
    workspace, registry = credential.workspace, credential.registry
    started_from = credential.upstream_id
    try:
        with _client(registry) as harbor:
            secret = harbor.refresh_robot_secret(int(started_from))
    except RegistryError as error:
        return _fail(workspace, registry, error.message, error.code, [])
    with transaction.atomic():
        current = PullCredential.objects.select_for_update().filter(pk=credential.pk).first()
        if current is None or current.upstream_id != started_from:
            return Outcome(
                workspace.name,
                registry.name,
                FAILED,
                code="busy",
                error="The credential changed during the rotation; retry.",
            )
        current.workspace, current.registry = workspace, registry
        current.set_secret(secret)
        current.rotated = timezone.now()
        current.save(update_fields=["secret_encrypted", "secret_hash", "rotated", "updated"])
        record_rotation(actor, current, reason)
    return Outcome(
        workspace.name,
        registry.name,
        current.state,
        granted=list(current.granted),
        actions=["rotated the secret"],
    )


def rotate_secret(credential: PullCredential, actor, reason: str = "") -> Outcome:
    """Rotate with no overlap: the old secret is refused from now on."""
    return rotate(credential, actor, overlap=0, reason=reason)


def _schedule_retirement(credential_id: int, when) -> None:
    """Where the task backend can run a task later, end the window on time; the periodic
    ``reconcile_credentials`` ends it otherwise (and catches any this one missed)."""
    retire_previous_credential_task = background.task("retire_previous_credential_task")
    if retire_previous_credential_task.get_backend().supports_defer:
        retire_previous_credential_task.using(run_after=when).enqueue(credential_id)


def retire_previous(credential: PullCredential) -> Outcome | None:
    """End an overlap window that is over: delete the previous robot (Harbor) and forget the
    previous secret. None when there is nothing to end (yet)."""
    credential = (
        PullCredential.objects.select_related("workspace", "registry").filter(pk=credential.pk).first()
    )
    if credential is None or credential.previous_valid_until is None or credential.previous_valid():
        return None
    workspace, registry = credential.workspace, credential.registry
    previous_id, ended = credential.previous_upstream_id, credential.previous_valid_until
    actions = []
    if previous_id.isdigit() and manages_robots(registry):
        errors = _delete_quietly(registry, [int(previous_id)])
        if errors:
            return Outcome(
                workspace.name,
                registry.name,
                FAILED,
                error=errors[0],
                actions=[f"the previous robot {credential.previous_username} is still there"],
            )
        actions.append(f"deleted the previous robot {credential.previous_username}: its overlap ended")
    # Unless a rotation started another window meanwhile.
    PullCredential.objects.filter(
        pk=credential.pk, previous_upstream_id=previous_id, previous_valid_until=ended
    ).update(
        previous_username="",
        previous_upstream_id="",
        previous_secret_hash="",
        previous_valid_until=None,
        updated=timezone.now(),
    )
    return Outcome(
        workspace.name,
        registry.name,
        DONE,
        granted=list(credential.granted),
        actions=actions or ["the previous secret's overlap ended"],
    )


def retire_expired(*, workspaces=None, registries=None) -> list[Outcome]:
    """Every overlap window that is over (the periodic run), optionally of some only."""
    ended = PullCredential.objects.filter(previous_valid_until__lte=timezone.now())
    if workspaces is not None:
        ended = ended.filter(workspace__in=workspaces)
    if registries is not None:
        ended = ended.filter(registry__in=registries)
    ended = ended.order_by("registry__name", "workspace__name")
    return [outcome for credential in ended if (outcome := retire_previous(credential)) is not None]


# Hooks: called by the services inside their transaction -------------------------------------


def _enqueue(registry_id: int, workspace_ids: list[int]) -> None:
    for workspace_id in workspace_ids:
        background.task("reconcile_credentials_task").enqueue(workspace_id, registry_id)


def changed(registry: Registry, workspace_ids, *, may_grant: bool) -> None:
    """The access of ``workspace_ids`` to ``registry`` changed: mark their credentials pending
    now (same transaction), reconcile them once the change commits.

    ``may_grant``: the change can give access (a bind to a private space, a space turned
    private), so a credential is created for workspaces that have none yet.
    """
    ids = sorted(set(workspace_ids))
    if not ids or not manages_robots(registry):
        return
    PullCredential.objects.filter(registry=registry, workspace_id__in=ids).update(
        state=PENDING, updated=timezone.now()
    )
    if may_grant:
        PullCredential.objects.bulk_create(
            [PullCredential(workspace_id=pk, registry=registry, state=PENDING) for pk in ids],
            ignore_conflicts=True,
        )
    transaction.on_commit(partial(_enqueue, registry.pk, ids), robust=True)


def bindings_changed(space: RegistrySpace, added=(), removed=()) -> None:
    # Read again under the caller's lock: the object the caller holds may be older.
    space = RegistrySpace.objects.select_related("registry").get(pk=space.pk)
    private = space.visibility == RegistrySpace.Visibility.PRIVATE
    registry = space.registry
    if private and added:
        changed(registry, [w.pk for w in added], may_grant=True)
    if private and removed:
        changed(registry, [w.pk for w in removed], may_grant=False)


def visibility_changed(space: RegistrySpace) -> None:
    bound = list(SpaceBinding.objects.filter(space=space).values_list("workspace_id", flat=True))
    changed(space.registry, bound, may_grant=space.visibility == RegistrySpace.Visibility.PRIVATE)


def space_deleting(space: RegistrySpace) -> None:
    """Before the space (and its bindings) go."""
    bound = list(SpaceBinding.objects.filter(space=space).values_list("workspace_id", flat=True))
    changed(space.registry, bound, may_grant=False)


def _doomed_robots(credentials) -> dict[int, list[int]]:
    robots: dict[int, list[int]] = {}
    for registry_id, *upstream_ids in credentials.values_list(
        "registry_id", "upstream_id", "previous_upstream_id"
    ):
        for upstream_id in upstream_ids:
            if upstream_id.isdigit():
                robots.setdefault(registry_id, []).append(int(upstream_id))
    return robots


def workspace_deleting(workspace: Workspace) -> None:
    """Before the workspace (and, by cascade, its credentials) go: delete its robots on commit."""
    credentials = PullCredential.objects.filter(workspace=workspace, registry__in=managed_registries())
    for registry_id, robot_ids in _doomed_robots(credentials).items():
        transaction.on_commit(partial(_enqueue_deletion, registry_id, robot_ids, None), robust=True)


def registry_removing(registry: Registry) -> None:
    """Before the registry goes: delete its robots on commit, with the connection captured now
    (the password stays encrypted in the task's arguments)."""
    if not manages_robots(registry):
        return
    credentials = PullCredential.objects.filter(registry=registry)
    robot_ids = _doomed_robots(credentials).get(registry.pk, [])
    if not robot_ids:
        return
    captured = {
        "name": registry.name,
        "kind": registry.kind,
        "url": registry.url,
        "username": registry.username,
        "password_encrypted": registry.password_encrypted,
        "verify_tls": registry.verify_tls,
        "ca_bundle": registry.ca_bundle,
    }
    transaction.on_commit(partial(_enqueue_deletion, registry.pk, robot_ids, captured), robust=True)


def _enqueue_deletion(registry_id: int, robot_ids: list[int], captured: dict | None) -> None:
    background.task("delete_robots_task").enqueue(registry_id, robot_ids, captured)


def delete_robots(registry_id: int, robot_ids: list[int], captured: dict | None = None) -> list[str]:
    """The deletion task's work: the registry from the database, or as captured before removal."""
    if captured is None:
        registry = Registry.objects.filter(pk=registry_id).first()
        if registry is None or not manages_robots(registry):
            return []
        return _delete_quietly(registry, robot_ids)
    registry = Registry(
        pk=registry_id,
        name=captured["name"],
        kind=captured["kind"],
        url=captured["url"],
        username=captured["username"],
        password_encrypted=captured["password_encrypted"],
        verify_tls=captured["verify_tls"],
        ca_bundle=captured["ca_bundle"],
    )
    try:
        connection = registry.connection(background=True)
    except DecryptionError as error:
        logger.warning(
            "Robots %s on removed registry %s were not deleted: %s", robot_ids, registry.name, error
        )
        return [str(error)]
    return _delete_quietly(registry, robot_ids, connection)


# The Registry space page --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CredentialStatus:
    """Where a workspace's robot stands, as the Registry space rows show it (never the secret)."""

    pk: int
    workspace_id: int
    state: str
    error: str
    attempts: int


def credentials_by_workspace(registry: Registry, workspace_ids=None) -> dict[int, CredentialStatus]:
    """The registry's credentials' status in one query of plain rows, cached on the registry
    object for one page.

    Only what the page shows is read: never the secret, and, when the view passes
    ``workspace_ids`` first (the workspaces bound on the page), only theirs: a registry can
    hold a credential for each of thousands of workspaces, and reading them all made the
    Registry space page several times slower (bench/pages_bench.py). Plain rows, not models:
    building models cost the page about a millisecond more (bench/space_row_profile.py).
    """
    cached = getattr(registry, "_wharf_credentials", None)
    if cached is None:
        if manages_robots(registry):
            # A dict needs no order (Meta's ordering joins two tables to sort).
            rows = PullCredential.objects.order_by()
            if workspace_ids is None:
                rows = rows.filter(registry=registry)
            else:
                # By workspace alone, the other registries' rows dropped here: asked for both,
                # PostgreSQL walked all of the registry's credentials (thousands) to keep a
                # page's few dozen (bench/pages_bench.py), where the workspaces' index finds
                # them directly.
                rows = rows.filter(workspace_id__in=workspace_ids)
            cached = {
                row[1]: CredentialStatus(*row[:5])
                for row in rows.values_list("id", "workspace_id", "state", "error", "attempts", "registry_id")
                if row[5] == registry.pk
            }
        else:
            cached = {}
        registry._wharf_credentials = cached
    return cached


def propagation_status(registry: Registry, space, bound) -> dict | None:
    """Where each bound workspace's robot stands for this space: None when no robot is
    involved (public space, demo, not a platform Harbor, nothing bound).

    Reads the credentials cached by ``credentials_by_workspace`` (one query per page), so the
    page's query count stays constant.
    """
    if space.is_public or not bound or not manages_robots(registry):
        return None
    credentials = credentials_by_workspace(registry)
    status = {"done": [], "pending": [], "failed": []}
    for workspace in bound:
        credential = credentials.get(workspace.pk)
        state = credential.state if credential is not None else PullCredential.State.PENDING
        status[state].append({"workspace": workspace, "credential": credential})
    status["all_done"] = not status["pending"] and not status["failed"]
    return status
