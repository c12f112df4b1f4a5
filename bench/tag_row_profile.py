"""What a repository's page costs in Python at 5,000 tags: the request, and its template alone.

    .venv/bin/python bench/tag_row_profile.py              # the table (under a minute)
    .venv/bin/python bench/tag_row_profile.py --cprofile   # also the functions that cost most

Creates (and afterwards drops) its own database ``wharf_bench_tags`` on ``--postgres``: one Harbor
registry (never contacted) with a private space bound to a workspace, a repository of 5,000 tags
in it, and a Workspace Editor of that workspace (who may push there, so every row shows the
delete links too, as in bench/images_bench.py's repository page). Every figure is this process's
CPU time (``time.process_time``) per request, the median of ``--runs`` runs of ``--repeat``
requests, production settings (DEBUG off, cached template loader): CPU time hardly moves when
other work competes for the CPU, so runs on a shared machine can be compared.
"""

from __future__ import annotations

import cProfile
import datetime
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
import common  # noqa: E402
from space_row_profile import cpu_median  # noqa: E402

DATABASE = "wharf_bench_tags"
PLATFORMS = (["linux/amd64"], ["linux/amd64", "linux/arm64"], [])


def load(tags: int) -> dict:
    from django.contrib.auth.models import User

    from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag
    from workspaces.models import Membership, Workspace

    now = datetime.datetime.now(datetime.UTC)
    registry = Registry.objects.create(
        name="harbor-tags", kind="harbor", username="admin", url="http://127.0.0.1:9/harbor", last_sync=now
    )
    space = RegistrySpace.objects.create(
        registry=registry,
        name="team",
        visibility="private",
        upstream_id="1",
        repository_count=1,
        upstream_created=now,
    )
    team = Workspace.objects.create(name="team")
    SpaceBinding.objects.create(space=space, workspace=team)
    repository = Repository.objects.create(
        space=space, name="team/api", description="The API", tag_count=tags, last_push=now
    )
    Tag.objects.bulk_create(
        Tag(
            repository=repository,
            name="latest" if n == 0 else f"{n // 100}.{n % 100}.{n % 7}",
            digest=f"sha256:{n:064x}",
            size=5_000_000 + n * 1000,
            platforms=PLATFORMS[n % 3],
            pushed=now - datetime.timedelta(hours=3 * n),
        )
        for n in range(tags)
    )
    editor = User.objects.create_user("tags-editor", password="tags-editor-password")
    Membership.objects.create(user=editor, workspace=team, role=Membership.Role.EDITOR)
    return {"repository": repository, "editor": editor}


def main() -> None:
    parser = common.argument_parser(__doc__)
    parser.add_argument("--tags", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=30, help="requests per run")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (the median is shown)")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--cprofile", action="store_true", help="also profile 20 requests")
    options = parser.parse_args()

    server_url = options.postgres.rstrip("/")
    common.create_database(server_url, options.database)
    common.start_django(f"{server_url}/{options.database}", "tags-bench-", common.TEST_CLIENT_SETTINGS)
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from registries import image_views

    try:
        call_command("migrate", verbosity=0)
        data = load(options.tags)
        common.vacuum_analyze()
        with common.collected_static("wharf-tags-bench-"):
            client = Client()
            client.force_login(data["editor"])
            url = reverse("registries:repository", args=[data["repository"].pk])
            first = client.get(url)
            assert first.status_code == 200 and b"Delete image" in first.content, first.status_code
            captured = {}
            original = image_views.render_page

            def capture(request, template, context, **kwargs):
                captured.update(context=context, request=request)
                return original(request, template, context, **kwargs)

            image_views.render_page = capture
            client.get(url, {"page": 50})
            image_views.render_page = original
            from django.template import engines

            template = engines["django"].get_template("images/repository_detail.html")

            def render():
                template.render(captured["context"], captured["request"])

            load_before = common.load_average()
            figures = [
                (
                    "request, first page (50 tags)",
                    cpu_median(lambda: client.get(url), options.repeat, options.runs),
                ),
                (
                    "request, page 50 of 100",
                    cpu_median(lambda: client.get(url, {"page": 50}), options.repeat, options.runs),
                ),
                ("template alone, page 50", cpu_median(render, options.repeat, options.runs)),
            ]
            load_after = common.load_average()
            if options.cprofile:
                profile = cProfile.Profile()
                profile.enable()
                for _ in range(20):
                    client.get(url, {"page": 50})
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(80)
    finally:
        common.drop_database(server_url, options.database)

    print(
        f"median of {options.runs} runs of {options.repeat} requests; "
        f"{common.load_phrase(load_before, load_after)}\n"
    )
    print(
        common.markdown_table(
            ["what", "CPU per request (median)"], "lr", [[label, f"{ms:.2f} ms"] for label, ms in figures]
        )
    )


if __name__ == "__main__":
    main()
