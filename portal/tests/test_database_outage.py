"""A database outage (restart, failover) answers 503 with Retry-After, never a 500: clients
should wait it out. The soak test (bench/soak.py) takes the database away for real; here the
middleware is given the errors psycopg raises when the server is gone."""

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.test import RequestFactory

from portal.middleware import DatabaseUnavailableMiddleware

GONE = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def answer(path, exception):
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    return middleware.process_exception(RequestFactory().get(path), exception)


@pytest.mark.parametrize("exception", [GONE, InterfaceError("connection already closed")])
def test_a_page_during_a_database_outage_says_so_with_503(exception):
    response = answer("/registries/", exception)
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "cannot reach its database" in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/spaces/", "/auth/token"])
def test_the_api_and_the_token_service_answer_json_503(path):
    response = answer(path, GONE)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "cannot reach its database" in json.loads(response.content)["detail"]


def test_other_errors_stay_server_errors():
    assert answer("/registries/", ValueError("a bug")) is None


def test_the_outage_is_logged_with_the_request(caplog):
    answer("/registries/", GONE)
    assert "database unavailable for GET /registries/" in caplog.text
