"""Tasks whose worker died: django-tasks-db leaves them RUNNING, ``requeue_stale_tasks`` puts
them back (portal/taskqueue.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from prometheus_client import REGISTRY

from portal import taskqueue
from portal.tests.blocking_task import wait_for_release
from registries.tasks import sync_registry_task

DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def database_backend(settings):
    settings.TASKS = DB_BACKEND
    settings.WHARF_TASK_STALE_AFTER = 1800


def abandoned(task: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("wharf_tasks_abandoned_total", {"task": task, "outcome": outcome}) or 0.0


def running_since(seconds: float, *workers: str) -> DBTaskResult:
    """A sync task claimed by ``workers`` (the last one now running it) ``seconds`` ago."""
    row = DBTaskResult.objects.get(pk=sync_registry_task.enqueue(1).id)
    for worker in workers:
        row.claim(worker)
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=timezone.now() - timedelta(seconds=seconds))
    row.refresh_from_db()
    return row


def requeue_command() -> str:
    output = StringIO()
    call_command("requeue_stale_tasks", stdout=output)
    return output.getvalue()


# -- a real worker, killed ------------------------------------------------------------------


def database_url() -> str:
    conf = connection.settings_dict
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return (
        f"postgres://{conf['USER']}{password}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}"
        f"/{conf['NAME']}"
    )


def start_worker(worker_id: str, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "WHARF_TESTING": "1",
        "DEBUG": "0",
        "WHARF_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.1",
            "--worker-id",
            worker_id,
            *extra,
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until(condition, seconds: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_task_whose_worker_was_killed_is_queued_again_and_a_fresh_worker_completes_it(
    tmp_path: Path, settings
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "the worker is another process, which cannot see SQLite's in-memory test "
            "database; CI runs this on PostgreSQL"
        )
    settings.TASKS = DB_BACKEND
    settings.WHARF_TASK_STALE_AFTER = 2
    task_id = wait_for_release.enqueue(str(tmp_path)).id
    doomed = start_worker("doomed")
    try:
        wait_until(lambda: any(tmp_path.glob("started-*")), what="the first worker to start the task")
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)
    assert doomed.returncode == -signal.SIGKILL

    row = DBTaskResult.objects.get(pk=task_id)
    assert (row.status, row.worker_ids) == (TaskResultStatus.RUNNING, ["doomed"])
    wait_until(lambda: timezone.now() - row.started_at > timedelta(seconds=2.2), what="the stale time")
    row.refresh_from_db()
    assert row.status == TaskResultStatus.RUNNING, "nothing else ever picks it up"

    output = requeue_command()

    assert (
        f"queued again: portal.tests.blocking_task.wait_for_release('{tmp_path}',) (task {task_id})" in output
    )
    row.refresh_from_db()
    assert (row.status, row.started_at, row.worker_ids) == (TaskResultStatus.READY, None, ["doomed"])

    (tmp_path / "release").touch()
    fresh = start_worker("fresh", "--batch")
    out, _ = fresh.communicate(timeout=60)
    assert fresh.returncode == 0, out

    result = wait_for_release.get_result(task_id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"pid": fresh.pid}
    assert result.worker_ids == ["doomed", "fresh"] and result.attempts == 2
    assert requeue_command().startswith("No task running")


# -- which tasks, and how often -------------------------------------------------------------


def test_a_task_running_within_its_time_is_left_alone(db, database_backend):
    young = running_since(1790, "worker-a")
    old = running_since(1810, "worker-b")
    before = abandoned("sync_registry_task", "requeued")

    output = requeue_command()

    young.refresh_from_db()
    old.refresh_from_db()
    assert (young.status, young.started_at is not None) == (TaskResultStatus.RUNNING, True)
    assert (old.status, old.worker_ids) == (TaskResultStatus.READY, ["worker-b"])
    assert f"queued again: registries.tasks.sync_registry_task(1,) (task {old.pk})" in output
    assert str(young.pk) not in output
    assert abandoned("sync_registry_task", "requeued") == before + 1


def test_nothing_to_do_says_so_and_changes_nothing(db, database_backend):
    waiting = DBTaskResult.objects.get(pk=sync_registry_task.enqueue(1).id)

    assert requeue_command() == "No task running for longer than 1800 s.\n"
    waiting.refresh_from_db()
    assert waiting.status == TaskResultStatus.READY


def test_the_requeue_is_logged_with_the_task_and_its_dead_worker(db, database_backend, caplog):
    row = running_since(3600, "worker-gone")

    with caplog.at_level("WARNING", logger="wharf.tasks"):
        requeue_command()

    assert (
        f"Task registries.tasks.sync_registry_task(1,) (task {row.pk}) queued again: running for "
        "3600 s on worker worker-gone, which stopped (attempt 1 of 3)"
    ) in caplog.text


def test_a_task_abandoned_too_many_times_is_failed_with_the_reason(db, database_backend):
    row = running_since(3600, "w1", "w2", "w3")
    before = abandoned("sync_registry_task", "failed")

    output = requeue_command()

    assert f"failed after 3 attempts: registries.tasks.sync_registry_task(1,) (task {row.pk})" in output
    result = sync_registry_task.get_result(str(row.pk))
    assert result.status == TaskResultStatus.FAILED and result.finished_at is not None
    assert result.errors[0].exception_class is taskqueue.TaskAbandoned
    assert (
        "its worker stopped while running it, 3 times (workers w1, w2, w3); not retried again"
        in result.errors[0].traceback
    )
    assert abandoned("sync_registry_task", "failed") == before + 1


def test_a_task_that_finished_or_was_requeued_meanwhile_is_not_touched(db, database_backend):
    # One run found the stale tasks; before it got to them, another run re-queued the first
    # and the slow worker of the second finished it.
    first, second = running_since(3600, "w1"), running_since(3600, "w2")
    found = taskqueue.find_stale()
    assert {task.id for task in found} == {str(first.pk), str(second.pk)}
    assert [outcome for _task, outcome in taskqueue.requeue_stale()] == ["requeued", "requeued"]
    row = DBTaskResult.objects.get(pk=second.pk)
    row.claim("w3")
    row.set_successful({"done": True})

    assert taskqueue.requeue(found) == []

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.worker_ids) == (TaskResultStatus.READY, ["w1"])
    assert (second.status, second.worker_ids) == (TaskResultStatus.SUCCESSFUL, ["w2", "w3"])


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_time_requeue_each_task_once(database_backend):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time; CI runs this on PostgreSQL")
    rows = [running_since(3600, f"w{number}") for number in range(40)]
    before = abandoned("sync_registry_task", "requeued")
    start = threading.Barrier(2)
    outcomes: list[list] = [[], []]

    def run(number: int):
        try:
            start.wait()
            outcomes[number] = taskqueue.requeue_stale()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    requeued = [task.id for result in outcomes for task, _outcome in result]
    assert sorted(requeued) == sorted(str(row.pk) for row in rows)
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 40
    assert abandoned("sync_registry_task", "requeued") == before + 40


def test_a_stale_time_under_a_minute_stops_the_start():
    from portal.tests.test_settings import start_settings

    result = start_settings(DEBUG="1", WHARF_TASK_STALE_AFTER="5")
    assert result.returncode != 0
    assert "WHARF_TASK_STALE_AFTER must be at least 60 seconds; got 5." in result.stderr
