"""Token service benchmark: tokens per second from gunicorn (2 workers) on PostgreSQL, and the
time from an unbind to the first token that no longer grants the pull.

    .venv/bin/python bench/token_bench.py            # 3 x 10 s per case (about 2.5 minutes)
    .venv/bin/python bench/token_bench.py --quick    # 1 x 3 s per case, to check the script works
    .venv/bin/python bench/token_bench.py --record   # also write the results into bench/RESULTS.md

Needs PostgreSQL on 127.0.0.1:5432 (user ``postgres``) and ``wrk`` (Debian package ``wrk``).
Creates (and afterwards drops) its own database ``wharf_bench_tokens``, migrates it and seeds:
one token-service registry with ``--spaces`` spaces (one in ten public), ``--workspaces``
workspaces, each bound to two private spaces and holding its ``ws-<workspace>`` credential,
and the signing key. Then it starts gunicorn with 2 sync workers on a free loopback port with
production settings (DEBUG off) and drives ``GET /auth/token`` with wrk (``--connections``
concurrent connections, ``--threads`` threads), ``--repeat`` runs per case, keeping the median.
wrk's Lua script rotates over ``--rotate`` workspaces, so each request checks a different
credential and space. The CPU time gunicorn's workers and PostgreSQL's backends spend per
token is read from /proc: what a token costs, whatever else runs on the machine.

Cases:

* credential, private pull: ``ws-<w>`` asks ``repository:<bound space>/app:pull`` (the hot path:
  a kubelet pulling a workspace's image);
* credential, 3 scopes: the same plus a public space and another workspace's private space (a
  partial grant);
* anonymous, public pull: no credentials, a public space.

Every case checks one answer first: the grant must be exactly what the access rule allows.

"Unbind -> denied": ``--rounds`` times, bind a space, check a token grants its pull, unbind it
(``registries.services.change_bindings``, which commits before returning), and time the next
token request; it must no longer grant the pull. Measured once with the server idle and once
while wrk keeps it busy. SQL queries per token request are counted in-process through
Django's test client.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
import common  # noqa: E402

DATABASE = "wharf_bench_tokens"
SECTION = "## Token service (issue 6)"
SERVICE = "bench-registry"
TARGET_TOKENS_PER_SECOND = 500
BASELINE = "baseline: GET /healthz/ (no token)"

LUA = """
local entries = {%(entries)s}
local i = 0
request = function()
  i = i %% #entries + 1
  local entry = entries[i]
  if entry[2] == "" then
    return wrk.format("GET", entry[1])
  end
  return wrk.format("GET", entry[1], {["Authorization"] = entry[2]})
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, summary.errors.status, errors))
end
"""


@dataclass
class Case:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    non_200: int
    socket_errors: int
    queries: int
    gunicorn_cpu_ms: float = 0.0
    postgres_cpu_ms: float = 0.0
    wrk_cpu_ms: float = 0.0

    @property
    def capacity(self) -> float:
        """Tokens/s two otherwise idle CPUs could serve at this CPU cost (server side only)."""
        return 2000 / (self.gunicorn_cpu_ms + self.postgres_cpu_ms)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


# -- database --------------------------------------------------------------------------------


def seed(spaces: int, workspaces: int) -> dict:
    """The registry, spaces, workspaces (each bound to two private spaces) and credentials."""
    from registries import tokens
    from registries.models import PullCredential, Registry, RegistrySpace, SpaceBinding
    from workspaces.models import Workspace

    # Its token service id fixed to its name, so the requests read easily.
    registry = Registry.objects.create(
        name=SERVICE,
        kind="distribution",
        url="http://127.0.0.1:9",
        token_service=True,
        token_service_id=SERVICE,
    )
    space_rows = RegistrySpace.objects.bulk_create(
        RegistrySpace(
            registry=registry,
            name=f"space-{number:05d}",
            visibility="public" if number % 10 == 0 else "private",
        )
        for number in range(spaces)
    )
    private = [space for space in space_rows if space.visibility == "private"]
    public = [space for space in space_rows if space.visibility == "public"]
    workspace_rows = Workspace.objects.bulk_create(
        Workspace(name=f"team-{number:05d}") for number in range(workspaces)
    )
    bindings, credentials, secrets = [], [], {}
    for number, workspace in enumerate(workspace_rows):
        own = [private[(2 * number) % len(private)], private[(2 * number + 1) % len(private)]]
        bindings += [SpaceBinding(space=space, workspace=workspace) for space in own]
        # Minting one by one would audit each; the benchmark only needs the rows.
        secret = f"bench-secret-{number:05d}-" + base64.urlsafe_b64encode(os.urandom(24)).decode()
        credential = PullCredential(
            workspace=workspace,
            registry=registry,
            username=tokens.credential_username(workspace),
            state="done",
        )
        credential.set_secret(secret)
        credentials.append(credential)
        secrets[workspace.pk] = (credential.username, secret, own)
    SpaceBinding.objects.bulk_create(bindings, batch_size=2000)
    PullCredential.objects.bulk_create(credentials, batch_size=2000)
    tokens.create_signing_key(registry)  # its own key, as every registry integrated now has
    common.vacuum_analyze()
    return {
        "registry": registry,
        "workspaces": workspace_rows,
        "secrets": secrets,
        "public": public,
        "private": private,
    }


# -- gunicorn and wrk ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int, env: dict) -> subprocess.Popen:
    import httpx

    process = subprocess.Popen(
        [
            str(common.ROOT / ".venv" / "bin" / "gunicorn"),
            "portal.wsgi:application",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=common.ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during startup")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz/", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.terminate()
    raise RuntimeError("gunicorn did not answer /healthz/ within 30 s")


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def token_path(scopes: list[str]) -> str:
    from urllib.parse import urlencode

    return "/auth/token?" + urlencode([("service", SERVICE), *[("scope", s) for s in scopes]])


def run_wrk(
    base: str, entries: list[tuple[str, str]], *, seconds: int, connections: int, threads: int, workdir: Path
) -> tuple[int, float, float, float, float, float, int, int]:
    script = workdir / "tokens.lua"
    script.write_text(
        LUA % {"entries": ", ".join(f"{{{json.dumps(path)}, {json.dumps(auth)}}}" for path, auth in entries)}
    )
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    requests, duration_us, p50, p95, p99, worst, non_200, errors = map(int, match.group(1).split())
    return (requests, duration_us / 1e6, p50 / 1000, p95 / 1000, p99 / 1000, worst / 1000, non_200, errors)


# -- CPU accounting --------------------------------------------------------------------------
# The machine may be shared (other jobs, wrk itself): the CPU time each side spends per token
# says what the service costs, whatever else is running.

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def gunicorn_workers(master: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def database_backends() -> list[int]:
    """PostgreSQL backends serving the benchmark's database (their title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and DATABASE.encode() in title:
                pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU time spent by a changing set of processes (workers, database backends that come and
    go as connections age), sampled often enough to see each process before it ends."""

    def __init__(self, find_pids):
        self.find_pids = find_pids
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def _sample(self, *, starting: bool = False) -> None:
        for pid in self.find_pids():
            cpu = cpu_of(pid)
            if cpu is None:
                continue
            # A process first seen mid-run started mid-run: all its CPU time counts.
            self.first.setdefault(pid, cpu if starting else 0.0)
            self.last[pid] = cpu

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self):
        self._sample(starting=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- the cases -------------------------------------------------------------------------------


def granted(response) -> dict[str, list[str]]:
    import jwt

    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    return {entry["name"]: entry["actions"] for entry in claims["access"]}


def case_entries(data: dict, rotate: int) -> dict[str, tuple[list[tuple[str, str]], dict]]:
    """Per case: the wrk entries, and the grant the first entry must get."""
    workspaces = data["workspaces"][:rotate]
    secrets = data["secrets"]
    public = data["public"]
    cases = {}
    private_pull, three_scopes = [], []
    for number, workspace in enumerate(workspaces):
        username, secret, own = secrets[workspace.pk]
        auth = basic(username, secret)
        mine = f"{own[0].name}/app"
        theirs_workspace = workspaces[(number + 1) % len(workspaces)]
        theirs = f"{secrets[theirs_workspace.pk][2][0].name}/app"
        pub = f"{public[number % len(public)].name}/app"
        private_pull.append((token_path([f"repository:{mine}:pull"]), auth))
        three_scopes.append(
            (
                token_path(
                    [f"repository:{mine}:pull", f"repository:{pub}:pull", f"repository:{theirs}:pull"]
                ),
                auth,
            )
        )
        if number == 0:
            expect_private = {mine: ["pull"]}
            expect_three = {mine: ["pull"], pub: ["pull"]}
    anonymous = [(token_path([f"repository:{space.name}/app:pull"]), "") for space in public[:rotate]]
    cases["credential, private pull"] = (private_pull, expect_private)
    cases["credential, 3 scopes (partial grant)"] = (three_scopes, expect_three)
    cases["anonymous, public pull"] = (anonymous, {f"{public[0].name}/app": ["pull"]})
    # Not a token: what any request costs in this stack (gunicorn, Django's middleware, the
    # database health check of each request), for comparison.
    cases[BASELINE] = ([("/healthz/", "")], None)
    return cases


def count_queries(entries: list[tuple[str, str]]) -> int:
    """Queries of one token request, in-process, after a warm-up (the signing key is loaded)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    path, auth = entries[min(1, len(entries) - 1)]
    headers = {"Authorization": auth} if auth else {}
    client.get(path, headers=headers)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, headers=headers).status_code == 200
    return len(queries)


def unbind_to_denied(base: str, data: dict, rounds: int) -> list[tuple[float, bool]]:
    """(seconds from the unbind's commit to the next answer, that answer denied the pull)."""
    import httpx
    from django.contrib.auth.models import AnonymousUser

    from registries import services

    workspace = data["workspaces"][-1]
    username, secret, _own = data["secrets"][workspace.pk]
    auth = {"Authorization": basic(username, secret)}
    results = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for number in range(rounds):
            space = data["private"][-(number + 1)]
            path = token_path([f"repository:{space.name}/app:pull"])
            services.change_bindings(space, AnonymousUser(), add=[workspace])
            assert granted(client.get(path, headers=auth)) == {f"{space.name}/app": ["pull"]}
            services.change_bindings(space, AnonymousUser(), remove=[workspace])
            committed = time.perf_counter()
            response = client.get(path, headers=auth)
            elapsed = time.perf_counter() - committed
            results.append((elapsed, response.status_code == 200 and granted(response) == {}))
    return results


# -- report ----------------------------------------------------------------------------------


def table(cases: list[Case]) -> str:
    return common.markdown_table(
        [
            "case",
            "tokens/s",
            "p50",
            "p95",
            "p99",
            "max",
            "requests",
            "non-200",
            "socket errors",
            "SQL queries per token",
            "CPU per token: gunicorn + PostgreSQL (+ wrk)",
            "server CPU allows",
        ],
        "lrrrrrrrrrlr",
        (
            [
                case.name,
                f"**{case.per_second:,.0f}**",
                f"{case.p50_ms:.1f} ms",
                f"{case.p95_ms:.1f} ms",
                f"{case.p99_ms:.1f} ms",
                f"{case.max_ms:.0f} ms",
                f"{case.requests:,}",
                str(case.non_200),
                str(case.socket_errors),
                str(case.queries),
                f"{case.gunicorn_cpu_ms:.2f} + {case.postgres_cpu_ms:.2f} ms (+ {case.wrk_cpu_ms:.2f} ms)",
                f"{case.capacity:,.0f}/s on 2 CPUs",
            ]
            for case in cases
        ),
    )


def unbind_table(rows: dict[str, list[tuple[float, bool]]]) -> str:
    lines = []
    for label, results in rows.items():
        times = [elapsed * 1000 for elapsed, _denied in results]
        denied = sum(1 for _elapsed, was_denied in results if was_denied)
        lines.append(
            [
                label,
                str(len(results)),
                f"{denied} of {len(results)}",
                f"{statistics.median(times):.1f} ms",
                f"{max(times):.1f} ms",
            ]
        )
    return common.markdown_table(
        ["server", "rounds", "next token denied the pull", "time to the denied token: p50", "max"],
        "lrrrr",
        lines,
    )


def main() -> None:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--spaces", type=int, default=2000)
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--rotate", type=int, default=100, help="workspaces (credentials) wrk rotates over")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the table shows the median one")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=20, help="unbind -> denied rounds")
    parser.add_argument("--quick", action="store_true", help="3 s per case, 5 rounds")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    common.add_record_argument(parser, SECTION)
    options = parser.parse_args()
    if options.quick:
        options.seconds, options.rounds, options.repeat = 3, 5, 1
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package wrk)")

    server_url = options.postgres.rstrip("/")
    postgres_version = common.create_database(server_url, DATABASE)
    # gunicorn gets this environment: same settings, and the same keys to decrypt the signing
    # key this process stores. Plain HTTP on loopback, as for the test client.
    common.start_django(
        f"{server_url}/{DATABASE}",
        "token-bench-",
        {**common.TEST_CLIENT_SETTINGS, "ALLOWED_HOSTS": "127.0.0.1,testserver", "WHARF_TESTING": "false"},
        fresh=True,
    )
    from django.core.management import call_command

    gunicorn = None
    cases: list[Case] = []
    unbind: dict[str, list[tuple[float, bool]]] = {}
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        data = seed(options.spaces, options.workspaces)
        print(
            f"seeded {options.spaces:,} spaces, {options.workspaces:,} workspaces with "
            f"{2 * options.workspaces:,} bindings and credentials in "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        port = free_port()
        gunicorn = start_gunicorn(port, dict(os.environ))
        base = f"http://127.0.0.1:{port}"
        import httpx

        load_before = common.load_average()
        with tempfile.TemporaryDirectory(prefix="wharf-token-bench-") as workdir:
            for name, (entries, expected) in case_entries(data, options.rotate).items():
                path, auth = entries[0]
                response = httpx.get(base + path, headers={"Authorization": auth} if auth else {})
                assert response.status_code == 200, response.text
                if expected is not None:
                    assert granted(response) == expected, (name, granted(response), expected)
                run_wrk(
                    base,
                    entries,
                    seconds=2,
                    connections=options.connections,
                    threads=options.threads,
                    workdir=Path(workdir),
                )  # warm-up
                queries = count_queries(entries)
                runs = []
                for _run in range(options.repeat):
                    wrk_before = children_cpu()
                    with (
                        CpuMeter(lambda: gunicorn_workers(gunicorn.pid)) as workers,
                        CpuMeter(database_backends) as backends,
                    ):
                        measured = run_wrk(
                            base,
                            entries,
                            seconds=options.seconds,
                            connections=options.connections,
                            threads=options.threads,
                            workdir=Path(workdir),
                        )
                    per_token = [
                        seconds * 1000 / measured[0]
                        for seconds in (workers.seconds, backends.seconds, children_cpu() - wrk_before)
                    ]
                    runs.append(
                        Case(
                            name,
                            *measured,
                            queries=queries,
                            gunicorn_cpu_ms=per_token[0],
                            postgres_cpu_ms=per_token[1],
                            wrk_cpu_ms=per_token[2],
                        )
                    )
                    print(f"{name}: {runs[-1].per_second:,.0f} tokens/s", file=sys.stderr)
                # The median run: one disturbed by another job on the machine neither way.
                cases.append(sorted(runs, key=lambda run: run.per_second)[len(runs) // 2])

            unbind["idle"] = unbind_to_denied(base, data, options.rounds)
            entries = case_entries(data, options.rotate)["credential, private pull"][0]
            background = threading.Thread(
                target=run_wrk,
                args=(base, entries),
                kwargs={
                    "seconds": max(options.seconds, 5),
                    "connections": options.connections,
                    "threads": options.threads,
                    "workdir": Path(workdir),
                },
            )
            background.start()
            time.sleep(1)
            unbind[f"under load (wrk, {options.connections} connections)"] = unbind_to_denied(
                base, data, options.rounds
            )
            background.join()
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=10)
        if not options.keep:
            common.drop_database(server_url, DATABASE)

    load_after = common.load_average()
    machine = common.machine_line(postgres_version)
    method = (
        f"gunicorn 2 sync workers, production settings (DEBUG off); wrk "
        f"{options.threads} thread(s), {options.connections} connections, "
        f"{options.repeat} runs of {options.seconds} s per case after a 2 s warm-up (the "
        f"median run is shown), rotating over {options.rotate} "
        f"credentials; wrk, gunicorn and PostgreSQL share the machine; "
        f"{common.load_phrase(load_before, load_after)} (the benchmark alone makes about 2)"
    )
    data_line = (
        f"one token-service registry with {options.spaces:,} spaces (one in ten public), "
        f"{options.workspaces:,} workspaces each bound to two private spaces, with its "
        f"ws-<workspace> credential"
    )
    report = table(cases)
    unbind_report = unbind_table(unbind)
    print(f"{machine}\n{method}\n{data_line}\n")
    print(report)
    print()
    print(unbind_report)
    slowest = min(case.per_second for case in cases if case.name != BASELINE)
    verdict = "met" if slowest >= TARGET_TOKENS_PER_SECOND else "MISSED"
    print(f"\ntarget {TARGET_TOKENS_PER_SECOND} tokens/s: {verdict} (slowest case {slowest:,.0f})")
    if options.record:
        common.record(
            SECTION,
            [
                f"{common.recorded_by(__file__)}.",
                "",
                f"- Machine: {machine}.",
                f"- Method: {method}.",
                f"- Data: {data_line}.",
                f"- Target: {TARGET_TOKENS_PER_SECOND} tokens/s ({verdict}; slowest case {slowest:,.0f}).",
                "",
                report,
                "",
                "How to read it: tokens/s is what wrk got from the machine as it was, shared with "
                "whatever else ran (see the load average). The CPU columns are what each token cost, "
                "read from /proc for gunicorn's two workers and for the PostgreSQL backends serving "
                'them; "server CPU allows" is 2 CPUs divided by that cost, the rate the service '
                f"would sustain with both CPUs to itself (wrk's own share, about "
                f"{max(case.wrk_cpu_ms for case in cases):.1f} ms a request, left out). The "
                f"baseline row is a request that does no work, for what gunicorn and Django's "
                f"middleware cost by themselves. A token costs two SQL queries (the registry with "
                f"the credential and the signing key's id; the spaces the access rule allows), plus "
                f"the connection health check Django runs before a request's first query "
                f"(CONN_HEALTH_CHECKS).",
                "",
                "Unbind -> first denied token: the unbind is `registries.services.change_bindings("
                "remove=...)`, which has committed when it returns; the time is from then to the "
                "answer of the next token request, which must no longer grant the pull. Under load "
                "the request waits behind wrk's queued ones; it is still the next one to be answered "
                "for this credential, and it is denied.",
                "",
                unbind_report,
                "",
            ],
        )


if __name__ == "__main__":
    main()
