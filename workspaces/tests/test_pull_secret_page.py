"""The namespace's registry-secret: who may fetch it, what it holds, and that it is audited."""

import base64
import hashlib
import json
import re

import pytest
import yaml
from django.urls import reverse

from portal.models import AuditEvent
from registries.models import PullCredential, Registry
from testkit import factories
from testkit.access import assert_access
from testkit.personas import ANONYMOUS, OUTSIDER, WS_VIEWER
from workspaces.models import Cluster, Namespace

# Viewers may not fetch the secret; to another workspace the namespace does not exist.
REFUSED = {WS_VIEWER: 403, OUTSIDER: 404}


@pytest.fixture
def namespace(workspace):
    return factories.make_namespace("shop", workspace)


@pytest.fixture
def credential(workspace):
    registry = factories.make_registry("harbor", url="https://harbor.example.com:8443", is_demo=False)
    return factories.make_pull_credential(workspace, registry, secret="s3cr3t-robot-value")


def secret_url(namespace):
    return reverse("workspaces:namespace-pull-secret", args=[namespace.pk])


@pytest.mark.parametrize("persona", ["ws_admin", "ws_editor", "admin"])
def test_admins_and_editors_download_a_secret_that_decodes_to_the_credentials(
    client, request, persona, namespace, credential
):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(secret_url(namespace))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="registry-secret-shop.yaml"'
    manifest = yaml.safe_load(response.content)
    assert manifest["type"] == "kubernetes.io/dockerconfigjson"
    assert manifest["metadata"] == {
        "name": "registry-secret",
        "namespace": "shop",
        "labels": {"app.kubernetes.io/managed-by": "wharf"},
    }
    config = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))
    entry = config["auths"]["harbor.example.com:8443"]
    assert (entry["username"], entry["password"]) == ("robot$wharf-ws-payments", "s3cr3t-robot-value")
    assert base64.b64decode(entry["auth"]).decode() == "robot$wharf-ws-payments:s3cr3t-robot-value"
    event = AuditEvent.objects.get(action="namespace.pull_secret")
    assert "s3cr3t" not in json.dumps(event.after)
    assert event.after["registries"] == ["harbor"]


def test_viewer_may_not_fetch_it_another_workspace_gets_404_and_anonymous_logs_in(
    client, ws_viewer, namespace, credential
):
    assert_access(client, secret_url(namespace), {**REFUSED, ANONYMOUS: 302}, method="post")
    client.force_login(ws_viewer)
    page = client.get(reverse("workspaces:namespace-detail", args=[namespace.pk]))
    assert "Download Secret manifest" not in page.text
    assert not AuditEvent.objects.exists()


def test_unbound_namespace_has_no_pull_secret(client, admin, credential):
    loose = Namespace.objects.create(cluster=Cluster.objects.create(name="dev"), name="loose")
    client.force_login(admin)
    assert client.post(secret_url(loose)).status_code == 404


def test_page_shows_the_registries_and_command_but_never_the_secret(client, ws_editor, namespace, credential):
    client.force_login(ws_editor)
    page = client.get(reverse("workspaces:namespace-detail", args=[namespace.pk]))
    assert "robot$wharf-ws-payments" in page.text
    assert "kubectl apply -n shop -f registry-secret-shop.yaml" in page.text
    assert "s3cr3t-robot-value" not in page.text
    assert credential.secret_encrypted not in page.text
    assert "<title>prod/shop · Wharf</title>" in page.text
    assert page.text.count('id="secret-title"') == 1


def test_credential_being_updated_stays_in_the_secret_and_shows_pending(
    client, ws_editor, namespace, credential
):
    credential.state = "pending"
    credential.save()
    client.force_login(ws_editor)
    manifest = yaml.safe_load(client.post(secret_url(namespace)).content)
    config = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))
    assert config["auths"]["harbor.example.com:8443"]["password"] == "s3cr3t-robot-value"
    page = client.get(reverse("workspaces:namespace-detail", args=[namespace.pk]))
    assert "Pending" in page.text


def test_credential_not_created_yet_is_left_out(client, ws_editor, namespace, credential):
    PullCredential.objects.filter(pk=credential.pk).update(username="", secret_encrypted="", state="pending")
    client.force_login(ws_editor)
    manifest = yaml.safe_load(client.post(secret_url(namespace)).content)
    assert json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"])) == {"auths": {}}


def api_url(namespace):
    return f"/api/v1/namespaces/{namespace.pk}/pull-secret/"


def test_api_returns_the_same_secret_and_audits_it(client, ws_editor, namespace, credential):
    client.force_login(ws_editor)
    response = client.get(api_url(namespace))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    config = json.loads(base64.b64decode(response.json()["data"][".dockerconfigjson"]))
    assert config["auths"]["harbor.example.com:8443"]["password"] == "s3cr3t-robot-value"
    assert AuditEvent.objects.filter(action="namespace.pull_secret").count() == 1


def test_api_refuses_viewers_and_other_workspaces_and_needs_authentication(client, namespace, credential):
    assert_access(client, api_url(namespace), {**REFUSED, ANONYMOUS: 401})
    assert not AuditEvent.objects.exists()


def test_token_service_credential_is_minted_for_the_secret_and_checks_out(
    client, ws_editor, namespace, workspace
):
    import hashlib

    from registries.models import RegistrySpace, SpaceBinding

    registry = Registry.objects.create(
        name="dist", kind="distribution", url="https://registry.example.com", token_service=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="team", visibility="private")
    SpaceBinding.objects.create(space=space, workspace=workspace)
    client.force_login(ws_editor)
    manifest = yaml.safe_load(client.post(secret_url(namespace)).content)
    entry = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))["auths"][
        "registry.example.com"
    ]
    assert entry["username"] == "ws-payments"
    stored = PullCredential.objects.get(workspace=workspace, registry=registry)
    assert stored.secret_hash == hashlib.sha256(entry["password"].encode()).hexdigest()
    again = yaml.safe_load(client.post(secret_url(namespace)).content)
    assert again == manifest


# No side effects on GET: credentials are minted by a bind or a download, never by a page view.


@pytest.fixture
def token_registry(workspace):
    """A token-service registry with a private space bound straight in the database, so no
    credential has been minted for payments yet."""
    from registries.models import RegistrySpace, SpaceBinding

    registry = Registry.objects.create(
        name="dist", kind="distribution", url="https://registry.example.com", token_service=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="team", visibility="private")
    SpaceBinding.objects.create(space=space, workspace=workspace)
    return registry


def secret_config(content) -> dict:
    manifest = yaml.safe_load(content) if isinstance(content, bytes) else content
    return json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))


def test_page_lists_a_registry_without_a_credential_and_mints_nothing(
    client, ws_editor, namespace, token_registry
):
    client.force_login(ws_editor)
    page = client.get(reverse("workspaces:namespace-detail", args=[namespace.pk]))
    assert page.status_code == 200
    assert "dist" in page.text and "registry.example.com" in page.text
    assert "No credential yet" in page.text
    assert "Created when you download the Secret." in page.text
    assert not PullCredential.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_download_is_a_post_form_with_a_csrf_token(client, ws_editor, namespace, token_registry):
    client.force_login(ws_editor)
    page = client.get(reverse("workspaces:namespace-detail", args=[namespace.pk]))
    form = re.search(
        rf'<form method="post" action="{re.escape(secret_url(namespace))}">\s*'
        r'<input type="hidden" name="csrfmiddlewaretoken"',
        page.text,
    )
    assert form
    assert f'href="{secret_url(namespace)}"' not in page.text


@pytest.mark.parametrize("persona", ["ws_editor", "admin"])
def test_a_get_of_the_download_url_mints_and_audits_nothing(
    client, request, persona, namespace, token_registry, credential
):
    # What an <img src="…/pull-secret.yaml"> on another site makes the browser do.
    client.force_login(request.getfixturevalue(persona))
    response = client.get(secret_url(namespace))
    assert response.status_code == 405
    assert "s3cr3t-robot-value" not in response.text
    assert not PullCredential.objects.filter(registry=token_registry).exists()
    assert not AuditEvent.objects.exists()


def test_a_cross_site_post_without_the_csrf_token_is_refused(ws_editor, namespace, token_registry):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ws_editor)
    response = browser.post(secret_url(namespace), headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert not PullCredential.objects.exists()
    assert not AuditEvent.objects.exists()


def test_api_get_leaves_out_a_registry_without_a_credential_and_writes_only_its_audit_event(
    client, ws_editor, namespace, token_registry, credential
):
    client.force_login(ws_editor)
    response = client.get(api_url(namespace))
    assert response.status_code == 200
    assert set(secret_config(response.json())["auths"]) == {"harbor.example.com:8443"}
    assert not PullCredential.objects.filter(registry=token_registry).exists()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["namespace.pull_secret"]


def test_api_post_mints_the_missing_credentials_then_get_returns_the_same_secret(
    client, ws_editor, namespace, workspace, token_registry
):
    client.force_login(ws_editor)
    posted = client.post(api_url(namespace))
    assert posted.status_code == 200
    entry = secret_config(posted.json())["auths"]["registry.example.com"]
    assert entry["username"] == "ws-payments"
    assert PullCredential.objects.get(workspace=workspace, registry=token_registry).username == "ws-payments"
    assert client.get(api_url(namespace)).json() == posted.json()
    assert sorted(AuditEvent.objects.values_list("action", flat=True)) == [
        "namespace.pull_secret",
        "namespace.pull_secret",
        "pull_credential.create",
    ]


def test_api_post_refuses_viewers_and_other_workspaces(client, namespace, token_registry):
    assert_access(client, api_url(namespace), {**REFUSED, ANONYMOUS: 401}, method="post")
    assert not PullCredential.objects.exists()
    assert not AuditEvent.objects.exists()


def test_binding_a_private_space_mints_the_token_service_credential(
    client, admin, ws_editor, namespace, workspace
):
    from registries import services
    from registries.models import RegistrySpace

    registry = Registry.objects.create(
        name="dist", kind="distribution", url="https://registry.example.com", token_service=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="team", visibility="private")
    services.change_bindings(space, admin, add=[workspace])
    minted = PullCredential.objects.get(workspace=workspace, registry=registry)
    assert minted.username == "ws-payments" and minted.state == "done"
    assert AuditEvent.objects.filter(action="pull_credential.create", actor=admin).count() == 1
    # So the API's GET, which mints nothing, already carries it.
    client.force_login(ws_editor)
    entry = secret_config(client.get(api_url(namespace)).json())["auths"]["registry.example.com"]
    assert hashlib.sha256(entry["password"].encode()).hexdigest() == minted.secret_hash
    # Binding again, or binding a public space, mints nothing more.
    services.change_bindings(space, admin, add=[workspace])
    assert PullCredential.objects.filter(registry=registry).count() == 1


def test_making_a_bound_space_private_mints_the_credential(admin, workspace, other_workspace):
    from registries import services
    from registries.models import RegistrySpace, SpaceBinding

    # A demo registry is never contacted, so the visibility change needs no registry here.
    registry = Registry.objects.create(
        name="dist", kind="distribution", url="https://registry.example.com", token_service=True, is_demo=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="team", visibility="public")
    SpaceBinding.objects.create(space=space, workspace=workspace)
    assert not PullCredential.objects.exists()
    services.set_visibility(space, admin, "private")
    assert list(PullCredential.objects.values_list("workspace__name", flat=True)) == ["payments"]


def test_binding_on_a_harbor_or_a_registry_without_the_token_service_mints_no_token_credential(
    admin, workspace
):
    from registries import services
    from registries.models import RegistrySpace

    registry = Registry.objects.create(
        name="plain", kind="distribution", url="https://plain.example.com", is_demo=True
    )
    space = RegistrySpace.objects.create(registry=registry, name="team", visibility="private")
    services.change_bindings(space, admin, add=[workspace])
    assert not PullCredential.objects.exists()


def test_turning_the_token_service_on_mints_credentials_for_existing_bindings(
    admin, workspace, other_workspace
):
    from registries import services
    from registries.models import RegistrySpace

    registry = services.save_registry(
        Registry(name="dist", kind="distribution", url="https://registry.example.com"), admin, check=False
    )
    private = RegistrySpace.objects.create(registry=registry, name="team", visibility="private")
    public = RegistrySpace.objects.create(registry=registry, name="open", visibility="public")
    services.change_bindings(private, admin, add=[workspace])
    services.change_bindings(public, admin, add=[other_workspace])
    assert not PullCredential.objects.exists()

    registry.token_service = True
    services.save_registry(registry, admin, check=False)
    # The private binding grants pulls from now on; the public one grants nothing of its own.
    assert list(PullCredential.objects.values_list("workspace__name", "state")) == [("payments", "done")]
