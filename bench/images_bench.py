"""Images and Choose Image benchmark: the picker, Images, tag lists and the explainer at scale.

    .venv/bin/python bench/images_bench.py             # the sizes of issue 5 (about 1.5 minutes)
    .venv/bin/python bench/images_bench.py --quick     # a tenth of the data, fewer requests
    .venv/bin/python bench/images_bench.py --record    # also write the table into bench/RESULTS.md
    .venv/bin/python bench/images_bench.py --keep      # keep the database, then measure it
    .venv/bin/python bench/images_bench.py --reuse     #   again without loading (after changes)

Creates (and afterwards drops) its own database ``wharf_bench_images`` on ``--postgres``
(default ``postgres://postgres@127.0.0.1:5432``) and migrates it. Loads the data of issue 5 with
PostgreSQL ``COPY`` (well under a minute): five registries (three healthy platform registries,
one Unhealthy platform registry, and one Integrated Registry (Workspace) of the benchmark's
workspace), 2,000 registry spaces over them (about 30 % of the platform ones public), 100
workspaces with about 1,500 bindings (the benchmark's workspace is bound to 160 private spaces),
200,000 repositories (about 100 per space, named ``<space>/<word>-<kind>-<number>``) and
1,000,000 tags (a digest, a size, a push time and one or two platforms each): ten repositories
hold 5,000 tags each, the others 1 to 9 (about 5). Then ``VACUUM ANALYZE``, as autovacuum would do after
such a load. The benchmark's workspace has a namespace bound to it and a member who is a
Workspace Editor; every request is that user's.

How it measures: in-process, with Django's test ``Client`` logged in as the Workspace Editor,
through the whole middleware stack (sessions, CSRF, CSP, htmx, auth), the view (or DRF view) and
the template or serializer, against the real database; production settings (``DEBUG`` off,
cached template loader, manifest static files collected into a temporary folder). The figure is
the wall time of ``client.get``: server time without a network or WSGI server in front. Each
case is warmed up, then timed over ``--requests`` requests, the cases interleaved (request i of
every case, then i + 1), rotating over search terms and repositories so no case keeps hitting
one row. SQL queries are counted per request with ``connection.execute_wrapper``, which also
adds up the time spent waiting for them (the "time in SQL" column: the rest of a request's
time is Python: middleware, view, template or serializer).

Search terms rotate over four kinds, a quarter of the requests each: a *prefix* (the start of
a space name, a common word: thousands of repositories match), an *infix* (a word from the
middle of repository names: thousands match), a *rare* string (a repository number: one or a
few match) and *no match* (the picker then also asks whether the other tab has a match, to say
why the list is empty).

Cases (pages are the htmx requests the UI makes; the API is the REST equivalent):

* picker search, Public / Private tab: ``/images/picker/?namespace=&tab=&q=`` with
  ``HX-Target: picker-results`` (the list replaced while typing).
* picker tags: ``/images/picker/<id>/tags/?namespace=`` into the modal, for the repositories
  with 5,000 tags, first pages and deep pages.
* Images search: ``/images/?q=`` (``HX-Target: image-table``); Images, no search: the first page
  of everything the workspace may use.
* repository page: ``/images/<id>/``, the full page with the first page of its 5,000 tags.
* explainer: ``/explain/?namespace=&image=`` (full page) for a public image, a bound private
  image, an image of a space that is not bound, and an unknown tag.
* API: ``/api/v1/namespaces/<id>/images/?tab=&q=``, ``…/images/<id>/tags/``,
  ``…/explain/?image=``.
"""

from __future__ import annotations

import datetime
import gc
import io
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
import common  # noqa: E402

DATABASE = "wharf_bench_images"
SECTION = "## Images and Choose Image (issue 5)"
TARGET_MS = 50.0

KINDS = ["api", "worker", "frontend", "cron", "migrate", "proxy", "exporter", "sidecar", "cli", "operator"]
PLATFORMS = ['["linux/amd64"]', '["linux/amd64", "linux/arm64"]', '["linux/arm64"]']
NO_MATCH = ["zzqx", "nothing-here", "qqq-none", "xyzzy"]

# name, kind, scope, healthy, share of the spaces
REGISTRIES = [
    ("harbor-main", "harbor", "platform", True, 0.45),
    ("harbor-edge", "harbor", "platform", True, 0.25),
    ("registry-lab", "distribution", "platform", True, 0.15),
    ("harbor-old", "harbor", "platform", False, 0.10),
    ("bench-own", "harbor", "workspace", True, 0.05),
]


@dataclass
class Case(common.RequestCase):
    sql_timings: list[float]

    @property
    def sql_p50(self) -> float:
        return statistics.median(self.sql_timings) * 1000

    @property
    def sql_p95(self) -> float:
        return common.nearest_rank(self.sql_timings, 0.95) * 1000


# -- data ----------------------------------------------------------------------------------------


def copy_text(table: str, columns: list[str], lines) -> None:
    """COPY rows given as ready tab-separated lines (none of our values needs escaping)."""
    from django.db import connection

    with connection.cursor() as cursor:
        with cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
            buffer = io.StringIO()
            for number, line in enumerate(lines, 1):
                buffer.write(line)
                buffer.write("\n")
                if number % 20000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())


def load(spaces: int, repositories: int, tags: int, workspaces: int, seed: int) -> dict:
    from django.db import connection, transaction

    from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag
    from testkit.personas import make_user
    from workspaces.models import Cluster, Membership, Namespace, Workspace

    rng = random.Random(seed)
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    stamp = now.isoformat()
    with transaction.atomic():
        workspace_rows = [("bench", "The benchmark's workspace")] + [
            (f"{rng.choice(common.WORDS)}-{number:03d}", f"Workspace {number}")
            for number in range(1, workspaces)
        ]
        copy_text(
            Workspace._meta.db_table,
            ["name", "description", "created"],
            (f"{name}\t{description}\t{stamp}" for name, description in workspace_rows),
        )
        bench = Workspace.objects.get(name="bench")
        workspace_ids = list(Workspace.objects.exclude(pk=bench.pk).values_list("pk", flat=True))

        registries = []
        for name, kind, scope, healthy, _share in REGISTRIES:
            registries.append(
                Registry.objects.create(
                    name=name,
                    kind=kind,
                    url=f"https://{name}.example.com",
                    scope=scope,
                    workspace=bench if scope == "workspace" else None,
                    is_demo=True,
                    status="healthy" if healthy else "unhealthy",
                    status_message="" if healthy else "connection refused",
                    status_changed=None if healthy else now,
                    last_sync=now,
                )
            )
        sizes = [int(spaces * share) for *_rest, share in REGISTRIES]
        sizes[0] += spaces - sum(sizes)
        space_lines = []
        for registry, size in zip(registries, sizes, strict=True):
            for number in range(size):
                public = rng.random() < 0.3
                name = f"{rng.choice(common.WORDS)}-{rng.choice(common.STAGES)}-{registry.pk}{number:04d}"
                space_lines.append(
                    f"{registry.pk}\t{name}\t{'public' if public else 'private'}\t"
                    f"{number}\tf\t0\t{stamp}\t{stamp}\t{stamp}"
                )
        copy_text(
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
            space_lines,
        )
        all_spaces = list(RegistrySpace.objects.select_related("registry").order_by("pk"))

        # Bindings: the benchmark's workspace gets 150 private platform spaces of the healthy
        # registries (and 10 of the unhealthy one); every private platform space is bound to 0-2
        # other workspaces at random: about 1,500 bindings in all.
        private_platform = [
            s for s in all_spaces if s.visibility == "private" and s.registry.scope == "platform"
        ]
        healthy_private = [s for s in private_platform if s.registry.status == "healthy"]
        unhealthy_private = [s for s in private_platform if s.registry.status != "healthy"]
        bench_bound = set(s.pk for s in rng.sample(healthy_private, min(150, len(healthy_private))))
        bench_bound |= set(s.pk for s in rng.sample(unhealthy_private, min(10, len(unhealthy_private))))
        pairs = {(pk, bench.pk) for pk in bench_bound}
        for space in private_platform:
            for workspace_id in rng.sample(workspace_ids, rng.choice([0, 1, 1, 2])):
                pairs.add((space.pk, workspace_id))
        copy_text(
            SpaceBinding._meta.db_table,
            ["space_id", "workspace_id", "created"],
            (f"{space}\t{workspace}\t{stamp}" for space, workspace in sorted(pairs)),
        )

        # Repositories: about repositories / spaces per space (between a third and 5/3 of it).
        weights = [rng.uniform(1, 5) for _ in all_spaces]
        scale = repositories / sum(weights)
        per_space = [int(w * scale) for w in weights]
        per_space[0] += repositories - sum(per_space)
        repo_lines = []
        repo_keys = []  # (space id, name) in load order
        serial = 0
        for space, count in zip(all_spaces, per_space, strict=True):
            for _ in range(count):
                short = f"{rng.choice(common.WORDS)}-{rng.choice(KINDS)}-{serial:06d}"
                if serial % 7 == 0:
                    short = f"tools/{short}"
                name = f"{space.name}/{short}"
                repo_keys.append((space.pk, name))
                repo_lines.append(name)
                serial += 1
        # Tags per repository: ten repositories with 5,000, the rest 1-8, adding up to ``tags``.
        big_count = 10 if repositories >= 1000 else 2
        big_tags = min(5000, tags // 20)
        rest = tags - big_count * big_tags
        tag_counts = [rng.randint(1, 8) for _ in range(repositories - big_count)]
        difference = rest - sum(tag_counts)
        step = 1 if difference > 0 else -1
        index = 0
        while difference:
            value = tag_counts[index % len(tag_counts)] + step
            if 1 <= value <= 9:
                tag_counts[index % len(tag_counts)] = value
                difference -= step
            index += 1
        # The big ones: in spaces the benchmark's workspace can see on both tabs, plus its own.
        visible_public = [
            i
            for i, (space_pk, _name) in enumerate(repo_keys)
            if _space(all_spaces, space_pk).visibility == "public"
            and _space(all_spaces, space_pk).registry.status == "healthy"
            and _space(all_spaces, space_pk).registry.scope == "platform"
        ]
        visible_private = [
            i
            for i, (space_pk, _name) in enumerate(repo_keys)
            if space_pk in bench_bound and _space(all_spaces, space_pk).registry.status == "healthy"
        ]
        big = set(rng.sample(visible_public, big_count // 2)) | set(
            rng.sample(visible_private, big_count - big_count // 2)
        )
        counts = []
        others = iter(tag_counts)
        for position in range(repositories):
            counts.append(big_tags if position in big else next(others))
        pushed_base = now - datetime.timedelta(days=700)
        last_push = [
            pushed_base + datetime.timedelta(minutes=rng.randrange(700 * 24 * 60))
            for _ in range(repositories)
        ]
        copy_text(
            Repository._meta.db_table,
            [
                "space_id",
                "name",
                "description",
                "tag_count",
                "pull_count",
                "upstream_created",
                "last_push",
                "synced",
            ],
            (
                f"{space_pk}\t{name}\t{name.rsplit('/', 1)[-1].split('-')[1]} service of "
                f"{name.split('/', 1)[0]}\t{count}\t{rng.randrange(100000)}\t{stamp}\t"
                f"{pushed.isoformat()}\t{stamp}"
                for (space_pk, name), count, pushed in zip(repo_keys, counts, last_push, strict=True)
            ),
        )
        ids = dict(
            ((space_pk, name), pk)
            for pk, space_pk, name in Repository.objects.values_list("pk", "space_id", "name")
        )
        repo_ids = [ids[key] for key in repo_keys]

        def tag_lines():
            for repo_id, count, pushed in zip(repo_ids, counts, last_push, strict=True):
                for number in range(count):
                    name = "latest" if number == 0 else f"{number // 100}.{number % 100}.{number % 7}"
                    when = pushed - datetime.timedelta(hours=number * 3)
                    yield (
                        f"{repo_id}\t{name}\tsha256:{rng.getrandbits(256):064x}\t"
                        f"{rng.randrange(5_000_000, 900_000_000)}\t{when.isoformat()}\t"
                        f"{PLATFORMS[number % 3]}"
                    )

        copy_text(
            Tag._meta.db_table,
            ["repository_id", "name", "digest", "size", "pushed", "platforms"],
            tag_lines(),
        )
        with connection.cursor() as cursor:
            cursor.execute(
                'UPDATE "registries_registryspace" s SET repository_count = r.n FROM '
                '(SELECT space_id, COUNT(*) AS n FROM "registries_repository" GROUP BY space_id) r '
                "WHERE r.space_id = s.id"
            )

        cluster = Cluster.objects.create(name="bench-cluster")
        namespace = Namespace.objects.create(cluster=cluster, name="bench-apps", workspace=bench)
        Namespace.objects.create(cluster=cluster, name="unbound-apps")
        editor = make_user(
            "bench-editor", workspace=bench, role=Membership.Role.EDITOR, password="bench-editor-password"
        )
    common.vacuum_analyze()
    big_ids = [repo_ids[i] for i in sorted(big)]
    return {
        "registries": registries,
        "workspace": bench,
        "namespace": namespace,
        "editor": editor,
        "sizes": sizes,
        "bindings": len(pairs),
        "bench_bound": bench_bound,
        "big_repositories": big_ids,
        "big_tags": big_tags,
    }


def reload() -> dict:
    """The ``load`` answer for a database kept by an earlier run (``--keep``, then ``--reuse``)."""
    from django.contrib.auth.models import User
    from django.db.models import Count

    from registries.models import Registry, Repository, SpaceBinding
    from workspaces.models import Namespace, Workspace

    bench = Workspace.objects.get(name="bench")
    registries = list(Registry.objects.annotate(n=Count("spaces")).order_by("pk"))
    big_tags = Repository.objects.order_by("-tag_count").values_list("tag_count", flat=True)[0]
    return {
        "registries": registries,
        "workspace": bench,
        "namespace": Namespace.objects.get(name="bench-apps"),
        "editor": User.objects.get(username="bench-editor"),
        "sizes": [registry.n for registry in registries],
        "bindings": SpaceBinding.objects.count(),
        "bench_bound": set(SpaceBinding.objects.filter(workspace=bench).values_list("space_id", flat=True)),
        "big_repositories": list(
            Repository.objects.filter(tag_count=big_tags).order_by("pk").values_list("pk", flat=True)
        ),
        "big_tags": big_tags,
    }


_SPACE_INDEX: dict[int, object] = {}


def _space(all_spaces, pk):
    if not _SPACE_INDEX:
        _SPACE_INDEX.update((space.pk, space) for space in all_spaces)
    return _SPACE_INDEX[pk]


# -- requests ------------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    data: dict | None = None
    headers: dict | None = None
    check: str = ""  # text the answer must contain


def timed(client, request: Request) -> tuple[float, int, float]:
    from django.db import connection

    counter = common.TimedQueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        response = client.get(request.path, request.data, headers=request.headers or {})
        seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(
            f"GET {request.path} {request.data} answered {response.status_code}: {response.content[:300]!r}"
        )
    if request.check not in response.text:
        raise SystemExit(f"GET {request.path} {request.data}: {request.check!r} not in the answer")
    return seconds, counter.count, counter.seconds


def search_terms(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(kind, term): prefix, infix, rare and no-match terms, a quarter each, shuffled."""
    terms = []
    for index in range(count):
        kind = ("prefix", "infix", "rare", "none")[index % 4]
        if kind == "prefix":
            term = rng.choice(common.WORDS)[: rng.randint(3, 6)]
        elif kind == "infix":
            term = f"-{rng.choice(KINDS)}-"
        elif kind == "rare":
            term = f"-{rng.randrange(200000):06d}"
        else:
            term = rng.choice(NO_MATCH)
        terms.append((kind, term))
    rng.shuffle(terms)
    return terms


def plan(data: dict, count: int, seed: int) -> list[tuple[Case, list[Request]]]:
    from django.urls import reverse

    from registries.models import Repository, Tag

    rng = random.Random(seed + 1)
    namespace = data["namespace"]
    cases: list[tuple[Case, list[Request]]] = []

    def case(name: str, requests: list[Request]) -> None:
        cases.append((Case(name, [], [], []), requests))

    picker = reverse("registries:picker")
    results = {"HX-Request": "true", "HX-Target": "picker-results"}
    modal = {"HX-Request": "true", "HX-Target": "modal-body"}
    for tab in ("public", "private"):
        case(
            f"picker search, {tab.capitalize()} tab (htmx)",
            [
                Request(
                    picker,
                    {"namespace": namespace.pk, "tab": tab, "q": term},
                    results,
                    check='id="picker-results"',
                )
                for _kind, term in search_terms(rng, count)
            ],
        )
    big = data["big_repositories"]
    pages = math.ceil(data["big_tags"] / 20)
    case(
        "picker tags, 5,000-tag repository (htmx modal)",
        [
            Request(
                reverse("registries:picker-tags", args=[big[i % len(big)]]),
                {
                    "namespace": namespace.pk,
                    "tab": "public",
                    **({"page": rng.randrange(2, pages + 1)} if i % 2 else {}),
                },
                modal,
                check="Choose a tag of",
            )
            for i in range(count)
        ],
    )
    images = reverse("registries:images")
    case(
        "Images search (htmx)",
        [
            Request(
                images,
                {"q": term},
                {"HX-Request": "true", "HX-Target": "image-table"},
                check='id="image-table"',
            )
            for _kind, term in search_terms(rng, count)
        ],
    )
    case(
        "Images, no search (first / later pages)",
        [
            Request(images, {"page": rng.randrange(2, 50)} if i % 2 else None, check='id="image-table"')
            for i in range(count)
        ],
    )
    case(
        "repository page (tag list, 5,000 tags)",
        [
            Request(
                reverse("registries:repository", args=[big[i % len(big)]]),
                {"page": rng.randrange(2, math.ceil(data["big_tags"] / 50) + 1)} if i % 2 else None,
                check="docker pull",
            )
            for i in range(count)
        ],
    )

    # Explainer: public, bound private, not bound, unknown tag, rotating.
    def references(visibility_filter) -> list[str]:
        rows = list(
            Repository.objects.filter(**visibility_filter)
            .select_related("space__registry")
            .order_by("?")[:count]
        )
        return [f"{r.space.registry.host}/{r.name}:latest" for r in rows]

    public = references(
        {
            "space__visibility": "public",
            "space__registry__status": "healthy",
            "space__registry__scope": "platform",
        }
    )
    private = references({"space__in": list(data["bench_bound"]), "space__registry__status": "healthy"})
    unbound = references(
        {
            "space__visibility": "private",
            "space__registry__scope": "platform",
            "space__registry__status": "healthy",
            "space__bindings__isnull": True,
        }
    )
    unknown_tag = [ref.replace(":latest", ":9.9.9-missing") for ref in public]
    explain_refs = []
    for i in range(count):
        choices = (public, private, unbound, unknown_tag)[i % 4]
        explain_refs.append(choices[i // 4 % len(choices)])
    explain = reverse("registries:explain")
    case(
        "explainer page",
        [
            Request(explain, {"namespace": namespace.pk, "image": ref}, check="in namespace bench-apps")
            for ref in explain_refs
        ],
    )

    api_images = reverse("api:namespace-images", args=[namespace.pk])
    for tab in ("public", "private"):
        case(
            f"API images, {tab} tab, ?q=",
            [
                Request(api_images, {"tab": tab, "q": term}, check='"results"')
                for _kind, term in search_terms(rng, count)
            ],
        )
    case(
        "API tags, 5,000-tag repository",
        [
            Request(
                reverse("api:namespace-image-tags", args=[namespace.pk, big[i % len(big)]]),
                {"page": rng.randrange(2, pages + 1)} if i % 2 else None,
                check='"results"',
            )
            for i in range(count)
        ],
    )
    case(
        "API explain",
        [
            Request(reverse("api:namespace-explain", args=[namespace.pk]), {"image": ref}, check='"checks"')
            for ref in explain_refs
        ],
    )
    assert Tag.objects.filter(repository_id=big[0]).count() == data["big_tags"]
    return cases


def bench(client, data: dict, count: int, warmup: int, seed: int) -> list[Case]:
    """Warm every case up, then run them round-robin: request i of every case, then i + 1."""
    cases = plan(data, count, seed)
    for _case, requests in cases:
        for index in range(warmup):
            timed(client, requests[-1 - index % len(requests)])
    for index in range(count):
        for case, requests in cases:
            seconds, queries, sql_seconds = timed(client, requests[index])
            case.timings.append(seconds)
            case.queries.append(queries)
            case.sql_timings.append(sql_seconds)
    return [case for case, _requests in cases]


# -- setup and report ----------------------------------------------------------------------------


def table(cases: list[Case], count: int) -> str:
    return common.markdown_table(
        [
            f"request ({count} each)",
            "p50",
            "p95",
            "max",
            "SQL queries per request",
            "time in SQL p50 / p95",
            f"p95 < {TARGET_MS:.0f} ms",
        ],
        "lrrrrrc",
        (
            [
                case.name,
                f"{case.p50:.1f} ms",
                f"{case.p95:.1f} ms",
                f"{case.max:.1f} ms",
                case.query_label,
                f"{case.sql_p50:.1f} / {case.sql_p95:.1f} ms",
                case.meets(TARGET_MS),
            ]
            for case in cases
        ),
    )


def main() -> None:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--spaces", type=int, default=2000)
    parser.add_argument("--repositories", type=int, default=200000)
    parser.add_argument("--tags", type=int, default=1000000)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per case first")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="a tenth of the data, 20 requests per case, 5 warm-up"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database an earlier --keep run left (migrated first), without loading it again",
    )
    common.add_record_argument(parser, SECTION)
    options = parser.parse_args()
    if options.quick:
        options.requests, options.warmup = 20, 5
        options.repositories //= 10
        options.tags //= 10

    server_url = options.postgres.rstrip("/")
    postgres_version = (
        common.server_version(server_url) if options.reuse else common.create_database(server_url, DATABASE)
    )
    common.start_django(f"{server_url}/{DATABASE}", "images-bench-", common.TEST_CLIENT_SETTINGS)
    from django.core.management import call_command
    from django.test import Client

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        if options.reuse:
            data = reload()
        else:
            data = load(options.spaces, options.repositories, options.tags, options.workspaces, options.seed)
        load_seconds = time.perf_counter() - started
        print(
            f"loaded {options.spaces:,} spaces ({' / '.join(f'{s:,}' for s in data['sizes'])} "
            f"over {len(data['sizes'])} registries), {options.workspaces:,} workspaces, "
            f"{data['bindings']:,} bindings, {options.repositories:,} repositories, "
            f"{options.tags:,} tags in {load_seconds:.1f} s",
            file=sys.stderr,
        )
        with common.collected_static("wharf-images-bench-"):
            client = Client()
            client.force_login(data["editor"])
            load_before = common.load_average()
            gc.collect()
            cases = bench(client, data, options.requests, options.warmup, options.seed)
            load_after = common.load_average()
    finally:
        if not options.keep:
            common.drop_database(server_url, DATABASE)

    machine = common.machine_line(postgres_version)
    method = (
        f"in-process Django test `Client` as a Workspace Editor, production settings "
        f"(DEBUG off), {options.warmup} warm-up requests then {options.requests} timed per "
        f"case, the cases interleaved; {common.load_phrase(load_before, load_after)} (this "
        f"benchmark and PostgreSQL alone make about 1)"
    )
    data_line = (
        f"{options.spaces:,} spaces over {len(data['sizes'])} registries "
        f"({' / '.join(f'{s:,}' for s in data['sizes'])}: three healthy platform "
        f"registries, an Unhealthy one, and the workspace's own), "
        f"{options.workspaces:,} workspaces, {data['bindings']:,} bindings (150 + 10 "
        f"to the benchmark's workspace), {options.repositories:,} repositories, "
        f"{options.tags:,} tags (ten repositories with {data['big_tags']:,}); "
        + ("the database of an earlier run" if options.reuse else f"loaded with COPY in {load_seconds:.0f} s")
    )
    report = table(cases, options.requests)
    print(f"{machine}\n{method}\n{data_line}\n")
    print(report)
    if options.record:
        common.record(
            SECTION,
            [
                f"{common.recorded_by(__file__)}.",
                "",
                f"- Machine: {machine}.",
                f"- Method: {method}. Times are server time (middleware, view, queries, template or "
                f"serializer), without a network or WSGI server in front.",
                f"- Data: {data_line}.",
                "- Search terms rotate over a prefix (a common word), an infix (a common word in "
                "the middle of names), a rare string (one or a few matches) and a string that "
                "matches nothing, a quarter each.",
                "",
                report,
                "",
            ],
        )


if __name__ == "__main__":
    main()
