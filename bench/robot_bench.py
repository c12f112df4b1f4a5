"""Harbor robots: the time from an unbind click to the robot's first denied pull.

    .venv/bin/python bench/robot_bench.py             # 20 cycles per task backend
    .venv/bin/python bench/robot_bench.py --quick     # 5 cycles, to check the script works
    .venv/bin/python bench/robot_bench.py --record    # also write the table into bench/RESULTS.md

Creates (and afterwards drops) its own database ``wharf_robot_bench`` on ``--postgres``
(default ``postgres://postgres@127.0.0.1:5432``) and migrates it. The Harbor double
(``registries/tests/harbor_double.py``) runs in this process, over real HTTP on loopback.

Each cycle, as the Admin through Django's test ``Client`` (the whole middleware stack and the
Bind/unbind dialog's view): bind workspace ``payments`` to the private space ``team-a`` and wait
until its robot can pull ``team-a/app:1.0``; then the clock starts, the unbind is posted, and the
double is asked every 10 ms, as the robot (``GET /v2/team-a/app/manifests/1.0`` with its Basic
credentials), until it answers 401. The figure is that wall time. A second private space
(``team-b``) stays bound throughout, so the robot lives on and each unbind is a permission
update (GET + PUT of the robot), the common case.

Two task backends:

* ``immediate`` (tests, ``make run``): the reconcile runs in the request, on commit, so the
  robot has lost access when the POST returns.
* ``db worker`` (production: django-tasks-db and ``manage.py db_worker``, started here as a
  child process with ``--interval``): the reconcile waits for the worker's next poll of the
  task table, so the figure is about the polling interval plus the work.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "wharf_robot_bench"
SECTION = "## Harbor robots (issue 6)"
TARGET_SECONDS = 10.0


def psql(server_url: str, sql: str) -> str:
    return subprocess.run(["psql", f"{server_url}/postgres", "-XAtqc", sql], check=True,
                          capture_output=True, text=True).stdout.strip()


def record(text: str) -> None:
    """Put ``text`` in bench/RESULTS.md as this section, leaving the other sections alone."""
    path = ROOT / "bench" / "RESULTS.md"
    current = path.read_text() if path.exists() else "# Benchmark results\n"
    lines = current.splitlines()
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = text.rstrip("\n").splitlines() + ([""] if end < len(lines) else [])
    else:
        lines += ["", *text.rstrip("\n").splitlines()]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")


def wait_for(check, timeout: float, every: float = 0.01) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"not reached within {timeout} s")
        time.sleep(every)
    return time.perf_counter() - started


def cycles(client, double, data, count: int, timeout: float) -> list[float]:
    from django.urls import reverse

    from registries.models import PullCredential

    registry, space, workspace = data["registry"], data["space"], data["workspace"]
    dialog = reverse("registries:space-bindings", args=[registry.pk, space.pk])
    htmx = {"HX-Request": "true"}

    def credentials():
        credential = PullCredential.objects.filter(workspace=workspace, registry=registry).first()
        if credential is None or not credential.secret_encrypted:
            return None
        return credential.username, credential.get_secret()

    def status() -> int:
        found = credentials()
        return double.can_pull(*found, "team-a/app", "1.0") if found else 0

    timings = []
    for _ in range(count):
        assert client.post(dialog, {"workspaces": [workspace.pk]}, headers=htmx).status_code == 204
        wait_for(lambda: status() == 200, timeout)
        robot = credentials()
        started = time.perf_counter()
        unbound = client.post(dialog, {"shown": [workspace.pk], "workspaces": []}, headers=htmx)
        assert unbound.status_code == 204
        while double.can_pull(*robot, "team-a/app", "1.0") != 401:
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"the robot still pulls {timeout} s after the unbind")
            time.sleep(0.01)
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name")
    parser.add_argument("--cycles", type=int, default=20, help="bind/unbind cycles per backend")
    parser.add_argument("--interval", type=float, default=1.0,
                        help="db_worker's polling interval in seconds (its default is 1)")
    parser.add_argument("--quick", action="store_true", help="5 cycles per backend")
    parser.add_argument("--record", action="store_true",
                        help=f"write the results into bench/RESULTS.md ({SECTION!r})")
    options = parser.parse_args()
    if options.quick:
        options.cycles = 5

    server_url = options.postgres.rstrip("/")
    psql(server_url, f'DROP DATABASE IF EXISTS "{DATABASE}"')
    psql(server_url, f'CREATE DATABASE "{DATABASE}"')
    postgres_version = psql(server_url, "SHOW server_version").split()[0]
    from cryptography.fernet import Fernet

    env = {
        "DATABASE_URL": f"{server_url}/{DATABASE}",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "SECRET_KEY": "robot-bench-" + Fernet.generate_key().decode(),
        "WHARF_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import override_settings

    from portal.permissions import ADMIN_GROUP
    from registries import services
    from registries.models import Registry, RegistrySpace
    from registries.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER, HarborDouble
    from workspaces.models import Workspace

    results: dict[str, list[float]] = {}
    worker = None
    try:
        call_command("migrate", verbosity=0)
        with HarborDouble() as double:
            double.add_repository("team-a", "app", tags=["1.0"])
            double.add_repository("team-b", "app", tags=["1.0"])
            admin = User.objects.create_user("bench-admin", password="x")
            admin.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
            workspace = Workspace.objects.create(name="payments")
            registry = Registry(name="harbor-main", kind="harbor", url=double.url, username=ADMIN_USER)
            registry.set_password(ADMIN_PASSWORD)
            registry.save()
            space = RegistrySpace.objects.create(registry=registry, name="team-a", visibility="private")
            other = RegistrySpace.objects.create(registry=registry, name="team-b", visibility="private")
            services.change_bindings(other, admin, add=[workspace])  # immediate backend: robot made
            data = {"registry": registry, "space": space, "workspace": workspace}
            client = Client()
            client.force_login(admin)

            immediate = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
            with override_settings(TASKS=immediate):
                cycles(client, double, data, 2, 30)  # warm-up
                results["immediate"] = cycles(client, double, data, options.cycles, 30)

            database = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--interval", str(options.interval)],
                cwd=ROOT, env={**os.environ, "WHARF_TASKS_BACKEND": "django_tasks_db.DatabaseBackend"},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
            with override_settings(TASKS=database):
                cycles(client, double, data, 1, 60)  # the worker's start-up
                results["db worker"] = cycles(client, double, data, options.cycles, 60)
            assert not double.crashes, double.crashes
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)
        from django.db import connections

        connections.close_all()
        psql(server_url, f'DROP DATABASE IF EXISTS "{DATABASE}"')

    rows = ["| task backend | cycles | median | p90 | max | target |", "|---|---:|---:|---:|---:|---|"]
    for backend, timings in results.items():
        ordered = sorted(timings)
        p90 = ordered[max(0, int(round(0.9 * len(ordered))) - 1)]
        label = backend if backend == "immediate" else f"db worker (--interval {options.interval:g})"
        verdict = "met" if max(timings) < TARGET_SECONDS else "MISSED"
        rows.append(f"| {label} | {len(timings)} | {statistics.median(timings) * 1000:.0f} ms | "
                    f"{p90 * 1000:.0f} ms | {max(timings) * 1000:.0f} ms | "
                    f"< {TARGET_SECONDS:g} s: {verdict} |")
    table = "\n".join(rows)
    machine = (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
               f"Django {django.get_version()}, PostgreSQL {postgres_version} on loopback")
    print(f"{machine}\n\n{table}")
    if options.record:
        record("\n".join([
            SECTION, "",
            f"`.venv/bin/python bench/robot_bench.py --record`, {datetime.date.today().isoformat()}, "
            f"{machine}. Time from the Admin's unbind POST (the Bind/unbind dialog, through the "
            "whole middleware stack) to the first pull of the unbound space that the Harbor double "
            "refuses to the workspace's robot (polled every 10 ms). The workspace keeps another "
            "private space, so each unbind is a permission update (GET + PUT of the robot).", "",
            table, "",
        ]))
        print(f"\nwritten to {ROOT / 'bench' / 'RESULTS.md'}", file=sys.stderr)


if __name__ == "__main__":
    main()
