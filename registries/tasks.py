"""Background tasks (``django.tasks``): the immediate backend in tests and ``make run``,
django-tasks-db with ``manage.py db_worker`` in production (see ``TASKS`` in settings).

Several workers are safe: ``sync_registry`` lets only one run per registry proceed at a time and
returns the run in progress to any other (see ``registries.sync``).

Every task here is idempotent, because a task can run twice: django-tasks-db has no lease, so a
task whose worker died is queued again by ``manage.py requeue_stale_tasks`` (portal/taskqueue.py)
even if the dead worker had done some or all of its work. A sync and a robot reconcile bring
things to what the database says; deleting robots that are already gone, or ending an overlap
window already ended, changes nothing; a rotation checks whether it already happened.
"""

from __future__ import annotations

import logging

from django.tasks import TaskContext, TaskResult, task
from django.tasks.base import TaskResultStatus
from django.utils.translation import gettext as _

from registries import background, login_commands, robots
from registries.models import PullCredential, Registry, SyncRun
from registries.sync import sync_registry

logger = logging.getLogger("wharf.sync")


@task
def sync_registry_task(registry_id: int) -> dict:
    """Sync one registry by id; the return value is JSON so every task backend can store it."""
    registry = Registry.objects.filter(pk=registry_id).first()
    if registry is None:
        # Removed between "Sync now" and the worker picking the task up: nothing to do.
        logger.info("Sync of registry id %s skipped: it no longer exists", registry_id)
        return {"registry": registry_id, "sync_run": None, "result": "gone", "error": ""}
    run = sync_registry(registry)
    return {"registry": registry_id, "sync_run": run.pk, "result": run.result, "error": run.error}


def enqueue_sync(registry: Registry) -> TaskResult:
    """Queue a sync of ``registry`` ("Sync now"). With the immediate backend it has already run
    when this returns.

    Enqueued at once rather than on commit: django-tasks-db writes the task into the same
    database, so a worker cannot see it before the caller's transaction commits either.
    """
    return sync_registry_task.enqueue(registry.pk)


def sync_now(registry: Registry) -> tuple[bool, str]:
    """ "Sync now": queue the sync; (finished, failure). With the immediate backend the sync has
    run: a failure is what the registry's status now says (the words its members may read).
    With a worker it has only started, and the registry's page shows the outcome later."""
    result = enqueue_sync(registry)
    if not result.is_finished:
        return False, ""
    registry.refresh_from_db(
        fields=["status", "status_message", "status_changed", "last_sync", "last_sync_error"]
    )
    outcome = result.return_value if result.status == TaskResultStatus.SUCCESSFUL else {}
    if outcome.get("result") == SyncRun.Result.SUCCEEDED:
        return True, ""
    if outcome.get("result") == SyncRun.Result.RUNNING:
        return False, ""  # another sync of it was running: that one's outcome shows on the page
    return True, (
        registry.last_sync_error
        or registry.status_message
        or _("The sync failed; the registry's recent syncs say more.")
    )


# Harbor pull credentials (registries.robots) ----------------------------------------------


@background.register
@task
def reconcile_credentials_task(workspace_id: int, registry_id: int) -> dict:
    """Bring one (workspace, Harbor) robot in line with the access rule; enqueued on commit of
    every change that affects it, and by the Retry button."""
    from workspaces.models import Workspace

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    registry = Registry.objects.filter(pk=registry_id).first()
    if workspace is None or registry is None:
        # Deleted before the worker got here; their robots are deleted by their own hooks.
        return {"workspace": workspace_id, "registry": registry_id, "state": "gone", "error": ""}
    return robots.reconcile((workspace, registry)).as_dict()


@background.register
@task
def delete_robots_task(registry_id: int, robot_ids: list[int], captured: dict | None = None) -> dict:
    """Delete the robots of a deleted workspace, or of a removed registry (``captured`` holds
    its connection settings, password still encrypted)."""
    errors = robots.delete_robots(registry_id, robot_ids, captured)
    return {"registry": registry_id, "robots": robot_ids, "errors": errors}


@background.register
@task(takes_context=True)
def rotate_credential_task(
    context: TaskContext, credential_id: int, actor_id: int | None = None, reason: str = ""
) -> dict:
    """Rotate one Harbor pull credential with the overlap window (enqueued on commit of a
    rotation request: the page's button, the API, a member leaving the workspace)."""
    from django.contrib.auth import get_user_model

    credential = PullCredential.objects.filter(pk=credential_id).first()
    if credential is None:
        return {"credential": credential_id, "state": "gone", "error": ""}
    enqueued = context.task_result.enqueued_at
    if context.attempt > 1 and credential.rotated and enqueued and credential.rotated >= enqueued:
        # A retry after the worker died: the rotation it was asked for (or a later one) is
        # done. Rotating again would delete early the previous robot whose secret the
        # namespaces may still use during the overlap window.
        return {"credential": credential_id, "state": "unchanged", "error": ""}
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return robots.rotate(credential, actor, reason=reason).as_dict()


@background.register
@task
def retire_previous_credential_task(credential_id: int) -> dict:
    """End a rotation's overlap window (enqueued to run when it ends, where the backend can)."""
    credential = PullCredential.objects.filter(pk=credential_id).first()
    outcome = robots.retire_previous(credential) if credential is not None else None
    return outcome.as_dict() if outcome is not None else {"credential": credential_id, "state": "unchanged"}


@background.register
@task
def sweep_login_commands_task() -> dict:
    """Delete expired and revoked login commands (their Harbor robots first); enqueued to run
    when one expires, where the backend can defer."""
    deleted, left = login_commands.sweep()
    return {"deleted": deleted, "left": left}
