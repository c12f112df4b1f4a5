"""/healthz and /readyz: what a kubelet or load balancer sees."""

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from registries import tokens
from registries.models import Registry, TokenSigningKey


def test_healthz_answers_without_touching_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.get(reverse("healthz")).status_code == 200


def test_readyz_is_ok_on_a_migrated_database_in_three_queries(client, db, django_assert_max_num_queries):
    with django_assert_max_num_queries(3) as queries:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "token_signing_key": "ok"},
    }
    # Cheap and read-only: every query is a SELECT, and no session or cookie is made.
    assert all(query["sql"].lstrip().upper().startswith("SELECT") for query in queries.captured_queries)
    assert not response.cookies


@pytest.mark.parametrize("path", ["/healthz", "/healthz/", "/readyz", "/readyz/"])
def test_probes_need_no_login_and_accept_any_host_over_plain_http(client, db, settings, path):
    # A kubelet calls the pod's IP over HTTP: neither ALLOWED_HOSTS nor the HTTPS redirect applies.
    settings.ALLOWED_HOSTS = ["wharf.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get(path, HTTP_HOST="10.42.0.17:8000")
    assert response.status_code == 200
    # Any other page on that host is still refused.
    assert client.get(reverse("login"), HTTP_HOST="10.42.0.17:8000").status_code == 400


def test_probes_refuse_writes(client, db):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405
    assert client.head("/readyz").status_code == 200


def test_readyz_is_unavailable_when_a_migration_is_not_applied(client, db):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'registries' AND name = '0001_initial'")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["migrations"] == "1 not applied: registries.0001_initial"


def test_readyz_is_unavailable_when_the_database_does_not_answer(client, db):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"
    # The driver's message (which may name hosts) is logged, not published.
    assert "refused" not in response.text


def test_readyz_needs_a_signing_key_only_once_a_registry_uses_the_token_service(client, db):
    assert client.get("/readyz").status_code == 200  # no key, and nobody needs one
    registry = Registry.objects.create(
        name="tok", kind="distribution", url="http://127.0.0.1:9", token_service=True
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "token_keys --create" in response.json()["checks"]["token_signing_key"]
    tokens.create_signing_key()
    assert client.get("/readyz").status_code == 200
    # A retired key signs nothing.
    tokens.rotate_signing_key()
    assert client.get("/readyz").status_code == 200
    TokenSigningKey.objects.update(retired=registry.created)
    assert client.get("/readyz").status_code == 503
