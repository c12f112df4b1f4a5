"""Probes for whatever runs Wharf (a kubelet, a load balancer, a supervisor).

``/healthz`` says the process answers: no database, no I/O, so a slow database never gets a
healthy process restarted. ``/readyz`` says this process can serve users: the database answers,
every migration this code ships is applied, and the token service can sign when a registry
relies on it. Both are unauthenticated, read-only and cheap (readyz: at most three small queries).

``ProbeMiddleware`` answers them (and ``/metrics``) ahead of every other middleware, because
probes and scrapers reach a pod by its IP over plain HTTP: Django would refuse the Host
(ALLOWED_HOSTS) or redirect to HTTPS (SECURE_SSL_REDIRECT). None of these answers depends on
the Host header or carries anything a browser renders.
"""

from __future__ import annotations

import functools
import logging

from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger("wharf.health")


@never_cache
@require_safe
def healthz(request):
    return JsonResponse({"status": "ok"})


@functools.cache
def _shipped_migrations() -> tuple[frozenset, dict]:
    """What this code expects applied: read from disk once per process (it cannot change
    without a restart), plus the squashed migrations' replacements."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    replacements = {key: frozenset(migration.replaces) for key, migration in loader.replacements.items()}
    return frozenset(loader.graph.nodes), replacements


def unapplied_migrations() -> list[str]:
    """``app.name`` of every shipped migration the database lacks (one query)."""
    shipped, replacements = _shipped_migrations()
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        applied = {tuple(row) for row in cursor.fetchall()}
    # A squashed migration counts as applied once everything it replaces is.
    applied |= {key for key, replaced in replacements.items() if replaced <= applied}
    return sorted(f"{app}.{name}" for app, name in shipped - applied)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return False
    return True


def signing_key_missing() -> bool:
    """A registry sends its clients to Wharf for tokens, and Wharf has no key to sign them."""
    from registries.models import Registry, TokenSigningKey

    if TokenSigningKey.objects.filter(retired__isnull=True).exists():
        return False
    return Registry.objects.filter(
        kind__in=Registry.kinds_supporting("token_service"), token_service=True
    ).exists()


@never_cache
@require_safe
def readyz(request):
    checks = {"database": "ok", "migrations": "ok", "token_signing_key": "ok"}
    try:
        missing = unapplied_migrations()
    except DatabaseError as error:
        # Either the database is down, or it answers but has never been migrated.
        if not _database_answers():
            logger.warning("readyz: database unavailable: %s", error)
            checks.update(database="unavailable", migrations="unknown", token_signing_key="unknown")
            return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
        missing = ["(no migrations applied)"]
    if missing:
        checks["migrations"] = f"{len(missing)} not applied: {', '.join(missing[:10])}"
        checks["token_signing_key"] = "unknown"
    elif signing_key_missing():
        checks["token_signing_key"] = (
            "missing: a registry uses the token service; run manage.py token_keys --create"
        )
    if any(value != "ok" for value in checks.values()):
        return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
    return JsonResponse({"status": "ok", "checks": checks})


class ProbeMiddleware:
    """Answer the probe and scrape paths before host checks and the HTTPS redirect (see the
    module's docstring); first in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response
        from portal import metrics

        self.views = {}
        for path, view in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics.metrics_view)):
            self.views[path] = self.views[path + "/"] = view

    def __call__(self, request):
        view = self.views.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)
