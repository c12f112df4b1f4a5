"""Prometheus metrics (prometheus-client), served at ``/metrics`` to holders of
``WHARF_METRICS_TOKEN`` (``Authorization: Bearer <token>``); without that setting the path is
404, so nothing about the installation is published by accident.

Two kinds of series:

* **Counted where the work happens** (this process, or, with ``PROMETHEUS_MULTIPROC_DIR``, every
  process on the host that shares that directory: gunicorn's workers, and ``db_worker`` or the
  periodic commands when they run beside it): request latency per view, registry tokens issued
  and denied, sync runs and their duration, robot reconciles and the drift they found and
  repaired, tasks found abandoned by a dead worker.
* **Read from the database at scrape time**, so they hold whichever pod or job did the work:
  background tasks waiting and running, each registry's health and last successful sync, pull
  credentials by state. A few indexed aggregate queries per scrape.

Label values are bounded: views are route names, registries are the ones an Admin connected
(a token request for an unknown service is counted without its name).
"""

from __future__ import annotations

import hmac
import os
import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # Every process writes its values there (the image sets it): jobs and workers need it too.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

REQUEST_LATENCY = Histogram(
    "wharf_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name, method and status class.",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TOKENS_ISSUED = Counter(
    "wharf_registry_tokens_issued_total",
    "Registry tokens issued, by how many of the resources asked for got any action.",
    ["grant"],  # all, partial, none
)
TOKENS_DENIED = Counter(
    "wharf_registry_tokens_denied_total",
    "Token requests refused, by reason.",
    ["reason"],  # credentials, or the answer's code: invalid_request, unsupported, unavailable
)
SYNC_RUNS = Counter(
    "wharf_sync_runs_total", "Registry syncs finished, by registry and result.", ["registry", "result"]
)
SYNC_DURATION = Histogram(
    "wharf_sync_duration_seconds",
    "How long registry syncs took, by registry.",
    ["registry"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
ROBOT_RECONCILES = Counter(
    "wharf_robot_reconciles_total",
    "Reconciles of a workspace's Harbor robot account, by registry and resulting state.",
    ["registry", "state"],
)
ROBOT_DRIFT_FOUND = Counter(
    "wharf_robot_drift_found_total",
    "Robot accounts found changed in Harbor behind Wharf's back, by registry and kind.",
    ["registry", "kind"],  # deleted, edited, secret
)
ROBOT_DRIFT_REPAIRED = Counter(
    "wharf_robot_drift_repaired_total",
    "Drifted robot accounts put back in line with the bindings, by registry and kind.",
    ["registry", "kind"],
)
TASKS_ABANDONED = Counter(
    "wharf_tasks_abandoned_total",
    "Tasks found RUNNING past WHARF_TASK_STALE_AFTER (their worker died), by task and what was done: "
    "requeued, or failed after too many attempts.",
    ["task", "outcome"],
)

# The notes registries/robots.py records for each kind of drift it finds and undoes.
_DRIFT_NOTES = {
    "robot was deleted in Harbor": "deleted",
    "repaired a robot edited in Harbor": "edited",
    "stored secret no longer worked": "secret",
}


def token_issued(requested: int, granted: int) -> None:
    TOKENS_ISSUED.labels("all" if granted >= requested else "partial" if granted else "none").inc()


def token_denied(reason: str) -> None:
    TOKENS_DENIED.labels(reason).inc()


def sync_finished(registry_name: str, result: str, seconds: float) -> None:
    SYNC_RUNS.labels(registry_name, result).inc()
    SYNC_DURATION.labels(registry_name).observe(seconds)


def task_abandoned(task_name: str, outcome: str) -> None:
    TASKS_ABANDONED.labels(task_name, outcome).inc()


def robot_reconciled(outcome) -> None:
    """Count one reconcile (a ``registries.robots.Outcome``) and the drift it dealt with."""
    if outcome.state == "skipped":
        return
    ROBOT_RECONCILES.labels(outcome.registry, outcome.state).inc()
    repaired = outcome.state in {"done", "removed"}
    for action in outcome.actions:
        kind = next((kind for note, kind in _DRIFT_NOTES.items() if action.startswith(note)), None)
        if kind is not None:
            ROBOT_DRIFT_FOUND.labels(outcome.registry, kind).inc()
            if repaired:
                ROBOT_DRIFT_REPAIRED.labels(outcome.registry, kind).inc()


class RequestMetricsMiddleware:
    """Times every request Django routes (probes and scrapes are answered before it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match is not None else "(unmatched)"
        REQUEST_LATENCY.labels(
            view,
            request.method if request.method in _METHODS else "other",
            f"{response.status_code // 100}xx",
        ).observe(time.perf_counter() - started)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class DatabaseCollector:
    """Series read from the database on each scrape (see the module's docstring)."""

    def collect(self):
        from django.db.models import Count, Min
        from django.tasks import TaskResultStatus
        from django.utils import timezone
        from django_tasks_db.models import DBTaskResult

        from registries.models import PullCredential, Registry

        now = timezone.now()
        tasks = GaugeMetricFamily(
            "wharf_tasks",
            "Background tasks waiting (READY) or running, by queue.",
            labels=["queue", "status"],
        )
        oldest = GaugeMetricFamily(
            "wharf_tasks_oldest_ready_age_seconds",
            "Age of the oldest task waiting for a worker, by queue.",
            labels=["queue"],
        )
        rows = (
            DBTaskResult.objects.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
            .order_by()
            .values("queue_name", "status")
            .annotate(count=Count("id"), first=Min("enqueued_at"))
        )
        for row in rows:
            tasks.add_metric([row["queue_name"], row["status"]], row["count"])
            if row["status"] == TaskResultStatus.READY:
                oldest.add_metric([row["queue_name"]], max(0.0, (now - row["first"]).total_seconds()))
        yield tasks
        yield oldest

        healthy = GaugeMetricFamily(
            "wharf_registry_healthy",
            "1 when the registry's last sync succeeded.",
            labels=["registry", "kind"],
        )
        last_sync = GaugeMetricFamily(
            "wharf_registry_last_sync_timestamp_seconds",
            "When the registry last synced successfully (Unix time).",
            labels=["registry"],
        )
        for name, kind, status, synced in (
            Registry.objects.filter(is_demo=False)
            .order_by()
            .values_list("name", "kind", "status", "last_sync")
        ):
            healthy.add_metric([name, kind], 0 if status == Registry.Status.UNHEALTHY else 1)
            if synced is not None:
                last_sync.add_metric([name], synced.timestamp())
        yield healthy
        yield last_sync

        credentials = GaugeMetricFamily(
            "wharf_pull_credentials",
            "Workspace pull credentials, by registry kind and state.",
            labels=["kind", "state"],
        )
        for kind, state, count in (
            PullCredential.objects.order_by()
            .values_list("registry__kind", "state")
            .annotate(count=Count("id"))
        ):
            credentials.add_metric([kind, state], count)
        yield credentials


class _ThisProcess:
    def collect(self):
        return REGISTRY.collect()


def render() -> bytes:
    """The exposition text: this process's (or all processes') series, then the database's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def _authorized(request) -> bool:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.WHARF_METRICS_TOKEN.encode()
    )


@never_cache
@require_safe
def metrics_view(request):
    if not settings.WHARF_METRICS_TOKEN:
        return HttpResponseNotFound("Not Found\n", content_type="text/plain; charset=utf-8")
    if not _authorized(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="Wharf metrics"'
        return response
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
