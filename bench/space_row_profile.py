"""What each part of a Registry space row costs in Python: the engine, hover list, menu, badge.

    .venv/bin/python bench/space_row_profile.py              # the table (about a minute)
    .venv/bin/python bench/space_row_profile.py --cprofile   # also the functions that cost most

Creates (and afterwards drops) its own database ``wharf_bench_rows`` on ``--postgres``: one Harbor
registry (never contacted) with 40 private spaces, each bound to 3 of 10 workspaces, with their
pull credentials (1 in 10 failed, so some rows show the failure with Retry). The database is not
what is measured: every figure is this process's CPU time (``time.process_time``), the median of
``--runs`` runs of ``--repeat`` renders each, with production settings (DEBUG off, cached
template loader, manifest static files).

Rows:

* request: ``client.get`` of the page (20 rows): middleware, view, queries, template.
* request, Profile page: a page with the same layout and no table, for what any page costs.
* template, 20 rows / 0 rows: the page's template rendered alone from the view's context; the
  difference over 20 is one row's template work.
* without <part>: the same template with that part of the row cut out (string surgery on the
  template source, compiled by the same engine); the difference with the whole template is what
  the part costs per page. Since the rows are built by registries/rows.py (in the view), the
  template has no such parts and these lines are skipped; run it on older code to see them.

The machine is shared with other work: CPU time hardly moves when others compete for the CPU
(wall time does), and the medians of several runs are given.
"""

from __future__ import annotations

import cProfile
import datetime
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
import common  # noqa: E402

DATABASE = "wharf_bench_rows"
TEMPLATE = "registries/space_list.html"

# Parts of the row, as (label, pattern cut out of the template source). Each pattern matches
# one stretch of the row's markup; the surgery fails loudly when the template changes shape.
PARTS = [
    ("the ⋮ menu", r'<details class="menu">.*?</details>'),
    ("the hover list", r'<span class="hover-list">.*?</ul>\s*</span>'),
    ("the propagation badge (include)", r'\{% include "registries/_propagation.html" %\}'),
    (
        "the row's hx-get (one URL)",
        r'hx-get="(\{% url \'registries:space-row\' registry.pk space.pk %\}|\{\{ space.urls.row \}\})"',
    ),
]


def load(spaces: int, workspaces: int) -> dict:
    from registries.models import PullCredential, Registry, RegistrySpace, SpaceBinding
    from testkit.personas import make_user
    from workspaces.models import Workspace

    now = datetime.datetime.now(datetime.UTC)
    registry = Registry.objects.create(
        name="harbor-rows", kind="harbor", username="admin", url="http://127.0.0.1:9/harbor", last_sync=now
    )
    teams = Workspace.objects.bulk_create(Workspace(name=f"team-{n:02d}") for n in range(workspaces))
    rows = RegistrySpace.objects.bulk_create(
        RegistrySpace(
            registry=registry,
            name=f"service-{n:03d}",
            visibility="private",
            upstream_id=str(n),
            repository_count=n % 4,
            upstream_created=now,
        )
        for n in range(spaces)
    )
    SpaceBinding.objects.bulk_create(
        SpaceBinding(space=space, workspace=teams[(index + k) % workspaces])
        for index, space in enumerate(rows)
        for k in range(3)
    )
    PullCredential.objects.bulk_create(
        PullCredential(
            registry=registry,
            workspace=team,
            username=f"robot$wharf-{team.pk}",
            state="failed" if n == 0 else "done",
            attempts=3 if n == 0 else 1,
            error="Harbor answered 500 Internal Server Error" if n == 0 else "",
        )
        for n, team in enumerate(teams)
    )
    admin = make_user("rows-admin", admin=True, password="rows-admin-password")
    return {"registry": registry, "admin": admin}


def cpu_median(work, repeat: int, runs: int) -> float:
    """Milliseconds of CPU per call of ``work``: the median of ``runs`` runs of ``repeat`` calls."""
    figures = []
    for _run in range(runs):
        started = time.process_time()
        for _ in range(repeat):
            work()
        figures.append((time.process_time() - started) / repeat * 1000)
    return statistics.median(figures)


def main() -> None:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=50, help="renders per run")
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (the median is shown)")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--cprofile", action="store_true", help="also profile 20 requests")
    parser.add_argument("--sort", default="tottime", help="cProfile order (tottime, cumulative, ...)")
    options = parser.parse_args()

    server_url = options.postgres.rstrip("/")
    common.create_database(server_url, options.database)
    common.start_django(f"{server_url}/{options.database}", "rows-bench-", common.TEST_CLIENT_SETTINGS)
    from django.core.management import call_command
    from django.template import engines
    from django.test import Client
    from django.urls import reverse

    from registries import views

    try:
        call_command("migrate", verbosity=0)
        data = load(40, 10)
        with common.collected_static("wharf-rows-bench-"):
            client = Client()
            client.force_login(data["admin"])
            url = reverse("registries:spaces", args=[data["registry"].pk])
            assert client.get(url).status_code == 200
            # The view's context, captured once: the template is then rendered alone.
            captured = {}
            original = views.render_page

            def capture(request, template, context, **kwargs):
                captured.update(context=context, request=request)
                return original(request, template, context, **kwargs)

            views.render_page = capture
            client.get(url)
            views.render_page = original
            request, context = captured["request"], captured["context"]
            page = context["page"]
            engine = engines["django"]
            source = Path(engine.engine.find_template(TEMPLATE)[1].name).read_text()

            def render_with(template_source: str, rows):
                template = engine.from_string(template_source)

                def work():
                    template.render({**context, "page": rows}, request)

                return work

            load_before = common.load_average()
            empty = page.paginator.page(1)
            empty.object_list = []
            figures = [
                ("request (20 rows)", cpu_median(lambda: client.get(url), options.repeat, options.runs)),
                ("template, 20 rows", cpu_median(render_with(source, page), options.repeat, options.runs)),
                # What every page costs (middleware, session, the layout and navigation), for scale.
                (
                    "request, Profile page (the layout, no table)",
                    cpu_median(lambda: client.get(reverse("profile")), options.repeat, options.runs),
                ),
                ("template, 0 rows", cpu_median(render_with(source, empty), options.repeat, options.runs)),
            ]
            for label, pattern in PARTS:
                variant, cuts = re.subn(pattern, "", source, count=1, flags=re.DOTALL)
                if cuts != 1:
                    # Since the rows are built by registries/rows.py the template has no row parts.
                    print(f"{label}: not in {TEMPLATE} (the row is registries/rows.py space_row)")
                    continue
                figures.append(
                    (
                        f"template, 20 rows, without {label}",
                        cpu_median(render_with(variant, page), options.repeat, options.runs),
                    )
                )
            load_after = common.load_average()
            if options.cprofile:
                profile = cProfile.Profile(time.process_time)  # CPU, not waits for the database
                profile.enable()
                for _ in range(20):
                    client.get(url)
                profile.disable()
                stats = pstats.Stats(profile).sort_stats(options.sort)
                stats.print_stats(250)
                stats.print_callers(
                    r"builtins.dir|related_descriptors.py:\d+\(__init__\)|urls/base.py:\d+\(reverse\)"
                )
    finally:
        common.drop_database(server_url, options.database)

    whole, rows, none = figures[1][1], figures[1][1], figures[3][1]
    table = common.markdown_table(
        ["what is rendered", "CPU per page (median)", "per row", "the part costs per page"],
        "lrrr",
        [
            [
                label,
                f"{ms:.2f} ms",
                f"{(rows - none) / 20:.3f} ms" if label == "template, 20 rows" else "",
                f"{whole - ms:.2f} ms" if label.startswith("template, 20 rows, without") else "",
            ]
            for label, ms in figures
        ],
    )
    print(
        f"median of {options.runs} runs of {options.repeat} renders; "
        f"{common.load_phrase(load_before, load_after)}\n"
    )
    print(table)


if __name__ == "__main__":
    main()
