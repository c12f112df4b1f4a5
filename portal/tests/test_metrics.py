"""/metrics: who may scrape it, and that its numbers move with what Wharf does."""

import base64
import subprocess
import sys

import pytest
from django.urls import reverse
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from registries import robots, tokens
from registries.kinds.harbor.tests.harbor_double import API
from registries.models import Registry, RegistrySpace
from registries.sync import sync_registry
from registries.tests.test_robots import bind, commit, credential, harbor  # noqa: F401 (fixtures)

METRICS_TOKEN = "scrape-me-0123456789-abcdefghij"


@pytest.fixture
def scrape(client, settings):
    settings.WHARF_METRICS_TOKEN = METRICS_TOKEN

    def read() -> dict:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return samples(response.content.decode())

    return read


def samples(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


# -- who may scrape ------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token(client, db, settings):
    settings.WHARF_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token-0123456789-abcdefg", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x"],
)
def test_metrics_refuse_anyone_without_the_token(client, db, settings, header):
    settings.WHARF_METRICS_TOKEN = METRICS_TOKEN
    headers = {"Authorization": header} if header else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"wharf_" not in response.content


def test_a_logged_in_admin_is_no_scraper(client, admin, settings):
    settings.WHARF_METRICS_TOKEN = METRICS_TOKEN
    client.force_login(admin)
    assert client.get("/metrics").status_code == 401


def test_scrapes_reach_the_pod_by_ip_over_plain_http(client, db, settings, scrape):
    settings.ALLOWED_HOSTS = ["wharf.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(
        "/metrics", HTTP_HOST="10.42.0.17:8000", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200


# -- the numbers move ----------------------------------------------------------------------------


def test_request_latency_is_counted_by_route_name(client, db, scrape):
    before = scrape()
    client.get(reverse("login"))
    client.get(reverse("login"))
    client.get("/no/such/page/")
    after = scrape()
    count = "wharf_http_request_duration_seconds_count"
    assert (
        value(after, count, view="login", method="GET", status="2xx")
        == value(before, count, view="login", method="GET", status="2xx") + 2
    )
    assert (
        value(after, count, view="(unmatched)", method="GET", status="4xx")
        == value(before, count, view="(unmatched)", method="GET", status="4xx") + 1
    )
    # Scrapes are not requests of their own.
    assert not any(labels and dict(labels).get("view") == "metrics" for _name, labels in after)


def test_tokens_issued_and_denied_are_counted(client, workspace, scrape):
    registry = Registry.objects.create(
        name="tok", kind="distribution", url="http://127.0.0.1:9", token_service=True
    )
    RegistrySpace.objects.create(registry=registry, name="pub", visibility="public")
    RegistrySpace.objects.create(registry=registry, name="priv", visibility="private")
    tokens.create_signing_key()
    service = registry.token_service_id
    before = scrape()
    ask = {"service": service, "scope": ["repository:pub/app:pull"]}
    assert client.get("/auth/token", ask).status_code == 200
    assert (
        client.get(
            "/auth/token",
            {"service": service, "scope": ["repository:pub/app:pull", "repository:priv/app:pull"]},
        ).status_code
        == 200
    )
    assert (
        client.get("/auth/token", {"service": service, "scope": ["repository:priv/app:pull"]}).status_code
        == 200
    )
    assert (
        client.get("/auth/token", ask, headers={"Authorization": basic("ws-payments", "wrong")}).status_code
        == 401
    )
    assert client.get("/auth/token", {"service": "nope"}).status_code == 400
    assert client.get("/auth/token", {"service": service, "scope": "bad scope"}).status_code == 400
    after = scrape()

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("wharf_registry_tokens_issued_total", grant="all") == 1
    assert moved("wharf_registry_tokens_issued_total", grant="partial") == 1
    assert moved("wharf_registry_tokens_issued_total", grant="none") == 1
    assert moved("wharf_registry_tokens_denied_total", reason="credentials") == 1
    assert moved("wharf_registry_tokens_denied_total", reason="unsupported") == 1
    assert moved("wharf_registry_tokens_denied_total", reason="invalid_request") == 1
    # An unknown service's name is no label: anyone can send any name.
    assert not any(dict(labels).get("registry") == "nope" for _name, labels in after)


@pytest.mark.integration
def test_sync_runs_duration_failures_and_registry_health_are_counted(db, harbor_double, scrape):
    harbor_double.add_repository("team-a", "app", tags=["1.0"])
    registry = Registry(name="harbor-metrics", kind="harbor", url=harbor_double.url, username="admin")
    registry.set_password("Harbor12345")
    registry.save()
    before = scrape()
    assert sync_registry(registry).result == "succeeded"
    middle = scrape()
    harbor_double.fail_on(API, 503)
    assert sync_registry(registry).result == "failed"
    after = scrape()

    assert (
        value(after, "wharf_sync_runs_total", registry="harbor-metrics", result="succeeded")
        == value(before, "wharf_sync_runs_total", registry="harbor-metrics", result="succeeded") + 1
    )
    assert (
        value(after, "wharf_sync_runs_total", registry="harbor-metrics", result="failed")
        == value(before, "wharf_sync_runs_total", registry="harbor-metrics", result="failed") + 1
    )
    assert (
        value(after, "wharf_sync_duration_seconds_count", registry="harbor-metrics")
        == value(before, "wharf_sync_duration_seconds_count", registry="harbor-metrics") + 2
    )
    # From the database: whoever ran the sync (a worker, a CronJob), the scrape sees it.
    assert value(middle, "wharf_registry_healthy", registry="harbor-metrics", kind="harbor") == 1
    assert value(after, "wharf_registry_healthy", registry="harbor-metrics", kind="harbor") == 0
    registry.refresh_from_db()
    assert value(
        after, "wharf_registry_last_sync_timestamp_seconds", registry="harbor-metrics"
    ) == pytest.approx(registry.last_sync.timestamp())


@pytest.mark.integration
def test_robot_drift_found_and_repaired_is_counted(
    commit,  # noqa: F811
    admin,
    workspace,
    harbor,  # noqa: F811
    harbor_double,  # noqa: F811
    scrape,
):
    bind(commit, admin, harbor, "team-a", workspace)
    before = scrape()
    harbor_double.delete_robot(int(credential(workspace, harbor).upstream_id))
    robots.reconcile(credential(workspace, harbor))
    cred = credential(workspace, harbor)
    harbor_double.set_robot_permissions(int(cred.upstream_id), ["team-a", "team-c"])
    robots.reconcile(cred)
    harbor_double.fail_on(API, 503)
    harbor_double.delete_robot(int(cred.upstream_id))
    assert robots.reconcile(cred).state == "failed"
    after = scrape()

    def moved(name, **labels):
        return value(after, name, registry=harbor.name, **labels) - value(
            before, name, registry=harbor.name, **labels
        )

    assert moved("wharf_robot_drift_found_total", kind="deleted") == 1
    assert moved("wharf_robot_drift_repaired_total", kind="deleted") == 1
    assert moved("wharf_robot_drift_found_total", kind="edited") == 1
    assert moved("wharf_robot_drift_repaired_total", kind="edited") == 1
    assert moved("wharf_robot_reconciles_total", state="done") == 2
    assert moved("wharf_robot_reconciles_total", state="failed") == 1
    assert value(after, "wharf_pull_credentials", kind="harbor", state="failed") == 1


def test_task_queue_depth_is_read_at_scrape_time(db, settings, scrape):
    from registries.tasks import sync_registry_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert value(scrape(), "wharf_tasks", queue="default", status="READY") == 0
    registry = Registry.objects.create(name="queued", kind="distribution", url="http://127.0.0.1:9")
    sync_registry_task.enqueue(registry.pk)
    sync_registry_task.enqueue(registry.pk)
    scraped = scrape()
    assert value(scraped, "wharf_tasks", queue="default", status="READY") == 2
    assert value(scraped, "wharf_tasks_oldest_ready_age_seconds", queue="default") >= 0


COUNT_IN_A_PROCESS = """
import sys
from portal import metrics
for _ in range(int(sys.argv[1])):
    metrics.token_denied("credentials")
"""


def test_multiprocess_mode_adds_up_every_process_sharing_the_directory(tmp_path):
    # As under gunicorn: each worker writes its own file; a scrape reads them all.
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for times in (2, 3):
        subprocess.run(
            [sys.executable, "-c", COUNT_IN_A_PROCESS, str(times)],
            env=env,
            check=True,
            cwd=str(__import__("django").conf.settings.BASE_DIR),
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("wharf_registry_tokens_denied_total", {"reason": "credentials"}) == 5


def test_a_short_metrics_token_stops_the_start():
    from portal.tests.test_settings import start_settings

    result = start_settings(DEBUG="1", WHARF_METRICS_TOKEN="short")
    assert result.returncode != 0
    assert "WHARF_METRICS_TOKEN must be at least 20 characters" in result.stderr


def test_the_token_services_own_lane_is_timed_by_route_and_keeps_the_security_headers(client, db, scrape):
    before = scrape()
    response = client.get("/auth/token", {"service": "wharf-" + "0" * 32})
    assert response.status_code == 400  # no registry has that service id
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sessionid" not in response.cookies
    after = scrape()
    name = "wharf_http_request_duration_seconds_count"
    assert (
        value(after, name, view="registries:token", method="GET", status="4xx")
        - value(before, name, view="registries:token", method="GET", status="4xx")
        == 1
    )
