"""Soak and fault test: Wharf as deployed (gunicorn with 2 workers, 2 ``db_worker`` processes,
PostgreSQL, a real docker-registry on Wharf's token service, the Harbor double on real HTTP)
under steady load for ``--minutes``, with faults injected midway, then a consistency check.

    .venv/bin/python bench/soak.py                 # 10 minutes
    .venv/bin/python bench/soak.py --minutes 3     # a shorter run, to check the script works
    .venv/bin/python bench/soak.py --record        # also write the results into bench/RESULTS.md

Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``), ``docker-registry`` and ``skopeo``.
Makes (and drops) its own database ``wharf_soak``.

Load, all over HTTP to gunicorn on a loopback port:

* ``--admins`` Admins (20), each owning one workspace: every 2-6 s one binds or unbinds one of
  four spaces (two on the Harbor, two on the docker-registry) to it through the REST API, and
  every other time opens the Registry space page. Each remembers what it was told succeeded.
* ``--members`` members (10) browse Images, a repository, the Choose Image picker (private
  tab of their namespace) and its tags, every 0.5-1.5 s.
* ``--token-rate`` token requests a second (200) at ``/auth/token``: workspace credentials
  pulling bound and unbound spaces, some anonymous, some with a stale secret (401 expected).
* Every minute ``manage.py sync_registries`` and ``manage.py requeue_stale_tasks`` run, as
  CronJobs would.

Faults (times are fractions of the run): at 35 % one db_worker is killed with SIGKILL as soon
as it is running a task (waiting up to 30 s for one; the supervisor here restarts it after
5 s, as Kubernetes would); at 50 % the database goes away:
by default every connection to ``wharf_soak`` is terminated and new ones refused for 10 s (the
other databases on the server are not touched, as other jobs may share it), with
``--restart-postgres`` the PostgreSQL cluster is restarted; at 60 % the Harbor double answers
503 to everything for ``--harbor-outage`` seconds (60).

Then: load stops, the task queue drains, and the check: every binding the Admins were told
succeeded exists (and no other on their pairs); after one ``manage.py reconcile_credentials``
every robot in the Harbor double holds exactly its workspace's bound private projects; no task
is left waiting or running (a task the killed worker held is queued again by
``requeue_stale_tasks``, run after each sync with ``WHARF_TASK_STALE_AFTER`` at 60 s); a real
pull through docker-registry follows the bindings.
Reported: requests and errors by kind (errors inside a fault window are counted apart),
latency p50/p95/p99, memory (RSS) of each process after warm-up and at the end.
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
import common  # noqa: E402

DATABASE = "wharf_soak"
SECTION = "## Soak and faults (issue 12)"
PASSWORD = "soak-password-0123"
HARBOR_PROJECTS = 24
STALE_AFTER = 60
DIST_SPACES = 8
METRICS_TOKEN = "soak-metrics-token-0123456789"
PYTHON = sys.executable
BIN = Path(sys.executable).parent


# -- the Harbor double, in its own process ---------------------------------------------------


def serve_harbor() -> None:
    """``--serve-harbor``: run the double; commands on stdin: fail, ok, robots, quit."""
    sys.path.insert(0, str(common.ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from registries.kinds.harbor.tests.harbor_double import API, HarborDouble

    double = HarborDouble().start()
    for number in range(HARBOR_PROJECTS):
        double.add_repository(f"team-{number:02d}", "app", tags=["1.0", "1.1"])
    print(json.dumps({"url": double.url}), flush=True)

    def trim():
        # The double records every request for tests; a soak would only grow it.
        while True:
            time.sleep(5)
            with double.lock:
                double.requests.clear()

    threading.Thread(target=trim, daemon=True).start()
    for line in sys.stdin:
        command = line.strip()
        if command == "fail":
            double.fail_on(API, 503)
        elif command == "ok":
            double.clear_faults()
        elif command == "robots":
            with double.lock:
                robots = {
                    robot.name: {"projects": sorted(robot.readable_projects()), "disabled": robot.disable}
                    for robot in double.robots.values()
                }
            print(json.dumps(robots), flush=True)
        elif command == "quit":
            break
    double.stop()


class Harbor:
    def __init__(self):
        self.process = subprocess.Popen(
            [PYTHON, __file__, "--serve-harbor"],
            cwd=common.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = json.loads(self.process.stdout.readline())["url"]
        self.lock = threading.Lock()

    def command(self, text: str) -> str | None:
        with self.lock:
            self.process.stdin.write(text + "\n")
            self.process.stdin.flush()
            return self.process.stdout.readline() if text == "robots" else None

    def robots(self) -> dict:
        return json.loads(self.command("robots"))

    def stop(self):
        try:
            self.command("quit")
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


# -- processes -------------------------------------------------------------------------------


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Supervisor:
    """Starts the Wharf processes and restarts a worker that died, as Kubernetes would."""

    def __init__(self, env: dict, port: int, logdir: Path):
        self.env, self.port, self.logdir = env, port, logdir
        self.gunicorn: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen | None] = [None, None]
        self.worker_ids: list[str] = ["", ""]
        self.restarts = Counter()
        self.stopping = threading.Event()
        self.paused: set[int] = set()
        self.lock = threading.Lock()

    def _log(self, name: str):
        return (self.logdir / f"{name}.log").open("ab")

    def start_gunicorn(self):
        self.gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "deploy/gunicorn.conf.py", "portal.wsgi"],
            cwd=common.ROOT,
            env={**self.env, "WHARF_BIND": f"127.0.0.1:{self.port}", "WEB_CONCURRENCY": "2"},
            stdin=subprocess.DEVNULL,
            stdout=self._log("gunicorn"),
            stderr=subprocess.STDOUT,
        )

    def start_worker(self, number: int):
        self.worker_ids[number] = f"soak-{number}-{int(time.time())}"
        self.workers[number] = subprocess.Popen(
            [
                PYTHON,
                "manage.py",
                "db_worker",
                "--interval",
                "0.5",
                "--no-startup-delay",
                "--worker-id",
                self.worker_ids[number],
            ],
            cwd=common.ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log(f"worker{number}"),
            stderr=subprocess.STDOUT,
        )

    def start(self):
        self.start_gunicorn()
        for number in range(2):
            self.start_worker(number)
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self):
        while not self.stopping.wait(1):
            with self.lock:
                for number, process in enumerate(self.workers):
                    if number not in self.paused and process is not None and process.poll() is not None:
                        self.restarts[f"worker{number} exited {process.returncode}"] += 1
                        time.sleep(2)
                        self.start_worker(number)

    def kill_worker(self, number: int, restart_after: float) -> tuple[int, bool]:
        """SIGKILL the worker, in the middle of a task if it starts one within 30 s."""
        from django.db import close_old_connections
        from django.tasks import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        close_old_connections()
        deadline = time.monotonic() + 30
        busy = DBTaskResult.objects.filter(
            status=TaskResultStatus.RUNNING, worker_ids__contains=[self.worker_ids[number]]
        )
        while not busy.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with self.lock:
            self.paused.add(number)
            process = self.workers[number]
            process.send_signal(signal.SIGKILL)
            process.wait()
        time.sleep(restart_after)
        mid_task = busy.exists()
        with self.lock:
            self.start_worker(number)
            self.paused.discard(number)
        return process.pid, mid_task

    def pids(self) -> dict[str, int]:
        found = {"gunicorn master": self.gunicorn.pid}
        for number, pid in enumerate(sorted(children(self.gunicorn.pid))):
            found[f"gunicorn worker {number + 1}"] = pid
        for number, process in enumerate(self.workers):
            found[f"db_worker {number + 1}"] = process.pid
        return found

    def stop(self):
        self.stopping.set()
        for process in [*self.workers, self.gunicorn]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.gunicorn]:
            if process is not None:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    fault_errors: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    per_minute: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    fault_windows: list[tuple[float, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def in_fault(self, moment: float) -> bool:
        # A fault's effects outlast it a little: connections are re-made, clients retry.
        return any(start <= moment <= end + 5 for start, end, _name in self.fault_windows)

    def record(self, kind: str, seconds: float, error: str | None):
        moment = time.monotonic()
        minute = int((moment - self.started) // 60)
        with self.lock:
            self.latencies[kind].append(seconds)
            self.per_minute[minute]["requests"] += 1
            if error:
                target = self.fault_errors if self.in_fault(moment) else self.errors
                target[kind][error] += 1
                self.per_minute[minute]["errors"] += 1


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(stats: Stats, kind: str, client, method: str, url: str, *, ok=(200,), **kwargs):
    import httpx

    start = time.monotonic()
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        stats.record(kind, time.monotonic() - start, "timeout")
        return None
    except httpx.TransportError as error:
        stats.record(kind, time.monotonic() - start, type(error).__name__)
        return None
    error = None if response.status_code in ok else str(response.status_code)
    stats.record(kind, time.monotonic() - start, error)
    return response


# -- the world -------------------------------------------------------------------------------


def build_world(harbor_url: str, dist):
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User

    from portal.api.tokens import issue
    from portal.permissions import ADMIN_GROUP
    from registries import tokens
    from registries.models import Registry
    from workspaces.models import Cluster, Membership, Namespace, Workspace

    hashed = make_password(PASSWORD)
    group = Group.objects.get_or_create(name=ADMIN_GROUP)[0]
    world = {"admins": [], "members": [], "workspaces": [], "credentials": []}
    cluster = Cluster.objects.create(name="prod")
    for number in range(ARGS.admins):
        workspace = Workspace.objects.create(name=f"team{number:02d}")
        namespace = Namespace.objects.create(cluster=cluster, name=f"ns{number:02d}", workspace=workspace)
        admin = User.objects.create(username=f"admin{number:02d}", password=hashed)
        admin.groups.add(group)
        _token, key = issue(admin, "soak")
        world["admins"].append(
            {"user": admin.username, "key": key, "workspace": workspace.pk, "workspace_name": workspace.name}
        )
        world["workspaces"].append({"id": workspace.pk, "name": workspace.name, "namespace": namespace.pk})
    for number in range(ARGS.members):
        member = User.objects.create(username=f"member{number:02d}", password=hashed)
        workspace = Workspace.objects.get(pk=world["workspaces"][number % ARGS.admins]["id"])
        Membership.objects.create(user=member, workspace=workspace, role="viewer")
        world["members"].append(
            {"user": member.username, "namespace": world["workspaces"][number % ARGS.admins]["namespace"]}
        )
    harbor = Registry(name="harbor-soak", kind="harbor", url=harbor_url, username="admin")
    harbor.set_password("Harbor12345")
    harbor.save()
    for workspace in Workspace.objects.all():
        username, secret = tokens.mint_workspace_credential(workspace, dist)
        world["credentials"].append((username, secret))
    world["harbor"], world["dist"] = harbor.pk, dist.pk
    return world


# -- load ------------------------------------------------------------------------------------


def login(client, username: str) -> bool:
    page = client.get("/login/")
    token = client.cookies.get("csrftoken")
    response = client.post(
        "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Referer": str(page.url)},
    )
    return response.status_code == 302


class Load:
    def __init__(self, base: str, world: dict, stats: Stats, stop: threading.Event):
        self.base, self.world, self.stats, self.stop = base, world, stats, stop
        from registries.models import Registry, RegistrySpace, Repository

        self.service = Registry.objects.get(pk=world["dist"]).token_service_id
        self.harbor_spaces = list(
            RegistrySpace.objects.filter(registry_id=world["harbor"], visibility="private")
            .order_by("name")
            .values_list("pk", "name")
        )
        self.dist_spaces = list(
            RegistrySpace.objects.filter(registry_id=world["dist"]).order_by("name").values_list("pk", "name")
        )
        self.repositories = list(Repository.objects.values_list("pk", flat=True))
        # What each Admin was told: (space id, workspace id) -> True (bound) / False, or None
        # when the last answer never came (then the outcome is not known to anyone).
        self.told: dict[tuple[int, int], bool | None] = {}
        self.told_lock = threading.Lock()
        self.actions = Counter()
        self.crashes = Counter()
        # Everyone logs in before the clock starts: a login is a deliberately slow hash.
        self.sessions = {}
        for person in [*world["admins"], *world["members"]]:
            client = self.client()
            if not login(client, person["user"]):
                raise RuntimeError(f"{person['user']} could not log in")
            self.sessions[person["user"]] = client

    def guarded(self, body, *args):
        """Run one simulated person; an unexpected exception is counted, and they go on."""
        while not self.stop.is_set():
            try:
                body(*args)
            except Exception as error:  # noqa: BLE001 - counted and reported, never silent
                self.crashes[f"{body.__name__}: {type(error).__name__}"] += 1
                time.sleep(1)

    def client(self, **headers):
        import httpx

        return httpx.Client(base_url=self.base, timeout=15, headers=headers)

    def admin(self, number: int):
        rng = random.Random(number)
        me = self.world["admins"][number]
        pool = [rng.choice(self.harbor_spaces)[0] for _ in range(2)] + [
            rng.choice(self.dist_spaces)[0] for _ in range(2)
        ]
        api = self.client(Authorization=f"Token {me['key']}")
        pages = self.sessions[me["user"]]
        bound: dict[int, bool] = {}
        turn = 0
        while not self.stop.wait(rng.uniform(2, 6)):
            space = rng.choice(pool)
            action = "unbind" if bound.get(space) else "bind"
            response = timed(
                self.stats,
                f"admin {action} (API)",
                api,
                "POST",
                f"/api/v1/spaces/{space}/{action}/",
                json={"workspaces": [me["workspace"]]},
            )
            with self.told_lock:
                key = (space, me["workspace"])
                if response is not None and response.status_code == 200:
                    bound[space] = action == "bind"
                    self.told[key] = bound[space]
                    self.actions[action] += 1
                elif response is None or response.status_code >= 500:
                    self.told[key] = None
            turn += 1
            if turn % 2 == 0:
                registry = self.world["harbor"] if rng.random() < 0.5 else self.world["dist"]
                timed(self.stats, "admin page", pages, "GET", f"/registries/{registry}/spaces/")

    def member(self, number: int):
        rng = random.Random(1000 + number)
        me = self.world["members"][number]
        client = self.sessions[me["user"]]
        pages = [
            lambda: "/images/",
            lambda: "/images/?q=app",
            lambda: f"/images/{rng.choice(self.repositories)}/",
            lambda: f"/images/picker/?namespace={me['namespace']}&tab=private",
            lambda: f"/images/picker/?namespace={me['namespace']}&tab=public",
            lambda: f"/images/picker/{rng.choice(self.repositories)}/tags/?namespace={me['namespace']}",
            lambda: "/",
        ]
        while not self.stop.wait(rng.uniform(0.5, 1.5)):
            # A repository the member may not see is a 404, as a user would get it.
            timed(self.stats, "member page", client, "GET", rng.choice(pages)(), ok=(200, 404))

    def tokens(self, number: int, threads: int):
        rng = random.Random(2000 + number)
        client = self.client()
        interval = threads / ARGS.token_rate
        credentials = self.world["credentials"]
        spaces = [name for _pk, name in self.dist_spaces]
        next_at = time.monotonic()
        while not self.stop.is_set():
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1:
                next_at = time.monotonic()  # far behind: do not burst to catch up
            roll = rng.random()
            params = {"service": self.service, "scope": f"repository:{rng.choice(spaces)}/app:pull"}
            if roll < 0.05:
                timed(self.stats, "token (anonymous)", client, "GET", "/auth/token", params=params)
            elif roll < 0.07:
                username, _secret = rng.choice(credentials)
                auth = base64.b64encode(f"{username}:stale-secret".encode()).decode()
                timed(
                    self.stats,
                    "token (stale secret: 401)",
                    client,
                    "GET",
                    "/auth/token",
                    params=params,
                    headers={"Authorization": f"Basic {auth}"},
                    ok=(401,),
                )
            else:
                username, secret = rng.choice(credentials)
                auth = base64.b64encode(f"{username}:{secret}".encode()).decode()
                timed(
                    self.stats,
                    "token (workspace)",
                    client,
                    "GET",
                    "/auth/token",
                    params=params,
                    headers={"Authorization": f"Basic {auth}"},
                )


# -- faults ----------------------------------------------------------------------------------


def database_outage(server_url: str, seconds: float) -> str:
    import psycopg

    if ARGS.restart_postgres:
        version = sorted(os.listdir("/etc/postgresql"))[0]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=True,
            timeout=120,
        )
        return f"PostgreSQL {version} cluster restarted"
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{DATABASE}" ALLOW_CONNECTIONS false')
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [DATABASE],
        ).fetchone()[0]
        time.sleep(seconds)
        admin.execute(f'ALTER DATABASE "{DATABASE}" ALLOW_CONNECTIONS true')
    return f"{killed} connections to {DATABASE} terminated, new ones refused for {seconds:g} s"


# -- the run ---------------------------------------------------------------------------------


def memory(supervisor: Supervisor, others: dict[str, int]) -> dict[str, tuple[int, float | None]]:
    pids = {**supervisor.pids(), **others}
    return {name: (pid, rss_mb(pid)) for name, pid in pids.items()}


def wait_for(url: str, seconds: float = 60):
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {seconds} s")


def run_command(env: dict, *args: str) -> tuple[int, float, str]:
    start = time.monotonic()
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=common.ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    return result.returncode, time.monotonic() - start, (result.stdout + result.stderr).strip()


def main() -> int:
    import httpx

    stats = Stats()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-soak-"))
    port = _free_port()
    server_version = common.create_database(ARGS.postgres, DATABASE)
    settings = {
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "WHARF_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "WHARF_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WHARF_METRICS_TOKEN": METRICS_TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        # The killed worker's task is queued again within the run (production: 1800).
        "WHARF_TASK_STALE_AFTER": str(STALE_AFTER),
        # The stale-secret token requests are failed logins; the lockout would otherwise refuse
        # those workspace credentials for the rest of the run (429), which is not what is measured.
        "WHARF_LOGIN_FAILURE_LIMIT": "1000000000",
    }
    common.start_django(f"{ARGS.postgres}/{DATABASE}", "soak-", settings, fresh=True)
    from django.core.management import call_command

    from registries.tests.real_registry import RegistryServer, build_image, require_binary

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # into ./staticfiles (ignored by git)
    from registries import tokens

    tokens.create_signing_key()
    from django.contrib.auth.models import Group, User

    from portal.api.tokens import issue
    from portal.permissions import ADMIN_GROUP

    pusher = User.objects.create_user("pusher", password=PASSWORD)
    pusher.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    # The registry's account logs in with a personal API token: the token service checks it
    # with one SHA-256, where a password costs a deliberately slow hash on every token request.
    _token, pusher_key = issue(pusher, "registry")
    env = {**os.environ}
    supervisor = Supervisor(env, port, workdir)
    harbor = Harbor()
    registry = None
    stop = threading.Event()
    threads: list[threading.Thread] = []
    report: dict = {"server_version": server_version}
    try:
        supervisor.start()
        wait_for(f"http://127.0.0.1:{port}/healthz")
        from registries.models import new_token_service_id

        # The registry must be told its service id before its row exists (its port comes first).
        service = new_token_service_id()
        bundle = workdir / "bundle.pem"
        bundle.write_text(tokens.certificate_bundle())
        registry = RegistryServer(
            require_binary("docker-registry"),
            workdir / "registry",
            skopeo=require_binary("skopeo"),
            auth={
                "token": {
                    "realm": f"http://127.0.0.1:{port}/auth/token",
                    "service": service,
                    "issuer": "wharf",
                    "rootcertbundle": str(bundle),
                }
            },
        ).start()
        from registries.models import Registry

        # The registry's row first: the token service answers for registries it knows.
        dist = Registry(
            name="dist-soak",
            kind="distribution",
            url=registry.url,
            token_service=True,
            token_service_id=service,
            username="pusher",
        )
        dist.set_password(pusher_key)
        dist.save()
        image = build_image(workdir / "image", "1.0")
        for number in range(DIST_SPACES):
            registry.push(image, f"space{number}/app:1.0", creds=f"pusher:{pusher_key}")
        world = build_world(harbor.url, dist)
        code, seconds, output = run_command(env, "sync_registries")
        print(f"first sync: exit {code} in {seconds:.1f} s\n{output}")
        load = Load(f"http://127.0.0.1:{port}", world, stats, stop)
        token_threads = max(4, ARGS.token_rate // 25)
        for number in range(ARGS.admins):
            threads.append(threading.Thread(target=load.guarded, args=(load.admin, number), daemon=True))
        for number in range(ARGS.members):
            threads.append(threading.Thread(target=load.guarded, args=(load.member, number), daemon=True))
        for number in range(token_threads):
            threads.append(
                threading.Thread(target=load.guarded, args=(load.tokens, number, token_threads), daemon=True)
            )
        stats.started = time.monotonic()
        report["load_start"] = os.getloadavg()[0]
        for thread in threads:
            thread.start()
        others = {
            "docker-registry": registry._process.pid,
            "Harbor double": harbor.process.pid,
            "load driver (this script)": os.getpid(),
        }
        duration = ARGS.minutes * 60
        plan = sorted(
            [
                (min(60, duration * 0.1), "memory at start"),
                (duration * 0.35, "kill a worker"),
                (duration * 0.5, "database outage"),
                (duration * 0.6, "Harbor outage"),
            ]
        )
        next_sync = 60
        syncs = []
        events = []
        requeued: list[str] = []
        while True:
            elapsed = time.monotonic() - stats.started
            if elapsed >= duration:
                break
            if plan and elapsed >= plan[0][0]:
                _at, name = plan.pop(0)
                start = time.monotonic()
                if name == "memory at start":
                    report["memory_start"] = memory(supervisor, others)
                elif name == "kill a worker":
                    stats.fault_windows.append((start, start + 7, name))
                    pid, mid_task = supervisor.kill_worker(0, restart_after=5)
                    events.append(
                        f"{elapsed / 60:.1f} min: SIGKILL db_worker 1 (pid {pid}"
                        f"{', in the middle of a task' if mid_task else ', idle'}), "
                        "restarted after 5 s"
                    )
                elif name == "database outage":
                    stats.fault_windows.append((start, start + 15, name))
                    what = database_outage(ARGS.postgres, 10)
                    stats.fault_windows[-1] = (start, time.monotonic(), name)
                    events.append(f"{elapsed / 60:.1f} min: database outage: {what}")
                elif name == "Harbor outage":
                    harbor.command("fail")
                    stats.fault_windows.append((start, start + ARGS.harbor_outage, name))
                    events.append(
                        f"{elapsed / 60:.1f} min: Harbor double answers 503 for {ARGS.harbor_outage:g} s"
                    )
                    threading.Timer(ARGS.harbor_outage, harbor.command, args=("ok",)).start()
                continue
            if elapsed >= next_sync:
                next_sync += 60

                def sync(at=elapsed):
                    code, seconds, _output = run_command(env, "sync_registries")
                    syncs.append((round(at / 60, 1), code, round(seconds, 1)))
                    # As its CronJob would: tasks of a killed worker go back in the queue.
                    _code, _seconds, output = run_command(env, "requeue_stale_tasks")
                    requeued.extend(
                        f"{at / 60:.1f} min: {line}"
                        for line in output.splitlines()
                        if line.startswith(("queued again", "failed after"))
                    )

                threading.Thread(target=sync, daemon=True).start()
                continue
            time.sleep(0.5)
        report["memory_end"] = memory(supervisor, others)
        report["load_end"] = os.getloadavg()[0]
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        report["events"], report["syncs"], report["requeued"] = events, syncs, requeued
        report["actions"] = dict(load.actions)
        report["crashes"] = dict(load.crashes)
        report["check"] = consistency_check(env, world, load, harbor, registry, port)
        scrape = httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        report["metrics"] = [
            line
            for line in scrape.text.splitlines()
            if line.startswith(
                (
                    "wharf_registry_tokens_issued_total",
                    "wharf_registry_tokens_denied_total",
                    "wharf_sync_runs_total",
                    "wharf_robot_reconciles_total",
                    "wharf_robot_drift",
                    "wharf_tasks_abandoned_total",
                )
            )
        ]
        report["restarts"] = dict(supervisor.restarts)
    finally:
        stop.set()
        supervisor.stop()
        harbor.stop()
        if registry is not None:
            registry.stop()
        common.drop_database(ARGS.postgres, DATABASE)
    text = render(stats, report)
    print(text)
    if ARGS.record:
        write_results(text)
    return 0 if report["check"]["ok"] else 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def consistency_check(env, world, load: Load, harbor: Harbor, registry, port: int) -> dict:
    import httpx
    from django.db import close_old_connections
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from registries import robots
    from registries.models import PullCredential, Registry, SpaceBinding
    from workspaces.models import Workspace

    close_old_connections()
    result: dict = {"ok": True, "notes": []}

    def fail(note: str):
        result["ok"] = False
        result["notes"].append("FAILED: " + note)

    # 1. The queue drains (the workers are still running); a task the killed worker held is
    # queued again once it has been RUNNING for STALE_AFTER seconds, as the CronJob would.
    deadline = time.monotonic() + 180
    requeued, next_requeue = [], 0.0
    while time.monotonic() < deadline:
        unfinished = DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
        )
        if not unfinished.exists():
            break
        if not unfinished.filter(status=TaskResultStatus.READY).exists() and time.monotonic() >= next_requeue:
            next_requeue = time.monotonic() + 10
            _code, _seconds, output = run_command(env, "requeue_stale_tasks")
            requeued += [
                line for line in output.splitlines() if line.startswith(("queued again", "failed after"))
            ]
        time.sleep(1)
    statuses = Counter(DBTaskResult.objects.values_list("status", flat=True))
    result["tasks"] = dict(statuses)
    stuck = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    if statuses.get(TaskResultStatus.READY):
        fail(f"{statuses[TaskResultStatus.READY]} tasks still waiting after 3 minutes")
    if stuck.exists():
        fail(
            f"{stuck.count()} task(s) still RUNNING after 3 minutes: "
            + ", ".join(f"{t.task_path}{t.args_kwargs.get('args', '')}" for t in stuck)
        )
    retried = [
        t for t in DBTaskResult.objects.exclude(status=TaskResultStatus.READY) if len(t.worker_ids) > 1
    ]
    result["notes"] += [f"requeue_stale_tasks after the load: {line}" for line in requeued]
    result["notes"] += [
        f"ran again: {t.task_path}{t.args_kwargs.get('args', '')} on workers "
        f"{', '.join(t.worker_ids)}: {t.status}"
        for t in retried
    ]
    # 2. What the Admins were told.
    told = {key: state for key, state in load.told.items() if state is not None}
    unknown = sum(1 for state in load.told.values() if state is None)
    bound = set(SpaceBinding.objects.values_list("space_id", "workspace_id"))
    wrong = [key for key, state in told.items() if (key in bound) != state]
    result["bindings"] = {
        "pairs told": len(told),
        "pairs with no answer": unknown,
        "bound at the end": len(bound),
        "differ from what Admins were told": len(wrong),
    }
    if wrong:
        fail(f"{len(wrong)} (space, workspace) pairs differ from what their Admin was told: {wrong[:5]}")
    # 3. One reconcile, then every robot holds exactly its bound private projects.
    code, seconds, output = run_command(env, "reconcile_credentials")
    result["reconcile"] = {"exit": code, "seconds": round(seconds, 1), "lines": len(output.splitlines())}
    if code != 0:
        fail(f"reconcile_credentials exited {code}: {output[-500:]}")
    harbor_registry = Registry.objects.get(pk=world["harbor"])
    in_harbor = harbor.robots()
    mismatched = []
    for workspace in Workspace.objects.all():
        desired = robots.desired_projects(workspace, harbor_registry)
        credential = PullCredential.objects.filter(workspace=workspace, registry=harbor_registry).first()
        name = credential.username if credential else ""
        # The double keeps robot names without Harbor's "robot$" prefix.
        actual = (in_harbor.get(name) or in_harbor.get(name.removeprefix("robot$")) or {}).get("projects", [])
        if actual != desired or (credential and credential.state != "done" and desired):
            mismatched.append((workspace.name, desired, actual, credential.state if credential else None))
    result["robots"] = {
        "robots in Harbor": len(in_harbor),
        "workspaces checked": Workspace.objects.count(),
        "mismatched": len(mismatched),
    }
    if mismatched:
        fail(f"robots not matching their bindings after one reconcile: {mismatched[:5]}")
    # 4. A real pull through docker-registry follows the bindings.
    dist = Registry.objects.get(pk=world["dist"])
    pulls = Counter()
    with httpx.Client(timeout=10) as client:
        for (username, secret), workspace in zip(
            world["credentials"], Workspace.objects.order_by("pk"), strict=True
        ):
            bound_spaces = set(
                SpaceBinding.objects.filter(workspace=workspace, space__registry=dist).values_list(
                    "space__name", flat=True
                )
            )
            for _pk, space in load.dist_spaces[:4]:
                answer = client.get(
                    f"http://127.0.0.1:{port}/auth/token",
                    auth=(username, secret),
                    params={"service": dist.token_service_id, "scope": f"repository:{space}/app:pull"},
                )
                token = answer.json()["token"]
                pulled = client.get(
                    f"{registry.url}/v2/{space}/app/manifests/1.0",
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Accept": "application/vnd.oci.image.manifest.v1+json",
                    },
                ).status_code
                expected = 200 if space in bound_spaces else 401
                pulls["as expected" if pulled == expected else f"got {pulled}, expected {expected}"] += 1
    result["pulls"] = dict(pulls)
    if set(pulls) != {"as expected"}:
        fail(f"pulls through docker-registry did not follow the bindings: {dict(pulls)}")
    return result


# -- report ----------------------------------------------------------------------------------


def render(stats: Stats, report: dict) -> str:
    import platform

    lines = [
        SECTION,
        "",
        f"`bench/soak.py --minutes {ARGS.minutes:g}` on {platform.machine()}, {os.cpu_count()} cores, "
        f"PostgreSQL {report['server_version']}, Python {platform.python_version()}; "
        f"{ARGS.admins} Admins, {ARGS.members} members, {ARGS.token_rate} tokens/s asked for. "
        "The machine was shared with other jobs' test runs while this ran (1-minute load "
        f"average {report.get('load_start', 0):.1f} when the load started, "
        f"{report.get('load_end', 0):.1f} at its end, on 2 cores), so latencies include "
        "waiting for a core.",
        "",
        "| requests | count | rate/s | p50 ms | p95 ms | p99 ms | errors | errors in a fault window |",
        "|---|---|---|---|---|---|---|---|",
    ]
    duration = ARGS.minutes * 60
    for kind in sorted(stats.latencies):
        values = stats.latencies[kind]
        errors = ", ".join(f"{name} x{count}" for name, count in stats.errors[kind].most_common()) or "0"
        faults = (
            ", ".join(f"{name} x{count}" for name, count in stats.fault_errors[kind].most_common()) or "0"
        )
        lines.append(
            f"| {kind} | {len(values)} | {len(values) / duration:.1f} | "
            f"{percentile(values, 0.5) * 1000:.0f} | {percentile(values, 0.95) * 1000:.0f} | "
            f"{percentile(values, 0.99) * 1000:.0f} | {errors} | {faults} |"
        )
    lines += [
        "",
        "Faults: " + "; ".join(report.get("events", [])) + ".",
        "",
        "Requests and errors per minute: "
        + ", ".join(
            f"{minute}: {counts['requests']}/{counts['errors']}"
            for minute, counts in sorted(stats.per_minute.items())
        )
        + ".",
        "",
        "Syncs (minute, exit, seconds): " + ", ".join(map(str, report.get("syncs", []))) + ".",
        "",
        "Tasks queued again by the minutely `requeue_stale_tasks` (WHARF_TASK_STALE_AFTER="
        f"{STALE_AFTER}): " + ("; ".join(report.get("requeued", [])) or "none") + ".",
        "",
        "| process | RSS after warm-up (MB) | RSS at the end (MB) | growth |",
        "|---|---|---|---|",
    ]
    start, end = report.get("memory_start", {}), report.get("memory_end", {})
    for name, (pid, after) in end.items():
        first_pid, before = start.get(name, (None, None))
        growth = f"{(after - before) / before * 100:+.0f} %" if before and after else "n/a"
        if first_pid != pid:
            # Restarted after a fault: a new process, compared with the one it replaced.
            growth += " (a new process: restarted after a fault)"
        lines.append(f"| {name} | {before or 0:.0f} | {after or 0:.0f} | {growth} |")
    check = report.get("check", {})
    lines += [
        "",
        f"Consistency check: **{'passed' if check.get('ok') else 'FAILED'}**. "
        f"Bindings: {check.get('bindings')}. Robots after one reconcile: {check.get('robots')} "
        f"(reconcile: {check.get('reconcile')}). Tasks by status at the end: {check.get('tasks')}. "
        f"Real pulls through docker-registry: {check.get('pulls')}. Admin actions confirmed: "
        f"{report.get('actions')}. "
        f"Worker restarts by the supervisor: {report.get('restarts') or 'none'}. "
        f"Exceptions in the load driver: {report.get('crashes') or 'none'}.",
    ]
    lines += [f"- {note}" for note in check.get("notes", [])]
    lines += [
        "",
        "Scraped from /metrics at the end (all processes, multiprocess mode):",
        "",
        "```",
        *report.get("metrics", []),
        "```",
        "",
    ]
    return "\n".join(lines)


def write_results(text: str) -> None:
    current = common.RESULTS.read_text()
    if SECTION in current:
        start = current.index(SECTION)
        following = current.find("\n## ", start + len(SECTION))
        current = current[:start] + text.rstrip() + "\n" + (current[following:] if following != -1 else "")
    else:
        current = current.rstrip() + "\n\n" + text
    common.RESULTS.write_text(current)


def parse_arguments():
    parser = common.argument_parser(__doc__)
    common.add_record_argument(parser, SECTION)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--admins", type=int, default=20)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--token-rate", type=int, default=200)
    parser.add_argument("--harbor-outage", type=float, default=60)
    parser.add_argument(
        "--restart-postgres",
        action="store_true",
        help="restart the whole PostgreSQL cluster (disturbs every other user of it)",
    )
    parser.add_argument("--serve-harbor", action="store_true", help=argparse_hidden())
    return parser.parse_args()


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    ARGS = parse_arguments()
    if ARGS.serve_harbor:
        serve_harbor()
        sys.exit(0)
    sys.exit(main())
