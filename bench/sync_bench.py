"""Sync benchmark: a big Harbor (the test double) and a big real docker-registry, on PostgreSQL.

    .venv/bin/python bench/sync_bench.py            # the sizes of issue 3 (a few minutes)
    .venv/bin/python bench/sync_bench.py --quick    # small sizes, to check the script works

Creates (and afterwards drops) its own database ``wharf_sync_bench`` on ``--postgres``
(default ``postgres://postgres@127.0.0.1:5432``) and migrates it. For each registry it measures
a first sync into the empty database, a second sync with nothing changed upstream, and a first
sync again under tracemalloc for the peak memory (tracemalloc slows Python down, so the times
come from the runs without it). The same memory figure is taken at a tenth of the size, to show
it does not grow with the registry. Prints a Markdown table for ``bench/RESULTS.md``.

How the data is made:

* **Harbor**: the Harbor double (``registries/kinds/harbor/tests/harbor_double.py``) runs in a child process,
  so its work and memory are not counted as the sync's. One tag per repository (the double
  answers each repository's artifacts with one more request, whatever the number of tags).
  Two test-only shortcuts keep the double itself from dominating: TCP_NODELAY on its sockets
  and an O(1) way to find an artifact's repository (it scans them all, fine for tests).
* **docker-registry**: one tiny image is pushed with skopeo, then its repository folder in the
  registry's filesystem storage is copied to every other name (the blobs are shared, only the
  small link files are repeated). That takes seconds, where 2,000 skopeo pushes take minutes.
  One tag per repository too; each costs three requests (tag list, manifest, image config).
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
import common  # noqa: E402

DATABASE = "wharf_sync_bench"


@dataclass
class Measure:
    registry: str
    run: str
    seconds: float
    peak_mib: float | None
    requests: int
    queries: int
    spaces: int
    repositories: int
    tags: int
    result: str


# -- the Harbor double, in its own process -------------------------------------------------------


def serve_harbor(pipe, projects: int, repositories: int) -> None:
    """Child process: fill a Harbor double, tell the parent its URL, serve until told to stop."""
    sys.path.insert(0, str(common.ROOT))
    from registries.kinds.harbor.tests import harbor_double as module

    class _HintedRepositories(dict):
        """``values()`` yields the repository being listed first, so the double's scan for an
        artifact's repository stops at once."""

        hint = None

        def values(self):
            if self.hint is not None:
                yield self.hint
            yield from super().values()

    class BenchDouble(module.HarborDouble):
        def __init__(self):
            super().__init__()
            self.repositories = _HintedRepositories()
            self._owner: dict[int, module.Repository] = {}

        def _paged(self, record, raw_query, items, user):
            self.repositories.hint = self._owner.get(id(items))
            try:
                return super()._paged(record, raw_query, items, user)
            finally:
                self.repositories.hint = None

    module._Handler.disable_nagle_algorithm = True
    double = BenchDouble()
    for number in range(repositories):
        project = f"project-{number % projects:04d}"
        if project not in double.projects:
            double.add_project(project, public=number % 3 == 0)
        repository = double.add_repository(project, f"service-{number:05d}", tags=["1.0"])
        double._owner[id(repository.artifacts)] = repository
    double.start()
    pipe.send(double.url)
    while True:
        command = pipe.recv()
        if command == "stop":
            break
        if command == "requests":
            pipe.send(len(double.requests))
            double.clear_requests()
    double.stop()


# -- the real registry, filled through its storage -----------------------------------------------


def fill_registry(server, repositories: int, spaces: int) -> None:
    from registries.tests.real_registry import build_image

    image = build_image(server.workdir / "layout", "1.0")
    server.push(image, "seed/base:1.0")
    root = server.storage / "docker/registry/v2/repositories"
    seed = root / "seed" / "base"
    for number in range(repositories):
        target = root / f"team-{number % spaces:03d}" / f"app-{number:05d}"
        shutil.copytree(seed, target)
    shutil.rmtree(root / "seed")


# -- measuring -----------------------------------------------------------------------------------


def measure(label: str, run_name: str, registry, *, traced: bool = False) -> Measure:
    from django.db import connection

    from registries.sync import sync_registry

    counter = common.QueryCounter()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        run = sync_registry(registry)
    seconds = time.perf_counter() - started
    peak = None
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    if run.result != "succeeded":
        raise SystemExit(f"{label} {run_name}: sync {run.result}: {run.error}")
    return Measure(
        label,
        run_name,
        seconds,
        peak,
        run.requests,
        counter.count,
        run.spaces,
        run.repositories,
        run.tags,
        run.result,
    )


def forget(registry) -> None:
    """Empty the cache of one registry (the next sync is a first sync again)."""
    from registries.models import RegistrySpace, Repository, SyncRun, Tag

    Tag.objects.filter(repository__space__registry=registry).delete()
    Repository.objects.filter(space__registry=registry).delete()
    RegistrySpace.objects.filter(registry=registry).delete()
    SyncRun.objects.filter(registry=registry).delete()


def bench_registry(label: str, registry, small=None) -> list[Measure]:
    rows = [measure(label, "first sync", registry), measure(label, "second sync, unchanged", registry)]
    forget(registry)
    rows.append(measure(label, "first sync, traced", registry, traced=True))
    if small is not None:
        small_label, small_registry = small
        rows.append(measure(small_label, "first sync, traced", small_registry, traced=True))
    return rows


def bench_harbor(projects: int, repositories: int) -> list[Measure]:
    from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER
    from registries.models import Registry

    context = multiprocessing.get_context("spawn")
    doubles = []
    registries = []
    for name, size in (
        ("harbor", (projects, repositories)),
        ("harbor-tenth", (max(1, projects // 10), repositories // 10)),
    ):
        ours, theirs = context.Pipe()
        process = context.Process(target=serve_harbor, args=(theirs, *size), daemon=True)
        process.start()
        doubles.append((process, ours))
        registry = Registry(name=name, kind="harbor", url=ours.recv(), username=ADMIN_USER)
        registry.set_password(ADMIN_PASSWORD)
        registry.save()
        registries.append(registry)
    try:
        label = f"Harbor double, {projects:,} projects / {repositories:,} repositories"
        small = f"Harbor double, a tenth: {projects // 10:,} / {repositories // 10:,}"
        rows = bench_registry(label, registries[0], (small, registries[1]))
        # Cross-check the client's request count with what the server saw.
        doubles[0][1].send("requests")
        served = doubles[0][1].recv()
        print(f"Harbor double served {served:,} requests in all runs", file=sys.stderr)
        return rows
    finally:
        for process, pipe in doubles:
            pipe.send("stop")
            process.join(timeout=10)


def bench_distribution(repositories: int, spaces: int, workdir: Path) -> list[Measure]:
    from registries.models import Registry
    from registries.tests.real_registry import RegistryServer

    servers = []
    registries = []
    try:
        for name, size in (("registry", repositories), ("registry-tenth", repositories // 10)):
            binary, skopeo = shutil.which("docker-registry"), shutil.which("skopeo")
            if not binary or not skopeo:
                raise SystemExit("docker-registry and skopeo are needed (Debian packages)")
            server = RegistryServer(binary, workdir / name, skopeo=skopeo)
            server.start()
            servers.append(server)
            started = time.perf_counter()
            fill_registry(server, size, max(1, min(spaces, size // 40)))
            print(
                f"filled {name} with {size:,} repositories in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            registries.append(Registry.objects.create(name=name, kind="distribution", url=server.url))
        label = f"docker-registry 2.8, {repositories:,} repositories"
        small = f"docker-registry, a tenth: {repositories // 10:,} repositories"
        return bench_registry(label, registries[0], (small, registries[1]))
    finally:
        for server in servers:
            server.stop()


# -- setup and report ----------------------------------------------------------------------------


def table(rows: list[Measure]) -> str:
    return common.markdown_table(
        [
            "registry",
            "run",
            "wall time",
            "peak memory (traced)",
            "HTTP requests",
            "DB queries",
            "spaces",
            "repositories",
            "tags",
        ],
        "llrrrrrrr",
        (
            [
                row.registry,
                row.run,
                f"{row.seconds:.1f} s",
                f"{row.peak_mib:.1f} MiB" if row.peak_mib is not None else "-",
                f"{row.requests:,}",
                f"{row.queries:,}",
                f"{row.spaces:,}",
                f"{row.repositories:,}",
                f"{row.tags:,}",
            ]
            for row in rows
        ),
    )


def main() -> None:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--harbor-repositories", type=int, default=20000)
    parser.add_argument("--registry-repositories", type=int, default=2000)
    parser.add_argument("--registry-spaces", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    options = parser.parse_args()
    if options.quick:
        options.projects //= 10
        options.harbor_repositories //= 10
        options.registry_repositories //= 10

    server_url = options.postgres.rstrip("/")
    postgres_version = common.create_database(server_url, DATABASE)
    common.start_django(f"{server_url}/{DATABASE}", "sync-bench-")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    rows: list[Measure] = []
    try:
        with tempfile.TemporaryDirectory(prefix="wharf-sync-bench-") as workdir:
            rows += bench_harbor(options.projects, options.harbor_repositories)
            rows += bench_distribution(options.registry_repositories, options.registry_spaces, Path(workdir))
    finally:
        if not options.keep:
            common.drop_database(server_url, DATABASE)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"Python {platform.python_version()}, PostgreSQL {postgres_version}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}); max RSS of this process over the "
        f"whole benchmark {rss:.0f} MiB\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
