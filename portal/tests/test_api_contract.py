"""Finding 17: the API answers what its schema (/api/v1/schema/) says, and refuses what it does not.

The last test runs schemathesis against a live server: every operation of the schema, with
generated valid and invalid requests, as a platform Admin with an API token.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import yaml
from django.test import Client

from conftest import make_user
from portal.api.tokens import issue
from registries.models import Registry, RegistrySpace, Repository, SpaceBinding, Tag
from testkit.access import api_as
from workspaces.models import Cluster, Namespace, Workspace

LISTS = [
    "/api/v1/registries/",
    "/api/v1/workspaces/",
    "/api/v1/clusters/",
    "/api/v1/namespaces/",
    "/api/v1/audit-events/",
]


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize(
    "query, message",
    [
        ("page=", "A whole number is required."),
        ("page=0", "Use a number from 1 to"),
        ("page=-1", "Use a number from 1 to"),
        ("page=١", "A whole number is required."),
        ("page=1.0", "A whole number is required."),
        ("page=1&page=2", "Give this parameter once."),
    ],
)
def test_finding_17_a_page_number_that_is_not_one_is_a_400_naming_page(admin, url, query, message):
    response = api_as(admin).get(f"{url}?{query}")
    assert response.status_code == 400
    assert list(response.json()) == ["page"]
    assert message in response.json()["page"][0]


def test_finding_17_a_page_past_the_end_is_still_a_404(admin):
    response = api_as(admin).get("/api/v1/workspaces/?page=99")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


@pytest.mark.parametrize(
    "query, field",
    [
        ("name=a&name=b", "name"),
        ("workspace=1&workspace=2", "workspace"),
        ("bound=", "bound"),
        ("workspace=", "workspace"),
        ("cluster=", "cluster"),
    ],
)
def test_finding_17_repeated_or_empty_typed_filters_are_a_400(admin, query, field):
    response = api_as(admin).get(f"/api/v1/namespaces/?{query}")
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_finding_17_an_empty_text_filter_means_no_filter(admin, workspace, other_workspace):
    response = api_as(admin).get("/api/v1/workspaces/?name=")
    assert response.status_code == 200
    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "edge", "description": 21992}, "description"),
        ({"name": 7}, "name"),
    ],
)
def test_finding_17_json_fields_take_their_documented_type(admin, body, field):
    response = api_as(admin).post("/api/v1/clusters/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Cluster.objects.exists()


@pytest.mark.parametrize("value", [0, 1, "yes", "on", "0"])
def test_finding_17_a_boolean_is_true_or_false(admin, value):
    registry = Registry.objects.create(
        name="demo", kind="harbor", url="https://harbor.example.com", is_demo=True, verify_tls=True
    )
    response = api_as(admin).patch(f"/api/v1/registries/{registry.pk}/", {"verify_tls": value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["verify_tls"]
    registry.refresh_from_db()
    assert registry.verify_tls is True


def test_finding_17_an_empty_string_is_not_null_in_json(admin, workspace):
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="web", workspace=workspace
    )
    response = api_as(admin).patch(f"/api/v1/namespaces/{namespace.pk}/", {"workspace": ""}, format="json")
    assert response.status_code == 400
    namespace.refresh_from_db()
    assert namespace.workspace == workspace


@pytest.mark.parametrize("path", ["/api/v1/nothing-here/", "/api/v1/clusters/-1/", "/api/v1/clusters/abc/"])
def test_finding_17_unknown_api_paths_answer_json_404(admin, path):
    client = Client()
    client.force_login(admin)
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_finding_17_unknown_pages_still_answer_html_404(client, admin):
    client.force_login(admin)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_finding_17_every_operation_documents_its_statuses(admin):
    schema = yaml.safe_load(api_as(admin).get("/api/v1/schema/").content)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "401", "403", "404", "406"} <= statuses, (method, path)
            assert any(status.startswith("2") for status in statuses), (method, path)
            if "requestBody" in operation:
                assert "415" in statuses, (method, path)
                assert list(operation["requestBody"]["content"]) == ["application/json"]
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    assert list(response["content"]) == ["application/json"], (method, path, status)


# schemathesis against a live server ------------------------------------------------------


@pytest.fixture
def api_world(transactional_db, settings):
    """A small world with an object behind every route, so generated requests reach the views."""
    # Registries created by generated requests must fail their connection check fast.
    settings.WHARF_REGISTRY_TIMEOUT = 1
    # schemathesis sends bad credentials on purpose (to see a 401); counted as guesses, they
    # would lock this address out and its valid token with it. Lockout has its own tests.
    settings.AXES_FAILURE_LIMIT = settings.WHARF_LOGIN_FAILURE_LIMIT = 1_000_000
    admin = make_user("st-admin", admin=True)
    team = Workspace.objects.create(name="team", description="A team")
    make_user("st-member", workspace=team, role="editor")
    make_user("st-outsider")
    cluster = Cluster.objects.create(name="prod")
    Namespace.objects.create(cluster=cluster, name="team-web", workspace=team)
    Namespace.objects.create(cluster=cluster, name="spare")
    harbor = Registry.objects.create(
        name="demo-harbor", kind="harbor", url="https://harbor.demo.wharf.invalid", is_demo=True
    )
    Registry.objects.create(
        name="team-registry",
        kind="distribution",
        url="https://team.demo.wharf.invalid",
        is_demo=True,
        scope=Registry.Scope.WORKSPACE,
        workspace=team,
    )
    for name, visibility in [("library", "public"), ("team-private", "private")]:
        space = RegistrySpace.objects.create(registry=harbor, name=name, visibility=visibility)
        repository = Repository.objects.create(space=space, name=f"{name}/app", tag_count=1)
        Tag.objects.create(
            repository=repository,
            name="1.0",
            digest="sha256:" + "a" * 64,
            pushed=datetime(2026, 1, 1, tzinfo=UTC),
        )
        if visibility == "private":
            SpaceBinding.objects.create(space=space, workspace=team)
    _token, key = issue(admin, "schemathesis")
    return key


def test_finding_17_schemathesis_finds_no_server_error_and_no_schema_violation(
    api_world, live_server, tmp_path
):
    """Every operation, a few generated requests each, in all of schemathesis' phases.

    Checks: all of them except positive_data_acceptance ("a schema-valid request must be
    accepted"). Wharf refuses some schema-valid requests by design with a 400 naming the field:
    ids of objects that do not exist, names already taken, a registry that must pass its
    connection check, a demo registry that is never synced. The schema cannot express those.
    """
    config = tmp_path / "schemathesis.toml"
    # Also generate repeated query parameters (?page=1&page=2): the API refuses them.
    config.write_text("[phases.coverage]\ngenerate-duplicate-query-parameters = true\n")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{live_server.url}/api/v1/schema/",
        "--header",
        f"Authorization: Token {api_world}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        os.environ.get("WHARF_SCHEMATHESIS_EXAMPLES", "2"),
        "--seed",
        "17",
        "--no-shrink",
        "--generation-database",
        "none",
        # One worker: the live server shares the test's database connection, which SQLite's
        # in-memory test database cannot serve to two requests at once.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--max-failures",
        "20",
        "--no-color",
        "--output-truncate",
        "true",
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    report = result.stdout[-20000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    assert "Tested: " in result.stdout
