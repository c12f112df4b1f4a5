"""Finding 13: the request id in audit events is Wharf's own unless a trusted proxy sent it."""

import pytest
from cryptography.fernet import Fernet

from portal.models import AuditEvent
from portal.tests.test_settings import start_settings

CHOSEN = "client-chosen-id-123"


def create_cluster(client, admin, remote_addr: str, name: str = "edge"):
    client.force_login(admin)
    return client.post(
        "/api/v1/clusters/",
        {"name": name},
        content_type="application/json",
        headers={"X-Request-ID": CHOSEN},
        REMOTE_ADDR=remote_addr,
    )


def test_finding_13_a_clients_request_id_is_not_written_into_the_audit_log(client, admin, settings):
    settings.WHARF_TRUSTED_PROXIES = []
    response = create_cluster(client, admin, "203.0.113.7")
    assert response.status_code == 201
    event = AuditEvent.objects.get(action="cluster.create")
    assert event.request_id != CHOSEN
    assert len(event.request_id) == 32
    assert response["X-Request-ID"] == event.request_id


def test_finding_13_by_default_not_even_loopback_is_trusted(client, admin, settings):
    settings.WHARF_TRUSTED_PROXIES = []
    create_cluster(client, admin, "127.0.0.1")
    assert AuditEvent.objects.get(action="cluster.create").request_id != CHOSEN


@pytest.mark.parametrize(
    "proxies, remote_addr, kept",
    [
        (["10.0.0.5"], "10.0.0.5", True),
        (["10.0.0.0/24"], "10.0.0.77", True),
        (["10.0.0.0/24", "2001:db8::/32"], "2001:db8::1", True),
        (["10.0.0.0/24"], "10.0.1.1", False),
        (["10.0.0.5"], "203.0.113.7", False),
    ],
)
def test_finding_13_a_trusted_proxys_request_id_is_kept(client, admin, settings, proxies, remote_addr, kept):
    settings.WHARF_TRUSTED_PROXIES = proxies
    response = create_cluster(client, admin, remote_addr)
    event = AuditEvent.objects.get(action="cluster.create")
    assert (event.request_id == CHOSEN) is kept
    assert response["X-Request-ID"] == event.request_id


def test_finding_13_an_unsafe_id_from_a_trusted_proxy_is_replaced(client, admin, settings):
    settings.WHARF_TRUSTED_PROXIES = ["10.0.0.5"]
    client.force_login(admin)
    client.post(
        "/api/v1/clusters/",
        {"name": "edge"},
        content_type="application/json",
        headers={"X-Request-ID": "<script>"},
        REMOTE_ADDR="10.0.0.5",
    )
    assert AuditEvent.objects.get(action="cluster.create").request_id != "<script>"


def test_finding_13_a_bad_trusted_proxy_entry_is_named_at_start():
    result = start_settings(
        DEBUG="0",
        SECRET_KEY="x" * 50,
        WHARF_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        WHARF_TRUSTED_PROXIES="10.0.0.0/24,proxy.internal",
    )
    assert result.returncode != 0
    assert "WHARF_TRUSTED_PROXIES entries must be addresses or networks" in result.stderr
