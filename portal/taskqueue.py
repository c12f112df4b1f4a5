"""Background tasks left behind by a worker that died.

django-tasks-db claims a task by marking its row RUNNING (``started_at``, and the worker's id
appended to ``worker_ids``) and keeps no lease or heartbeat: a worker killed in the middle of a
task (SIGKILL, out of memory, a node lost) leaves the row RUNNING for ever, and no worker runs
it again. ``requeue_stale`` (``manage.py requeue_stale_tasks``, run by a scheduler) takes a task
RUNNING for longer than ``WHARF_TASK_STALE_AFTER`` as abandoned and puts the same row back to
READY. The same row rather than a fresh copy: its id stays valid for anyone holding its result,
``enqueued_at`` keeps counting in ``wharf_tasks_oldest_ready_age_seconds``, and ``worker_ids``
keeps one entry per attempt (``TaskResult.attempts``). A task that was abandoned
``MAX_ATTEMPTS`` times is marked FAILED instead, with the reason as its error, so a task that
keeps killing its worker is not retried for ever.

Running a task again is safe because every Wharf task is idempotent (registries/tasks.py):
a sync, a robot reconcile and a robot deletion bring things to the state the database asks for,
and a rotation that already happened is not repeated. A worker that is alive but slower than the
limit would run its task a second time alongside the retry; the same property makes that
harmless, and the limit must exceed the longest sync so that it does not happen in practice.

Several runs at once (two CronJob pods, a manual run) are safe: each row changes with one
conditional UPDATE (still RUNNING, still the same start), so exactly one run re-queues it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal import metrics

logger = logging.getLogger("wharf.tasks")

MAX_ATTEMPTS = 3


class TaskAbandoned(Exception):
    """The error recorded on a task given up after its workers died ``MAX_ATTEMPTS`` times."""


@dataclass(frozen=True)
class Stale:
    id: str
    task_path: str
    args_kwargs: dict
    started_at: datetime
    worker_ids: list

    @property
    def name(self) -> str:
        return self.task_path.rsplit(".", 1)[-1]

    def describe(self) -> str:
        return f"{self.task_path}{tuple(self.args_kwargs.get('args', []))} (task {self.id})"


def find_stale(now: datetime | None = None) -> list[Stale]:
    """Tasks RUNNING since before ``now - WHARF_TASK_STALE_AFTER``, oldest first."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WHARF_TASK_STALE_AFTER)
    rows = (
        DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
        .order_by("started_at")
        .values_list("id", "task_path", "args_kwargs", "started_at", "worker_ids")
    )
    return [Stale(str(row[0]), *row[1:]) for row in rows]


def requeue(stale: list[Stale], now: datetime | None = None) -> list[tuple[Stale, str]]:
    """Re-queue (or, past ``MAX_ATTEMPTS``, fail) each task found stale; returns those this
    call changed with ``"requeued"`` or ``"failed"``. A task another run already dealt with, or
    that finished meanwhile, is left out."""
    now = now or timezone.now()
    done = []
    for task in stale:
        # Only while the row is exactly as found: RUNNING, from the same start.
        same = DBTaskResult.objects.filter(
            pk=task.id, status=TaskResultStatus.RUNNING, started_at=task.started_at
        )
        seconds = (now - task.started_at).total_seconds()
        if len(task.worker_ids) >= MAX_ATTEMPTS:
            reason = (
                f"Abandoned: its worker stopped while running it, {len(task.worker_ids)} times "
                f"(workers {', '.join(task.worker_ids)}); not retried again."
            )
            changed = same.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                return_value=None,
                exception_class_path=f"{TaskAbandoned.__module__}.{TaskAbandoned.__qualname__}",
                traceback=f"{TaskAbandoned.__module__}.{TaskAbandoned.__qualname__}: {reason}\n",
            )
            outcome = "failed"
            if changed:
                logger.error(
                    "Task %s failed: running for %.0f s and %s",
                    task.describe(),
                    seconds,
                    reason[0].lower() + reason[1:],
                )
        else:
            changed = same.update(status=TaskResultStatus.READY, started_at=None)
            outcome = "requeued"
            if changed:
                logger.warning(
                    "Task %s queued again: running for %.0f s on worker %s, which stopped (attempt %d of %d)",
                    task.describe(),
                    seconds,
                    task.worker_ids[-1] if task.worker_ids else "?",
                    len(task.worker_ids),
                    MAX_ATTEMPTS,
                )
        if changed:
            metrics.task_abandoned(task.name, outcome)
            done.append((task, outcome))
    return done


def requeue_stale() -> list[tuple[Stale, str]]:
    now = timezone.now()
    return requeue(find_stale(now), now)
