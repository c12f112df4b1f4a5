"""What the benchmark scripts in this folder share: their database, Django's start, figures, reports.

bench/ is not a package: every script runs standalone (``.venv/bin/python bench/<name>.py``),
puts this folder on ``sys.path`` and imports this module as ``common``. Only what several
scripts did the same way lives here; what a benchmark loads, measures and prints stays in its
script, so that changing one benchmark does not change the figures of another. The users and
objects a script makes one by one come from the test kit (``testkit.personas.make_user``,
``testkit.factories``, ``testkit.doubles``), as in the tests; it imports once ``start_django``
has put the checkout on ``sys.path``. Bulk loads stay in the scripts (COPY, ``bulk_create``).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
POSTGRES = "postgres://postgres@127.0.0.1:5432"

# The words the loaders build names from (spaces, workspaces, repositories), and the stages
# that name a space's environment: the searches of each benchmark look for them.
WORDS = [
    "payments",
    "orders",
    "billing",
    "search",
    "catalog",
    "checkout",
    "auth",
    "gateway",
    "media",
    "analytics",
    "mobile",
    "web",
    "data",
    "ml",
    "infra",
    "platform",
    "shipping",
    "inventory",
    "risk",
    "fraud",
    "ledger",
    "notify",
    "profile",
    "reports",
    "ads",
    "maps",
    "chat",
    "video",
    "audio",
    "backup",
]
STAGES = ["dev", "test", "staging", "prod", "sandbox", "perf"]

# Production settings as far as Django's test client allows: it asks for host "testserver" and
# speaks plain HTTP, which the production SSL redirect would answer with a 301.
TEST_CLIENT_SETTINGS = {"DEBUG": "false", "ALLOWED_HOSTS": "testserver", "SECURE_SSL_REDIRECT": "false"}


# -- command line --------------------------------------------------------------------------------


def argument_parser(doc: str) -> argparse.ArgumentParser:
    """The script's parser: its docstring's first paragraph as description, and ``--postgres``.

    Every benchmark is given a server, not a database: it makes (and drops) its own database
    there, so it never measures or damages a development database.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--postgres", default=POSTGRES, help="PostgreSQL server URL without a database name")
    return parser


def add_record_argument(parser: argparse.ArgumentParser, section: str) -> None:
    """``--record``, naming the RESULTS.md section it rewrites, so nobody runs it by surprise."""
    parser.add_argument(
        "--record", action="store_true", help=f"write the results into bench/RESULTS.md ({section!r})"
    )


# -- database and Django -------------------------------------------------------------------------


def server_version(server_url: str) -> str:
    """The PostgreSQL server's version, for the report: figures depend on it."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        return admin.execute("SHOW server_version").fetchone()[0]


def create_database(server_url: str, database: str) -> str:
    """Create the benchmark's own ``database`` empty and return the server's version.

    A database of that name is dropped first: it is what an interrupted (or ``--keep``) run left.
    """
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
        admin.execute(f'CREATE DATABASE "{database}"')
    return server_version(server_url)


def drop_database(server_url: str, database: str) -> None:
    """Drop the benchmark's ``database``, closing Django's connections first.

    PostgreSQL refuses to drop a database that still has sessions, and Django keeps its own open.
    """
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}"')


def start_django(
    database_url: str, key_prefix: str, settings: dict[str, str] | None = None, *, fresh: bool = False
) -> None:
    """Configure Django through the environment (as in production) for ``database_url``, set it up.

    ``settings`` are further environment variables. A new SECRET_KEY (starting with
    ``key_prefix``) and encryption key are made, as DEBUG off requires both, and logging is
    kept to warnings so it does not mix with the report; where the caller's environment already
    has them it wins, unless ``fresh`` (then a run never depends on that environment). Child
    processes started afterwards (gunicorn, a task worker) inherit the same variables, so they
    can decrypt what this process stores.
    """
    from cryptography.fernet import Fernet

    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ.update(settings or {})
    defaults = {
        "SECRET_KEY": key_prefix + Fernet.generate_key().decode(),
        "WHARF_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "LOG_LEVEL": "WARNING",
    }
    for name, value in defaults.items():
        if fresh:
            os.environ[name] = value
        else:
            os.environ.setdefault(name, value)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    # As a gunicorn worker does after loading the application (portal/wsgi.py).
    from portal.startup import freeze_startup_objects

    freeze_startup_objects()


@contextmanager
def collected_static(prefix: str) -> Iterator[None]:
    """Collect the static files into a temporary folder for as long as the block runs.

    With DEBUG off the pages use the manifest static storage, as in production: rendering a page
    needs the collected files (and their manifest), which must not land in the checkout.
    """
    import tempfile

    from django.core.management import call_command
    from django.test.utils import override_settings

    with (
        tempfile.TemporaryDirectory(prefix=prefix) as static_root,
        override_settings(STATIC_ROOT=static_root),
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield


def vacuum_analyze() -> None:
    """``VACUUM ANALYZE`` the database, as autovacuum would do after a bulk load.

    Without it the planner measured right after a load knows nothing of the tables' sizes and
    picks plans production would not.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# -- measuring -----------------------------------------------------------------------------------


class QueryCounter:
    """Counts SQL queries; install with ``connection.execute_wrapper(counter)``."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class TimedQueryCounter(QueryCounter):
    """Counts SQL queries and adds up the time spent waiting for them (the database's share).

    Separate from ``QueryCounter`` so that the benchmarks that do not report this time do not
    pay for the clock readings.
    """

    def __init__(self):
        super().__init__()
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


def nearest_rank(values: Iterable[float], q: float) -> float:
    """The ``q`` quantile by nearest rank: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class RequestCase:
    """One case of a request benchmark: each request's wall time (seconds) and SQL query count.

    The properties give milliseconds, as the tables show them.
    """

    name: str
    timings: list[float]
    queries: list[int]

    def quantile(self, q: float) -> float:
        return nearest_rank(self.timings, q) * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.timings) * 1000

    @property
    def p95(self) -> float:
        return self.quantile(0.95)

    @property
    def max(self) -> float:
        return max(self.timings) * 1000

    @property
    def query_label(self) -> str:
        """``3``, or ``3-5`` when requests of the case differ (a page with more rows)."""
        low, high = min(self.queries), max(self.queries)
        return str(low) if low == high else f"{low}-{high}"

    def meets(self, target_ms: float) -> str:
        """The target column: ``yes``, or a bold ``no`` that stands out in the table."""
        return "yes" if self.p95 < target_ms else "**no**"


# -- report --------------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name, for the report: the same figures mean little without it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line(postgres_version: str, *, with_cpu_model: bool = True) -> str:
    """What ran the benchmark: CPUs, Python, Django and PostgreSQL (on loopback, no network)."""
    import django

    cpus = f"{os.cpu_count()} CPUs ({cpu_model()})" if with_cpu_model else f"{os.cpu_count()} CPUs"
    return (
        f"{cpus}, Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {postgres_version} on loopback"
    )


def load_average() -> float:
    """The 1-minute load average. The machine may be shared: a busy one slows every figure down,
    so the reports give it before and after a run."""
    return os.getloadavg()[0]


def load_phrase(before: float, after: float) -> str:
    """The load averages of ``load_average`` as the reports word them."""
    return f"1-minute load average {before:.2f} before the run and {after:.2f} at its end"


def markdown_table(header: list[str], align: str, rows: Iterable[list[str]]) -> str:
    """A Markdown table (for the terminal and RESULTS.md alike), a list of cells a row.

    ``align`` has one letter a column: ``l`` (left), ``r`` (right, for figures) or ``c``.
    """
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [f"| {' | '.join(header)} |", f"|{'|'.join(marks[letter] for letter in align)}|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def recorded_by(script: str) -> str:
    """How and when a RESULTS.md section was written; the caller ends the sentence."""
    return f"`.venv/bin/python bench/{Path(script).name} --record`, {datetime.date.today().isoformat()}"


def record(section: str, parts: list[str], *, notes: str | None = None) -> None:
    """Write ``section`` (its heading, a blank line, then ``parts``) into RESULTS.md.

    Only that section is replaced (up to the next ``## `` heading): the other benchmarks' stay as
    they were recorded. With ``notes``, the lines of the old section from the first one starting
    with it (notes written by hand about the figures) stay too. A new section goes at the end.
    """
    text = "\n".join([section, "", *parts]).rstrip("\n").splitlines()
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    lines = current.splitlines()
    if section in lines:
        start = lines.index(section)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        keep = (
            end if notes is None else next((i for i in range(start, end) if lines[i].startswith(notes)), end)
        )
        # The blank line before what follows; at the end of the file the final strip drops it.
        lines[start:keep] = [*text, ""]
    else:
        lines += ["", *text]
    RESULTS.write_text("\n".join(lines).rstrip("\n") + "\n")
    print(f"\nwritten to {RESULTS}", file=sys.stderr)
