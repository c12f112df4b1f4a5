"""``manage.py requeue_stale_tasks``: queue again the background tasks whose worker died.

A scheduler (cron, a Kubernetes CronJob) runs it every few minutes; several at once are safe.
See portal/taskqueue.py for what counts as abandoned and why running a task again is safe.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from portal import taskqueue


class Command(BaseCommand):
    help = (
        "Queue again the background tasks RUNNING for longer than WHARF_TASK_STALE_AFTER seconds "
        "(their worker died); a task abandoned too many times is marked failed instead."
    )

    def handle(self, *args, **options):
        done = taskqueue.requeue_stale()
        if not done:
            self.stdout.write(f"No task running for longer than {settings.WHARF_TASK_STALE_AFTER} s.")
            return
        for task, outcome in done:
            if outcome == "requeued":
                self.stdout.write(self.style.WARNING(f"queued again: {task.describe()}"))
            else:
                self.stdout.write(
                    self.style.ERROR(f"failed after {len(task.worker_ids)} attempts: {task.describe()}")
                )
