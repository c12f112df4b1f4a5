"""The background tasks that the work itself queues, looked up by name.

registries.tasks defines every task and imports the modules whose work the tasks run (sync,
robots, login_commands). Those modules, and the services, queue a follow-up task (reconcile a
robot after a change commits, end an overlap window later) through ``task(name)`` rather than
by importing registries.tasks back, so the imports point one way: tasks -> the work -> here.
RegistriesConfig.ready() imports registries.tasks, which registers them.
"""

from django.tasks import Task

_queued_by_the_work: dict[str, Task] = {}


def register(task: Task) -> Task:
    _queued_by_the_work[task.name] = task
    return task


def task(name: str) -> Task:
    return _queued_by_the_work[name]
