"""Page benchmark: Integrated Registry (Admin), Registry space, the Bind/unbind dialog and
Spaces x workspaces, at two scales in one run.

    .venv/bin/python bench/pages_bench.py             # both scales (a few minutes)
    .venv/bin/python bench/pages_bench.py --quick     # fewer requests, to check the script works
    .venv/bin/python bench/pages_bench.py --record    # also write the table into bench/RESULTS.md
    .venv/bin/python bench/pages_bench.py --database wharf_mine   # another database name

Two scales, each in its own database (``--database``, default ``wharf_bench_pages``, and the
same name with ``_small``): the full sizes of issue 4 below, and ``--small`` of them (1 %: 200
spaces, 50 workspaces, 400 bindings). Every case runs on both; the scales alternate every
``--block`` rounds so that load from elsewhere on a shared machine falls on both alike. The
table gives each page's figures at full scale, its p95 at 1 % and the ``flatness``: p95 at full
scale / p95 at 1 % (issue 15's goal: at most 1.3 for every page).

Creates (and afterwards drops) its own database ``wharf_bench_pages`` on ``--postgres``
(default ``postgres://postgres@127.0.0.1:5432``) and migrates it. Loads the data of issue 4 with
PostgreSQL ``COPY`` (a few seconds): 20,000 registry spaces over four platform registries (most
of them, 14,000, in one: the pages are measured on that one), 5,000 workspaces, 40,000 bindings
(random distinct pairs, so about 2 per space and 1 space in 7 unbound) and an Admin user.
The registries are real Harbor registries as far as the pages know (not demo ones: those skip
the robot accounts), on a closed loopback port that nothing here contacts; 30 % of the spaces
are public. Every workspace with a private space bound in a registry has its pull credential
(robot account) there, as after reconciliation: 1 in 100 of them failed, the rest done, so the
Registry space page shows its propagation status as it would in steady state. Then
``VACUUM ANALYZE``, as autovacuum would do after such a load. Tasks go to the database queue
(``django_tasks_db``, as in production): a bind submit enqueues the robot update and returns.

How it measures: in-process, with Django's test ``Client`` logged in as the Admin, through the
whole middleware stack (sessions, CSRF, CSP, htmx, auth), the view and the template, against
the real database; production settings (``DEBUG`` off, cached template loader, manifest static
files collected into a temporary folder). The figure is the wall time of ``client.get`` /
``client.post``: server time without a network or WSGI server in front. CSRF is not enforced by
the test client (the cost of the check is a string comparison). Each case is warmed up, then
timed over ``--requests`` requests, rotating over spaces and search terms so no case keeps
hitting one row; the cases run interleaved (request i of every case, then i + 1), so a burst of
load from elsewhere on a shared machine spreads over all of them. SQL queries are counted per
request with ``connection.execute_wrapper``. "Python CPU" is this process's CPU time per
request (``time.process_time``: middleware, view, ORM, template; PostgreSQL's own work is not
in it): it hardly moves when other programs compete for the CPU, where wall time does.

Cases:

* registry list: the full Integrated Registry (Admin) page, with the spaces count per registry.
* space page first / middle / last page: the full Registry space page (20 rows, each with its
  bound workspaces); search: ``?q=`` with a stage (about 1 space in 6 matches: a full page at
  both scales) and with a rare string (one space matches: the whole registry is searched).
* spaces x workspaces: the Admin's grid for the measured registry (first pages), over all
  registries at the last page of both axes (the deepest OFFSET), and an htmx search on both axes.
* dialog open: the htmx GET of the Bind/unbind dialog for a bound space (chips + first results).
* dialog search: the htmx GET ``?results=1&q=`` that replaces the result list while typing,
  with a common letter (20 result rows and "Load more" at both scales).
* bind submit: the htmx POST of the dialog adding one workspace to what it showed, then the POST
  removing it again (both are measured; the data ends as it started). Each writes its binding
  change and an audit event in one transaction under the space's row lock, and answers 204 with
  the ``HX-Trigger`` events.
"""

from __future__ import annotations

import datetime
import gc
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
import common  # noqa: E402

DATABASE = "wharf_bench_pages"
SECTION = "## Pages at two scales (issue 15)"
FLATNESS_GOAL = 1.3
NOTES = "What the figures say"
TARGET_MS = 50.0

TEAMS = ["north", "south", "east", "west", "core", "edge", "blue", "green", "red", "gold"]


@dataclass
class Case(common.RequestCase):
    cpu: list[float] = field(default_factory=list)

    @property
    def cpu_p50(self) -> float:
        return statistics.median(self.cpu) * 1000


# -- data ----------------------------------------------------------------------------------------


def copy_rows(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)


def load(spaces: int, workspaces: int, bindings: int, seed: int) -> dict:
    from django.db import connection, transaction

    from registries.models import PullCredential, Registry, RegistrySpace, SpaceBinding
    from testkit.personas import make_user
    from workspaces.models import Workspace

    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.UTC)
    # 70 % / 15 % / 10 % / 5 % of the spaces.
    shares = [0.70, 0.15, 0.10, 0.05]
    sizes = [int(spaces * share) for share in shares]
    sizes[0] += spaces - sum(sizes)
    with transaction.atomic():
        registries = [
            Registry.objects.create(
                name=f"harbor-{index}",
                kind="harbor",
                username="admin",
                url=f"http://127.0.0.1:9/harbor-{index}",
                last_sync=now,
            )
            for index in range(len(sizes))
        ]
        space_rows = []
        for registry, size in zip(registries, sizes, strict=True):
            for number in range(size):
                name = f"{rng.choice(common.WORDS)}-{rng.choice(common.STAGES)}-{number:05d}"
                created = now - datetime.timedelta(minutes=rng.randrange(60 * 24 * 900))
                space_rows.append(
                    (
                        registry.pk,
                        name,
                        "public" if rng.random() < 0.3 else "private",
                        str(number),
                        False,
                        rng.randrange(40),
                        created,
                        now,
                        now,
                    )
                )
        copy_rows(
            RegistrySpace._meta.db_table,
            [
                "registry_id",
                "name",
                "visibility",
                "upstream_id",
                "missing",
                "repository_count",
                "upstream_created",
                "created",
                "updated",
            ],
            space_rows,
        )
        copy_rows(
            Workspace._meta.db_table,
            ["name", "description", "created"],
            (
                (
                    f"{rng.choice(common.WORDS)}-{rng.choice(TEAMS)}-{number:04d}",
                    f"Workspace {number} of the {rng.choice(TEAMS)} division",
                    now,
                )
                for number in range(workspaces)
            ),
        )
        space_ids = list(RegistrySpace.objects.values_list("pk", flat=True))
        workspace_ids = list(Workspace.objects.values_list("pk", flat=True))
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < bindings:
            pairs.add((rng.choice(space_ids), rng.choice(workspace_ids)))
        copy_rows(
            SpaceBinding._meta.db_table,
            ["space_id", "workspace_id", "created"],
            ((space, workspace, now) for space, workspace in sorted(pairs)),
        )
        # The robot accounts as after reconciliation: one per (workspace, registry) with a private
        # space of that registry bound to the workspace.
        with connection.cursor() as cursor:
            cursor.execute(
                f'''
                INSERT INTO "{PullCredential._meta.db_table}" (registry_id, workspace_id, username,
                    secret_encrypted, secret_hash, upstream_id, granted, state, error, attempts,
                    previous_username, previous_upstream_id, previous_secret_hash,
                    reconciled, created, updated)
                SELECT pair.registry_id, pair.workspace_id, 'robot$wharf-' || pair.workspace_id,
                    '', '', pair.workspace_id::text, '[]'::jsonb,
                    CASE WHEN pair.workspace_id %% 100 = 0 THEN 'failed' ELSE 'done' END,
                    CASE WHEN pair.workspace_id %% 100 = 0
                         THEN 'Harbor answered 500 Internal Server Error' ELSE '' END,
                    CASE WHEN pair.workspace_id %% 100 = 0 THEN 3 ELSE 1 END, '', '', '',
                    %s, %s, %s
                FROM (SELECT DISTINCT space.registry_id, binding.workspace_id
                      FROM "{SpaceBinding._meta.db_table}" binding
                      JOIN "{RegistrySpace._meta.db_table}" space ON space.id = binding.space_id
                      WHERE space.visibility = 'private') pair''',
                [now, now, now],
            )
        # COPY bypasses the services: count the spaces as the sync does after a load.
        Registry.objects.recount_spaces()
        admin = make_user("bench-admin", admin=True, password="bench-admin-password")
    common.vacuum_analyze()
    return {
        "registries": registries,
        "admin": admin,
        "sizes": sizes,
        "credentials": PullCredential.objects.count(),
    }


# -- requests ------------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    data: dict | None = None
    htmx: bool = False
    expect: int = 200
    check: str = ""  # text the answer must contain (body, or HX-Trigger for a 204)


def timed(client, request: Request) -> tuple[float, float, int]:
    from django.db import connection

    headers = {"HX-Request": "true"} if request.htmx else {}
    counter = common.QueryCounter()
    with connection.execute_wrapper(counter):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = getattr(client, request.method)(request.path, request.data, headers=headers)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if response.status_code != request.expect:
        raise SystemExit(
            f"{request.method.upper()} {request.path} {request.data} answered "
            f"{response.status_code}, expected {request.expect}"
        )
    answer = response.headers.get("HX-Trigger", "") if response.status_code == 204 else response.text
    if request.check not in answer:
        raise SystemExit(
            f"{request.method.upper()} {request.path} {request.data}: {request.check!r} not in the answer"
        )
    return seconds, cpu, counter.count


def plan(registry, count: int, seed: int) -> list[tuple[Case, list[Request]]]:
    """Each case with its requests, ``count`` of them, rotating over spaces and search terms."""
    from django.urls import reverse

    from registries.models import RegistrySpace, SpaceBinding
    from registries.views import BIND_TOAST, SPACES_PER_PAGE
    from workspaces.models import Workspace

    rng = random.Random(seed + 1)
    cases: list[tuple[Case, list[Request]]] = []

    def case(name: str, requests: list[Request]) -> None:
        cases.append((Case(name, [], []), requests))

    case("registry list", [Request("get", reverse("registries:platform-list"), check=registry.name)] * count)
    spaces_url = reverse("registries:spaces", args=[registry.pk])
    total = RegistrySpace.objects.filter(registry=registry).count()
    pages = math.ceil(total / SPACES_PER_PAGE)
    for label, page in (("first", 1), ("middle", pages // 2), ("last", pages)):
        case(
            f"space page, {label} page ({page} of {pages})",
            [
                Request(
                    "get", spaces_url, {"page": page} if page > 1 else None, check=f"Page {page} of {pages}"
                )
            ]
            * count,
        )
    # A stage matches about 1 space in 6: a full page of 20 rows at both scales (23 matches of
    # 140 at 1 %), so the two scales render the same rows and their ratio measures the search.
    # The table is checked, not a row: a term may match nothing.
    case(
        "space page, search a stage (~1 in 6 match)",
        [
            Request("get", spaces_url, {"q": f"-{rng.choice(common.STAGES)}-"}, check='id="space-table"')
            for _ in range(count)
        ],
    )
    case(
        "space page, search a rare string (1 match)",
        [
            Request("get", spaces_url, {"q": f"-{rng.randrange(total):05d}"}, check='id="space-table"')
            for _ in range(count)
        ],
    )

    # Spaces x workspaces: one registry and all of them, first and last pages, both searches.
    from registries.matrix_views import MATRIX_SPACES, MATRIX_WORKSPACES

    matrix_url = reverse("registries:binding-matrix")
    all_spaces = RegistrySpace.objects.count()
    last_space_page = math.ceil(all_spaces / MATRIX_SPACES)
    last_workspace_page = math.ceil(Workspace.objects.count() / MATRIX_WORKSPACES)
    case(
        "spaces x workspaces, one registry, first pages",
        [Request("get", matrix_url, {"registry": registry.pk}, check='id="binding-matrix"')] * count,
    )
    case(
        "spaces x workspaces, all registries, last pages",
        [
            Request(
                "get",
                matrix_url,
                {"sp": last_space_page, "wp": last_workspace_page},
                check='id="binding-matrix"',
            )
        ]
        * count,
    )
    # Terms that fill a page on both axes at both scales (a stage; a common letter).
    case(
        "spaces x workspaces, search both axes (htmx)",
        [
            Request(
                "get",
                matrix_url,
                {"registry": registry.pk, "sq": f"-{rng.choice(common.STAGES)}-", "wq": rng.choice("aeo")},
                htmx=True,
                check='id="binding-matrix"',
            )
            for _ in range(count)
        ],
    )

    # Spaces of that registry with at least one binding, in random order.
    bound_spaces = list(
        RegistrySpace.objects.filter(registry=registry, bindings__isnull=False)
        .distinct()
        .values_list("pk", flat=True)
    )
    rng.shuffle(bound_spaces)
    bound_spaces = [bound_spaces[index % len(bound_spaces)] for index in range(count)]
    bound_of: dict[int, list[int]] = {}
    for space_id, workspace_id in SpaceBinding.objects.filter(space__in=bound_spaces).values_list(
        "space_id", "workspace_id"
    ):
        bound_of.setdefault(space_id, []).append(workspace_id)
    dialog = {pk: reverse("registries:space-bindings", args=[registry.pk, pk]) for pk in bound_spaces}
    case(
        "dialog open (htmx)",
        [Request("get", dialog[pk], htmx=True, check="Selected workspaces") for pk in bound_spaces],
    )
    # A common letter, as typed first into the search box: it matches 28-38 of the 50
    # workspaces at 1 % and 2,600-4,200 of the 5,000 at full scale, so both scales fill the 20
    # result rows and offer "Load more", and their ratio measures the search, not a different
    # number of rows (a word's first letters, a team or "-NNNN" matched 20 workspaces at full
    # scale but only a few, or none, at 1 %).
    searches = []
    for pk in bound_spaces:
        term = rng.choice("aeo")
        searches.append(
            Request(
                "get",
                dialog[pk],
                {"results": 1, "q": term, "workspaces": bound_of[pk]},
                htmx=True,
                check='id="binding-results"',
            )
        )
    case("dialog search (htmx, ?results=1&q=)", searches)
    # OK in the dialog: add one workspace to what it showed, then (next case, same round)
    # remove it again, so every space ends as it started.
    workspace_ids = list(Workspace.objects.values_list("pk", flat=True))
    adds, removes = [], []
    for pk in bound_spaces:
        bound = bound_of[pk]
        extra = next(w for w in iter(lambda: rng.choice(workspace_ids), None) if w not in bound)
        adds.append(
            Request(
                "post",
                dialog[pk],
                {"shown": bound, "workspaces": [*bound, extra]},
                htmx=True,
                expect=204,
                check=BIND_TOAST,
            )
        )
        removes.append(
            Request(
                "post",
                dialog[pk],
                {"shown": [*bound, extra], "workspaces": bound},
                htmx=True,
                expect=204,
                check=BIND_TOAST,
            )
        )
    case("bind submit: OK adding one workspace (htmx POST)", adds)
    case("bind submit: OK removing it again (htmx POST)", removes)
    return cases


def use_database(name: str) -> None:
    """Point Django's connection at database ``name`` (the next query opens a new session)."""
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = name


@dataclass
class Scale:
    """One data set of the run: its database, what was loaded, its logged-in client, its cases."""

    label: str
    database: str
    spaces: int
    workspaces: int
    bindings: int
    data: dict = field(default_factory=dict)
    client: object = None
    cases: list = field(default_factory=list)


def bench(scales: list[Scale], count: int, warmup: int, seed: int, block: int) -> None:
    """Warm every case up, then run them round-robin: request i of every case, then i + 1.

    Interleaving spreads any burst of load from elsewhere on the machine over all cases
    instead of landing on whichever case happened to be running. The scales alternate by
    blocks of ``block`` rounds (switching database costs a new connection, paid by one untimed
    request), so a busy minute on the shared machine lands on both scales alike and their
    ratio (the flatness) stays meaningful.
    """
    planned = {}
    for scale in scales:
        use_database(scale.database)
        planned[scale.label] = plan(scale.data["registries"][0], count, seed)
        for _case, requests in planned[scale.label]:
            for index in range(warmup):
                timed(scale.client, requests[index % len(requests)])
    for first in range(0, count, block):
        for scale in scales:
            use_database(scale.database)
            cases = planned[scale.label]
            timed(scale.client, cases[0][1][0])  # opens the connection, untimed
            for index in range(first, min(first + block, count)):
                for case, requests in cases:
                    seconds, cpu, queries = timed(scale.client, requests[index])
                    case.timings.append(seconds)
                    case.cpu.append(cpu)
                    case.queries.append(queries)
    for scale in scales:
        scale.cases = [case for case, _requests in planned[scale.label]]


# -- setup and report ----------------------------------------------------------------------------


def flatness(full: Case, small: Case) -> str:
    """p95 at full scale over p95 at 1 %: 1.0 means the page does not grow with the data."""
    ratio = full.p95 / small.p95
    return f"{ratio:.2f}" if ratio <= FLATNESS_GOAL else f"**{ratio:.2f}**"


def table(full: Scale, small: Scale, count: int) -> str:
    def base(name: str) -> str:
        # The deep pages' numbers differ between scales ("350 of 700" / "4 of 7").
        return name.split(" (")[0] if name.startswith("space page, ") and "page (" in name else name

    return common.markdown_table(
        [
            f"page ({count} requests each)",
            "p50",
            "p95",
            "max",
            "Python CPU p50",
            "SQL queries per request",
            "p95 at 1 %",
            "Python CPU p50 at 1 %",
            "queries at 1 %",
            "flatness",
            f"p95 < {TARGET_MS:.0f} ms",
        ],
        "lrrrrrrrrrc",
        (
            [
                base(case.name),
                f"{case.p50:.1f} ms",
                f"{case.p95:.1f} ms",
                f"{case.max:.1f} ms",
                f"{case.cpu_p50:.1f} ms",
                case.query_label,
                f"{other.p95:.1f} ms",
                f"{other.cpu_p50:.1f} ms",
                other.query_label,
                flatness(case, other),
                case.meets(TARGET_MS),
            ]
            for case, other in zip(full.cases, small.cases, strict=True)
        ),
    )


def main() -> None:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--spaces", type=int, default=20000)
    parser.add_argument("--workspaces", type=int, default=5000)
    parser.add_argument("--bindings", type=int, default=40000)
    parser.add_argument(
        "--small", type=float, default=0.01, help="the second scale, as a share of the sizes (default 1 %%)"
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per case first")
    parser.add_argument(
        "--block", type=int, default=20, help="rounds measured on one scale before switching to the other"
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--database", default=DATABASE, help="database name (the small scale adds _small); dropped afterwards"
    )
    parser.add_argument("--quick", action="store_true", help="20 requests per case, 5 warm-up")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    common.add_record_argument(parser, SECTION)
    options = parser.parse_args()
    if options.quick:
        options.requests, options.warmup = 20, 5

    server_url = options.postgres.rstrip("/")
    scales = [
        Scale("full", options.database, options.spaces, options.workspaces, options.bindings),
        Scale(
            "small",
            f"{options.database}_small",
            round(options.spaces * options.small),
            round(options.workspaces * options.small),
            round(options.bindings * options.small),
        ),
    ]
    for scale in scales:
        postgres_version = common.create_database(server_url, scale.database)
    common.start_django(
        f"{server_url}/{scales[0].database}",
        "pages-bench-",
        {**common.TEST_CLIENT_SETTINGS, "WHARF_TASKS_BACKEND": "django_tasks_db.DatabaseBackend"},
    )
    from django.core.management import call_command
    from django.test import Client

    try:
        for scale in scales:
            use_database(scale.database)
            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            scale.data = load(scale.spaces, scale.workspaces, scale.bindings, options.seed)
            load_seconds = time.perf_counter() - started
            print(
                f"{scale.label}: loaded {scale.spaces:,} spaces "
                f"({' / '.join(f'{s:,}' for s in scale.data['sizes'])} over "
                f"{len(scale.data['sizes'])} registries), {scale.workspaces:,} workspaces, "
                f"{scale.bindings:,} bindings in {load_seconds:.1f} s",
                file=sys.stderr,
            )
            scale.client = Client()
            scale.client.force_login(scale.data["admin"])
        with common.collected_static("wharf-pages-bench-"):
            load_before = common.load_average()
            gc.collect()
            bench(scales, options.requests, options.warmup, options.seed, options.block)
            load_after = common.load_average()
    finally:
        if not options.keep:
            for scale in scales:
                common.drop_database(server_url, scale.database)

    full, small = scales
    machine = common.machine_line(postgres_version)
    method = (
        f"in-process Django test `Client` as the Admin, production settings (DEBUG off, "
        f"tasks queued in the database), "
        f"{options.warmup} warm-up requests then {options.requests} timed per case and "
        f"scale, the cases interleaved and the two scales alternating every "
        f"{options.block} rounds; {common.load_phrase(load_before, load_after)} (this "
        f"benchmark and PostgreSQL alone make about 1)"
    )

    def data_line(scale: Scale) -> str:
        return (
            f"{scale.spaces:,} spaces (pages measured on the registry holding "
            f"{scale.data['sizes'][0]:,} of them), {scale.workspaces:,} workspaces, "
            f"{scale.bindings:,} bindings, {scale.data['credentials']:,} pull credentials "
            f"(robot accounts) over {len(scale.data['sizes'])} Harbor registries"
        )

    report = table(full, small, options.requests)
    print(f"{machine}\n{method}\nfull: {data_line(full)}\n1 %: {data_line(small)}\n")
    print(report)
    if options.record:
        # Notes written by hand ("What the figures say:" to the end of the section) stay.
        common.record(
            SECTION,
            [
                f"{common.recorded_by(__file__)}.",
                "",
                f"- Machine: {machine}.",
                f"- Method: {method}. Times are server time (middleware, view, queries, template), "
                f"without a network or WSGI server in front.",
                f"- Data, full scale: {data_line(full)}.",
                f"- Data, small scale ({options.small:.0%}): {data_line(small)}.",
                f"- Flatness: p95 at full scale / p95 at the small scale; the goal is at most "
                f"{FLATNESS_GOAL} for every page (bold where it is missed).",
                "",
                report,
                "",
            ],
            notes=NOTES,
        )


if __name__ == "__main__":
    main()
