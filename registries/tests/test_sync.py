"""Sync against Debian's real docker-registry and the Harbor double, both over real HTTP."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from datetime import timedelta
from io import StringIO

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registries import sync as sync_module
from registries.kinds.harbor.tests.harbor_double import ADMIN_PASSWORD, ADMIN_USER, HarborDouble
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, SyncRun, Tag
from registries.sync import ABANDONED, DEMO_REFUSAL, sync_registry
from registries.tasks import enqueue_sync

pytestmark = pytest.mark.integration


def distribution_registry(server, name: str = "local", **fields) -> Registry:
    return Registry.objects.create(name=name, kind="distribution", url=server.url, **fields)


def harbor_registry(
    double: HarborDouble, name: str = "harbor", password: str = ADMIN_PASSWORD, **fields
) -> Registry:
    registry = Registry(name=name, kind="harbor", url=double.url, username=ADMIN_USER, **fields)
    registry.set_password(password)
    registry.save()
    return registry


def snapshot(registry: Registry) -> dict[str, list[tuple]]:
    """Everything sync may write, as comparable values (ids and timestamps of writes left out)."""
    spaces = RegistrySpace.objects.filter(registry=registry)
    repositories = Repository.objects.filter(space__registry=registry)
    tags = Tag.objects.filter(repository__space__registry=registry)
    return {
        "spaces": sorted(
            spaces.values_list("id", "name", "visibility", "missing", "repository_count", "upstream_id")
        ),
        "repositories": sorted(
            repositories.values_list("id", "name", "tag_count", "last_push", "pull_count", "description")
        ),
        "tags": sorted(
            tags.values_list("id", "repository__name", "name", "digest", "size", "pushed", "platforms")
        ),
    }


def counts(run: SyncRun) -> tuple[int, int, int]:
    return run.spaces, run.repositories, run.tags


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]


def fill_harbor(double: HarborDouble, projects: int, repositories: int) -> None:
    for number in range(repositories):
        double.add_repository(f"p{number % projects}", f"repo-{number:04d}", tags=["1.0"])


# -- the real registry -------------------------------------------------------------------------


def test_sync_copies_spaces_repositories_and_tags_from_a_real_registry(db, populated_registry):
    registry = distribution_registry(populated_registry, status="unhealthy", status_message="was down")

    run = sync_registry(registry)

    assert run.result == "succeeded", run.error
    assert counts(run) == (3, 5, 6)
    assert run.requests > 0
    assert run.finished is not None
    spaces = {space.name: space for space in RegistrySpace.objects.filter(registry=registry)}
    assert {name: space.repository_count for name, space in spaces.items()} == {
        "library": 1,
        "team-a": 2,
        "team-b": 2,
    }
    # A plain registry lets anyone pull: its spaces start public.
    assert {space.visibility for space in spaces.values()} == {"public"}
    assert not any(space.missing for space in spaces.values())
    assert set(Repository.objects.filter(space__registry=registry).values_list("space__name", "name")) == {
        ("library", "alpine"),
        ("team-a", "team-a/api"),
        ("team-a", "team-a/tools/cli"),
        ("team-b", "team-b/web"),
        ("team-b", "team-b/multi"),
    }
    for ref, image in populated_registry.pushed.items():
        name, _, tag_name = ref.rpartition(":")
        tag = Tag.objects.get(repository__name=name, name=tag_name)
        assert (tag.digest, tag.size, tag.pushed) == (image.digest, image.size, image.created)
        assert tag.platforms == list(image.platforms)
    assert Tag.objects.get(repository__name="team-b/multi").platforms == ["linux/amd64", "linux/arm64"]
    api = Repository.objects.get(name="team-a/api")
    assert api.tag_count == 2
    assert api.last_push == max(populated_registry.pushed[f"team-a/api:{t}"].created for t in ("1.0", "1.1"))
    registry.refresh_from_db()
    assert registry.status == "healthy"
    assert (registry.status_message, registry.last_sync_error) == ("", "")
    assert registry.last_sync is not None
    assert registry.status_changed is not None


def test_second_sync_of_an_unchanged_registry_changes_nothing(db, populated_registry):
    registry = distribution_registry(populated_registry)
    first = sync_registry(registry)
    before = snapshot(registry)

    with CaptureQueriesContext(connection) as queries:
        second = sync_registry(registry)

    assert second.result == "succeeded", second.error
    assert counts(second) == counts(first)
    assert snapshot(registry) == before
    # Unchanged spaces and tags are not even written; only the run, the registry's status and
    # the repositories' "confirmed by this run" mark are.
    written = " ".join(writes(queries))
    assert '"registries_tag"' not in written
    assert 'INTO "registries_registryspace"' not in written
    assert 'UPDATE "registries_registryspace"' not in written


def test_sync_follows_new_and_deleted_tags(db, populated_registry, oci_images):
    registry = distribution_registry(populated_registry)
    sync_registry(registry)
    populated_registry.push(oci_images["team-a/api:1.0"], "team-a/api:1.2", source_tag="1.0")
    digest = populated_registry.pushed["team-b/web:2.0"].digest
    assert httpx.delete(f"{populated_registry.url}/v2/team-b/web/manifests/{digest}").status_code == 202

    run = sync_registry(registry)

    assert run.result == "succeeded", run.error
    api = Repository.objects.get(name="team-a/api")
    assert sorted(api.tags.values_list("name", flat=True)) == ["1.0", "1.1", "1.2"]
    assert api.tag_count == 3
    # The registry still lists the repository, with no tags left.
    web = Repository.objects.get(name="team-b/web")
    assert (web.tag_count, web.tags.count()) == (0, 0)


def test_wharf_keeps_the_visibility_of_distribution_spaces(db, populated_registry):
    registry = distribution_registry(populated_registry)
    sync_registry(registry)
    RegistrySpace.objects.filter(registry=registry, name="team-a").update(visibility="private")
    # Made in Wharf before anything was pushed to it.
    RegistrySpace.objects.create(registry=registry, name="team-z", visibility="private")

    assert sync_registry(registry).result == "succeeded"

    spaces = dict(RegistrySpace.objects.filter(registry=registry).values_list("name", "visibility"))
    assert spaces == {"library": "public", "team-a": "private", "team-b": "public", "team-z": "private"}
    assert not RegistrySpace.objects.get(registry=registry, name="team-z").missing


def test_new_spaces_behind_the_token_service_start_private(db, populated_registry):
    registry = distribution_registry(populated_registry, token_service=True)
    assert sync_registry(registry).result == "succeeded"
    visibilities = set(RegistrySpace.objects.filter(registry=registry).values_list("visibility", flat=True))
    assert visibilities == {"private"}


def test_distribution_space_deleted_upstream_is_marked_missing_and_keeps_its_bindings(
    db, populated_registry, workspace
):
    registry = distribution_registry(populated_registry)
    sync_registry(registry)
    team_b = RegistrySpace.objects.get(registry=registry, name="team-b")
    SpaceBinding.objects.create(space=team_b, workspace=workspace)
    repositories = populated_registry.storage / "docker/registry/v2/repositories"
    shutil.rmtree(repositories / "team-b")

    run = sync_registry(registry)

    assert run.result == "succeeded", run.error
    team_b.refresh_from_db()
    assert team_b.missing
    assert team_b.repository_count == 0
    assert SpaceBinding.objects.filter(space=team_b, workspace=workspace).exists()
    assert not Repository.objects.filter(space=team_b).exists()
    assert not RegistrySpace.objects.get(registry=registry, name="team-a").missing


def test_stopped_registry_turns_unhealthy_and_keeps_the_data(db, populated_registry):
    registry = distribution_registry(populated_registry)
    sync_registry(registry)
    before = snapshot(registry)
    populated_registry.stop()

    run = sync_registry(registry)

    assert run.result == "failed"
    assert snapshot(registry) == before
    registry.refresh_from_db()
    assert registry.status == "unhealthy"
    assert registry.get_status_display() == "Unhealthy"
    assert f"Cannot connect to the registry at {populated_registry.host}" in registry.status_message
    assert registry.last_sync_error == registry.status_message == run.error
    assert "Traceback" not in run.error
    assert registry.status_changed is not None
    assert registry.status_changed >= run.started


def test_registry_stopped_mid_sync_changes_nothing(db, populated_registry, monkeypatch):
    registry = distribution_registry(populated_registry)
    sync_registry(registry)
    # Something to lose: a tag gone upstream, and one that a partial run must not delete.
    populated_registry.push(populated_registry.pushed["team-a/api:1.0"], "team-a/api:1.9", source_tag="1.0")
    before = snapshot(registry)
    real_client_for = sync_module.client_for

    def client_that_loses_its_registry(kind, conn):
        client = real_client_for(kind, conn)
        read_tags = client.iter_tags

        def iter_tags(repository):
            if repository == "team-a/tools/cli":
                populated_registry.stop()
            return read_tags(repository)

        client.iter_tags = iter_tags
        return client

    monkeypatch.setattr(sync_module, "client_for", client_that_loses_its_registry)
    run = sync_registry(registry, batch_size=1)

    assert run.result == "failed"
    # Repositories before team-a/tools/cli were already read (and written, in batches of one).
    assert run.repositories >= 2
    assert snapshot(registry) == before
    registry.refresh_from_db()
    assert registry.status == "unhealthy"
    assert "Cannot connect" in registry.status_message


# -- the Harbor double -------------------------------------------------------------------------


def test_harbor_sync_copies_visibility_tags_and_platforms(db, harbor_double):
    harbor_double.add_project("team-a", public=False)
    harbor_double.add_repository("team-a", "api", tags=["1.0"], description="the API", pull_count=7)
    harbor_double.add_artifact("team-a", "api", ["1.1", "latest"], platforms=["linux/amd64", "linux/arm64"])
    harbor_double.add_repository("library", "tools/cli", tags=["2.0"])
    registry = harbor_registry(harbor_double)

    run = sync_registry(registry)

    assert run.result == "succeeded", run.error
    assert counts(run) == (2, 2, 4)
    spaces = {space.name: space for space in RegistrySpace.objects.filter(registry=registry)}
    assert {name: space.visibility for name, space in spaces.items()} == {
        "library": "public",
        "team-a": "private",
    }
    assert spaces["team-a"].upstream_id == str(harbor_double.projects["team-a"].id)
    assert spaces["team-a"].repository_count == 1
    api = Repository.objects.get(name="team-a/api")
    assert (api.description, api.pull_count, api.tag_count) == ("the API", 7, 3)
    index = harbor_double.repositories["team-a/api"].artifacts[1]
    latest = api.tags.get(name="latest")
    assert (latest.digest, latest.size, latest.pushed) == (index.digest, index.size, index.pushed)
    assert latest.platforms == ["linux/amd64", "linux/arm64"]
    assert api.last_push == index.pushed
    assert Repository.objects.filter(name="library/tools/cli", space=spaces["library"]).exists()

    # Harbor owns visibility: a change there is copied on the next sync.
    harbor_double.projects["team-a"].public = True
    assert sync_registry(registry).result == "succeeded"
    assert RegistrySpace.objects.get(registry=registry, name="team-a").visibility == "public"


def test_harbor_project_deleted_upstream_is_marked_missing_and_comes_back(db, harbor_double, workspace):
    harbor_double.add_project("team-a")
    harbor_double.add_repository("team-a", "api")
    registry = harbor_registry(harbor_double)
    sync_registry(registry)
    space = RegistrySpace.objects.get(registry=registry, name="team-a")
    SpaceBinding.objects.create(space=space, workspace=workspace)
    with harbor_double.lock:
        del harbor_double.repositories["team-a/api"]
        del harbor_double.projects["team-a"]

    assert sync_registry(registry).result == "succeeded"
    space.refresh_from_db()
    assert (space.missing, space.repository_count) == (True, 0)
    assert space.bindings.count() == 1
    assert not Repository.objects.filter(space=space).exists()

    harbor_double.add_project("team-a")
    harbor_double.add_repository("team-a", "api")
    assert sync_registry(registry).result == "succeeded"
    space.refresh_from_db()
    assert (space.missing, space.repository_count) == (False, 1)
    assert space.bindings.count() == 1


def test_harbor_failing_on_page_3_changes_nothing(db, harbor_double):
    fill_harbor(harbor_double, projects=5, repositories=400)
    registry = harbor_registry(harbor_double)
    assert sync_registry(registry).result == "succeeded"
    before = snapshot(registry)
    # Upstream changes that a partial sync must not half-apply.
    with harbor_double.lock:
        for name in [name for name in harbor_double.repositories if name.startswith("p0/")]:
            del harbor_double.repositories[name]
        harbor_double.projects["p1"].public = True
    harbor_double.add_repository("p2", "repo-0002", tags=["2.0"])
    harbor_double.fail_on("/api/v2.0/repositories", 500, after_n=2)

    # Batches of 50: the first two pages were read and written before page 3 failed.
    run = sync_registry(registry, batch_size=50)

    assert run.result == "failed"
    assert run.repositories == 200
    assert snapshot(registry) == before
    registry.refresh_from_db()
    assert registry.status == "unhealthy"
    assert registry.status_message == (
        f"Harbor at {harbor_double.url} failed on GET /api/v2.0/repositories with HTTP 500 "
        "Internal Server Error. Harbor said: injected failure"
    )
    assert registry.status_changed is not None
    assert run.error == registry.status_message == registry.last_sync_error

    harbor_double.clear_faults()
    assert sync_registry(registry).result == "succeeded"
    registry.refresh_from_db()
    assert (registry.status, registry.status_message, registry.last_sync_error) == ("healthy", "", "")
    assert not Repository.objects.filter(space__registry=registry, name__startswith="p0/").exists()
    assert RegistrySpace.objects.get(registry=registry, name="p1").visibility == "public"


def test_wrong_password_is_an_authentication_failure_that_never_shows_the_password(db, harbor_double, caplog):
    harbor_double.add_repository("library", "api")
    registry = harbor_registry(harbor_double)
    sync_registry(registry)
    before = snapshot(registry)
    wrong = "Wr0ng-Secret-Pa55"
    registry.set_password(wrong)
    registry.save()

    with caplog.at_level(logging.INFO, logger="wharf.sync"):
        run = sync_registry(registry)

    assert run.result == "failed"
    registry.refresh_from_db()
    assert registry.status == "unhealthy"
    assert "did not accept the user name and password" in registry.status_message
    assert snapshot(registry) == before
    for text in (registry.status_message, registry.last_sync_error, run.error, caplog.text):
        assert wrong not in text
    assert "did not accept the user name and password" in caplog.text
    assert "Traceback" not in caplog.text


def test_database_queries_do_not_grow_with_the_number_of_repositories(db, harbor_double):
    fill_harbor(harbor_double, projects=2, repositories=10)
    small = harbor_registry(harbor_double, name="small")
    with HarborDouble() as bigger_double:
        fill_harbor(bigger_double, projects=2, repositories=60)
        big = harbor_registry(bigger_double, name="big")

        with CaptureQueriesContext(connection) as small_queries:
            assert sync_registry(small).result == "succeeded"
        with CaptureQueriesContext(connection) as big_queries:
            assert sync_registry(big).result == "succeeded"
        with CaptureQueriesContext(connection) as big_again:
            assert sync_registry(big).result == "succeeded"

    assert Tag.objects.filter(repository__space__registry=big).count() == 60
    assert len(big_queries) == len(small_queries)
    assert len(big_again) <= len(big_queries)


def test_queries_grow_per_batch_not_per_repository(db, harbor_double):
    fill_harbor(harbor_double, projects=2, repositories=60)
    registry = harbor_registry(harbor_double)

    with CaptureQueriesContext(connection) as queries:
        run = sync_registry(registry, batch_size=20)

    assert run.result == "succeeded", run.error
    assert Repository.objects.filter(space__registry=registry).count() == 60
    # Three batches of 20, a handful of queries each, plus a fixed number for the run.
    assert len(queries) < 40


def test_a_repository_deleted_during_the_sync_is_dropped(db, harbor_double):
    for name in ("api", "web", "cli"):
        harbor_double.add_repository("library", name)
    registry = harbor_registry(harbor_double)
    sync_registry(registry)
    # Listed, then gone when its tags are read.
    harbor_double.fail_on("/api/v2.0/projects/library/repositories/web/", 404)

    run = sync_registry(registry)

    assert run.result == "succeeded", run.error
    assert sorted(Repository.objects.values_list("name", flat=True)) == ["library/api", "library/cli"]


def test_a_registry_that_loses_most_repositories_it_just_listed_changes_nothing(db, harbor_double):
    fill_harbor(harbor_double, projects=1, repositories=12)
    registry = harbor_registry(harbor_double)
    sync_registry(registry)
    before = snapshot(registry)
    harbor_double.fail_on("/api/v2.0/projects/p0/repositories/", 404)

    run = sync_registry(registry)

    assert run.result == "failed"
    assert run.error == (
        "The registry answered 'not found' for 12 of the 12 repositories it had just listed; "
        "nothing was changed."
    )
    assert snapshot(registry) == before


def test_a_crash_fails_the_run_but_does_not_blame_the_registry(db, harbor_double, monkeypatch, caplog):
    harbor_double.add_repository("library", "api")
    registry = harbor_registry(harbor_double)
    sync_registry(registry)
    before = snapshot(registry)

    def crash(self):
        RegistrySpace.objects.filter(registry=registry).update(visibility="private")
        raise RuntimeError("a bug")

    monkeypatch.setattr(sync_module._Sync, "run", crash)
    with caplog.at_level(logging.ERROR, logger="wharf.sync"):
        run = sync_registry(registry)

    assert (run.result, run.error) == (
        "failed",
        "Sync failed unexpectedly (RuntimeError); see the server log.",
    )
    assert snapshot(registry) == before
    registry.refresh_from_db()
    assert registry.status == "healthy"
    assert registry.last_sync_error == run.error
    # The server log keeps the traceback for whoever fixes the bug.
    assert "RuntimeError: a bug" in caplog.text


# -- one run at a time, demo registries, the task ----------------------------------------------


def test_demo_registry_is_never_contacted(db, harbor_double):
    registry = harbor_registry(harbor_double, is_demo=True, status="healthy")
    harbor_double.clear_requests()

    run = sync_registry(registry)

    assert (run.result, run.error) == ("failed", DEMO_REFUSAL)
    assert harbor_double.requests == []
    registry.refresh_from_db()
    assert (registry.status, registry.status_message, registry.last_sync) == ("healthy", "", None)


def test_a_running_sync_is_not_started_twice(db, harbor_double):
    registry = harbor_registry(harbor_double)
    running = SyncRun.objects.create(registry=registry)
    harbor_double.clear_requests()

    assert sync_registry(registry) == running
    assert harbor_double.requests == []
    assert SyncRun.objects.filter(registry=registry).count() == 1


def test_a_run_abandoned_by_a_dead_worker_does_not_block_syncs(db, harbor_double):
    registry = harbor_registry(harbor_double)
    stale = SyncRun.objects.create(registry=registry)
    SyncRun.objects.filter(pk=stale.pk).update(started=timezone.now() - timedelta(hours=1))

    run = sync_registry(registry)

    assert run != stale
    assert run.result == "succeeded", run.error
    stale.refresh_from_db()
    assert (stale.result, stale.error) == ("failed", ABANDONED)


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_one_registry_do_not_interleave(harbor_double):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite lets one transaction write at a time; CI runs this on PostgreSQL")
    harbor_double.add_repository("library", "api")
    registry = harbor_registry(harbor_double)
    # Holds the first sync inside its transaction for a second.
    harbor_double.hang_on("/api/v2.0/projects/library/repositories/", seconds=1.0, times=1)
    finished: dict[str, SyncRun] = {}

    def first_worker():
        try:
            finished["run"] = sync_registry(Registry.objects.get(pk=registry.pk))
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    deadline = time.monotonic() + 10
    while not SyncRun.objects.filter(registry=registry).exists():
        assert time.monotonic() < deadline, "the first sync did not start"
        time.sleep(0.01)

    second = sync_registry(registry)
    worker.join(timeout=20)

    assert second.result == "running"
    assert second.pk == finished["run"].pk
    assert finished["run"].result == "succeeded", finished["run"].error
    assert SyncRun.objects.filter(registry=registry).count() == 1
    assert Tag.objects.filter(repository__name="library/api").count() == 1


def test_enqueued_sync_runs_as_a_task(db, harbor_double):
    harbor_double.add_repository("library", "api")
    registry = harbor_registry(harbor_double)

    result = enqueue_sync(registry)

    run = SyncRun.objects.get(registry=registry)
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {
        "registry": registry.pk,
        "sync_run": run.pk,
        "result": "succeeded",
        "error": "",
    }
    assert Repository.objects.filter(name="library/api").exists()


def test_sync_logs_start_result_and_counts(db, harbor_double, caplog):
    harbor_double.add_repository("library", "api", tags=["1", "2"])
    registry = harbor_registry(harbor_double)

    with caplog.at_level(logging.INFO, logger="wharf.sync"):
        sync_registry(registry)

    messages = [record.getMessage() for record in caplog.records if record.name == "wharf.sync"]
    assert messages[0].startswith("Sync of registry harbor (harbor) started")
    assert "succeeded: 1 spaces, 1 repositories, 2 tags" in messages[-1]


# -- manage.py sync_registries -----------------------------------------------------------------


def test_command_syncs_every_registry_but_demo_ones(db, harbor_double, populated_registry):
    harbor_double.add_repository("library", "api")
    harbor_registry(harbor_double)
    distribution_registry(populated_registry)
    demo = harbor_registry(harbor_double, name="demo", is_demo=True)
    out = StringIO()

    call_command("sync_registries", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("harbor: succeeded: 1 spaces, 1 repositories, 1 tags, ")
    assert lines[1].startswith("local: succeeded: 3 spaces, 5 repositories, 6 tags, ")
    assert lines[1].endswith(" s")
    assert "requests" in lines[1]
    assert not SyncRun.objects.filter(registry=demo).exists()


def test_command_fails_when_a_sync_fails(db, harbor_double, populated_registry):
    harbor_registry(harbor_double)
    distribution_registry(populated_registry)
    populated_registry.stop()
    out = StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("sync_registries", "local", "harbor", stdout=out)

    # CommandError is how manage.py exits with status 1.
    assert raised.value.returncode == 1
    assert str(raised.value) == "1 of 2 registry syncs failed."
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("local: failed after ")
    assert f"Cannot connect to the registry at {populated_registry.host}" in lines[0]
    assert lines[1].startswith("harbor: succeeded: ")


def test_command_names_unknown_registries(db, harbor_double):
    harbor_registry(harbor_double)
    harbor_double.clear_requests()

    with pytest.raises(CommandError, match="No registry named 'nope', 'gone'."):
        call_command("sync_registries", "harbor", "nope", "gone", stdout=StringIO())
    assert harbor_double.requests == []


def test_command_reports_a_named_demo_registry_as_refused(db, harbor_double):
    harbor_registry(harbor_double, name="demo", is_demo=True)
    out = StringIO()

    with pytest.raises(CommandError):
        call_command("sync_registries", "demo", stdout=out)
    assert DEMO_REFUSAL in out.getvalue()


def test_harbor_sync_stores_the_storage_harbor_reports(db, harbor_double):
    harbor_double.add_artifact("team-a", "api", ["1.0"], size=1_000_000)
    harbor_double.add_artifact("team-a", "web", ["2.0", "latest"], size=250_000)
    registry = harbor_registry(harbor_double)

    assert sync_registry(registry).result == "succeeded"

    registry.refresh_from_db()
    assert registry.storage_used == 1_250_000
    assert harbor_double.requests_to("/api/v2.0/statistics", "GET")


def test_storage_is_not_reported_for_an_account_harbor_hides_it_from(db, harbor_double):
    # Harbor answers 0 to accounts that are not system administrators: not a real figure.
    harbor_double.add_user("reader", "Reader-password-1")
    harbor_double.add_project("team-a", public=True)
    harbor_double.add_artifact("team-a", "api", ["1.0"], size=1_000_000)
    registry = Registry(name="harbor-reader", kind="harbor", url=harbor_double.url, username="reader")
    registry.set_password("Reader-password-1")
    registry.save()

    assert sync_registry(registry).result == "succeeded"

    registry.refresh_from_db()
    assert registry.storage_used is None
    assert not harbor_double.requests_to("/api/v2.0/statistics")


def test_statistics_failing_leaves_the_sync_successful_and_storage_not_reported(db, harbor_double):
    harbor_double.add_artifact("team-a", "api", ["1.0"], size=1_000_000)
    registry = harbor_registry(harbor_double)
    Registry.objects.filter(pk=registry.pk).update(storage_used=5)
    harbor_double.fail_on("/api/v2.0/statistics", 500)

    run = sync_registry(registry)

    assert run.result == "succeeded", run.error
    assert Repository.objects.filter(space__registry=registry, name="team-a/api").exists()
    registry.refresh_from_db()
    assert registry.storage_used is None


def test_a_docker_registry_reports_no_storage(db, populated_registry):
    registry = distribution_registry(populated_registry)
    assert sync_registry(registry).result == "succeeded"
    registry.refresh_from_db()
    assert registry.storage_used is None


def test_registry_list_space_count_follows_sync(client, admin, harbor_double):
    import re

    from django.urls import reverse

    def shown() -> int:
        text = client.get(reverse("registries:platform-list")).text
        row = re.search(r">harbor</a>.*?</tr>", text, re.S).group(0)
        return int(re.search(r"<td>(\d+)</td>", row).group(1))

    for name in ("team-a", "team-b", "team-c"):
        harbor_double.add_project(name)
    registry = harbor_registry(harbor_double)
    client.force_login(admin)
    assert shown() == 0
    assert sync_registry(registry).result == "succeeded"
    listed = len(harbor_double.projects)  # the three and Harbor's own "library"
    assert shown() == listed == 4
    harbor_double.add_project("team-d")
    del harbor_double.projects["team-a"]
    assert sync_registry(registry).result == "succeeded"
    # team-a is kept (missing upstream, until an Admin removes it): the Registry space page
    # still lists it, so the count does too.
    assert shown() == listed + 1 == RegistrySpace.objects.filter(registry=registry).count()
