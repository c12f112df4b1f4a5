"""End to end with real parts: Debian's docker-registry uses the live Wharf as its token
service and trusts Wharf's certificate bundle; skopeo pushes as an Admin and pulls with
workspace credentials. Whether skopeo succeeds is decided by the registry, on Wharf's tokens."""

import datetime as dt
import os
import subprocess

import httpx
import jwt
import pytest
from django.conf import settings
from django.urls import reverse

from conftest import PASSWORD, make_user
from registries import services, tokens
from registries.models import Registry, RegistrySpace
from registries.sync import sync_registry
from workspaces.models import Workspace

pytestmark = pytest.mark.integration

NAME = "e2e-registry"


def wharf_auth(live_server, registry, tmp_path) -> dict:
    """The auth section the registry's page tells an operator to paste, with the bundle Wharf
    publishes saved where it says (fetched as an operator would)."""
    bundle = tmp_path / "wharf-token-certificates.pem"
    response = httpx.get(live_server.url + "/auth/certificates.pem")
    assert response.status_code == 200
    bundle.write_text(response.text)
    return {
        "token": {
            "realm": live_server.url + "/auth/token",
            "service": registry.token_service_id,
            "issuer": settings.WHARF_TOKEN_ISSUER,
            "rootcertbundle": str(bundle),
        }
    }


@pytest.fixture
def wharf_registry(live_server, registry_factory, tmp_path):
    """A docker-registry whose auth.token points at the live Wharf, and its Registry row."""
    tokens.create_signing_key()
    admin = make_user("root-admin", admin=True)
    registry = Registry(
        name=NAME, kind="distribution", url="http://127.0.0.1:9", token_service=True, username=admin.username
    )
    registry.set_password(PASSWORD)
    registry.save()
    server = registry_factory(auth=wharf_auth(live_server, registry, tmp_path))
    Registry.objects.filter(pk=registry.pk).update(url=server.url)
    registry.refresh_from_db()
    return server, registry, admin


def skopeo(server, *args, creds=None):
    """Run skopeo against ``server``; returns (succeeded, stderr)."""
    # inspect takes --creds; copy reads from its source, so --src-creds.
    prefix = "--src-" if args[0] == "copy" else "--"
    command = [
        server.skopeo,
        "--insecure-policy",
        args[0],
        f"{prefix}tls-verify=false",
        *([f"{prefix}creds", creds] if creds else [f"{prefix}no-creds"]),
        *args[1:],
    ]
    env = {
        **os.environ,
        "TMPDIR": str(server.workdir),
        "REGISTRY_AUTH_FILE": str(server.workdir / "auth.json"),
    }
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    return result.returncode == 0, result.stderr


def can_inspect(server, ref, creds=None) -> bool:
    ok, stderr = skopeo(server, "inspect", f"docker://{server.host}/{ref}", creds=creds)
    if not ok:
        # A refusal, not some other failure: the registry said no.
        assert (
            "unauthorized" in stderr.lower()
            or "denied" in stderr.lower()
            or "401" in stderr
            or "403" in stderr
        ), stderr
    return ok


def test_registry_pulls_follow_wharfs_bindings(wharf_registry, oci_images, tmp_path):
    server, registry, admin = wharf_registry
    payments = Workspace.objects.create(name="payments")
    search = Workspace.objects.create(name="search")
    admin_creds = f"{admin.username}:{PASSWORD}"

    # The Admin pushes through Wharf's tokens; nobody else can.
    server.push(oci_images["alpine:3.20"], "pub/alpine:3.20", creds=admin_creds)
    server.push(oci_images["team-a/api:1.0"], "vault/api:1.0", creds=admin_creds)
    with pytest.raises(RuntimeError, match="skopeo could not push"):
        server.push(oci_images["team-a/api:1.1"], "vault/api:1.1")

    # Sync reads the registry with the Admin's credentials, through the token service too.
    run = sync_registry(registry)
    assert run.result == "succeeded", run.error
    assert set(RegistrySpace.objects.filter(registry=registry).values_list("name", flat=True)) == {
        "pub",
        "vault",
    }
    # Behind the token service, pushed spaces start private; the Admin opens "pub".
    assert set(RegistrySpace.objects.filter(registry=registry).values_list("visibility", flat=True)) == {
        "private"
    }
    services.set_visibility(RegistrySpace.objects.get(registry=registry, name="pub"), admin, "public")
    vault = RegistrySpace.objects.get(registry=registry, name="vault")

    pay_user, pay_secret = tokens.mint_workspace_credential(payments, registry)
    search_user, search_secret = tokens.mint_workspace_credential(search, registry)
    pay = f"{pay_user}:{pay_secret}"
    other = f"{search_user}:{search_secret}"
    private = "vault/api:1.0"

    # Public: anyone, anonymous too.
    assert can_inspect(server, "pub/alpine:3.20")
    assert can_inspect(server, "pub/alpine:3.20", pay)
    # Private, before binding: nobody but the Admin.
    assert not can_inspect(server, private)
    assert not can_inspect(server, private, pay)
    assert not can_inspect(server, private, other)
    assert can_inspect(server, private, admin_creds)

    services.change_bindings(vault, admin, add=[payments])
    assert can_inspect(server, private, pay)
    assert not can_inspect(server, private, other)
    assert not can_inspect(server, private)
    # A real pull, bytes and all, and still no push.
    ok, stderr = skopeo(
        server, "copy", f"docker://{server.host}/{private}", f"oci:{tmp_path / 'pulled'}:1.0", creds=pay
    )
    assert ok, stderr
    assert (tmp_path / "pulled" / "index.json").exists()
    with pytest.raises(RuntimeError, match="skopeo could not push"):
        server.push(oci_images["team-a/api:1.1"], "vault/api:1.1", creds=pay)

    # Unbinding takes effect on the very next pull.
    services.change_bindings(vault, admin, remove=[payments])
    assert not can_inspect(server, private, pay)
    assert not can_inspect(server, private, other)

    # A rotated secret is refused at once; the new one works where the rule allows.
    _user, new_secret = tokens.mint_workspace_credential(payments, registry)
    assert not can_inspect(server, "pub/alpine:3.20", pay)
    assert can_inspect(server, "pub/alpine:3.20", f"{pay_user}:{new_secret}")


def test_registry_refuses_expired_and_foreign_tokens(wharf_registry, oci_images):
    """The registry itself checks what Wharf signs: an expired token, or one for another
    service, is refused even though Wharf granted the access in it."""
    import datetime as dt

    server, registry, admin = wharf_registry
    server.push(oci_images["alpine:3.20"], "pub/alpine:3.20", creds=f"{admin.username}:{PASSWORD}")
    RegistrySpace.objects.create(registry=registry, name="pub", visibility="public")
    access = [{"type": "repository", "name": "pub/alpine", "actions": ["pull"]}]
    url = f"{server.url}/v2/pub/alpine/manifests/3.20"
    headers = {"Accept": "application/vnd.oci.image.manifest.v1+json"}

    def status(token):
        return httpx.get(url, headers={**headers, "Authorization": f"Bearer {token}"}).status_code

    fresh = tokens.issue_token(registry, tokens.ANONYMOUS, access)["token"]
    assert status(fresh) == 200
    # Older than the token lifetime plus docker-registry's clock-skew leeway.
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=tokens.MAX_LIFETIME + 120)
    expired = tokens.issue_token(registry, tokens.ANONYMOUS, access, now=stale)["token"]
    assert status(expired) == 401
    registry.token_service_id = "wharf-another-service"
    assert status(tokens.issue_token(registry, tokens.ANONYMOUS, access)["token"]) == 401


def test_namespace_secret_pulls_exactly_what_its_picker_shows(wharf_registry, oci_images):
    import base64
    import json

    from registries import access, pull_secrets
    from workspaces.models import Cluster, Namespace

    server, registry, admin = wharf_registry
    refs = {"pub/alpine": "3.20", "vault/api": "1.0", "other/web": "2.0"}
    for repository, tag in refs.items():
        server.push(
            oci_images["alpine:3.20"],
            f"{repository}:{tag}",
            source_tag="3.20",
            creds=f"{admin.username}:{PASSWORD}",
        )
    assert sync_registry(registry).result == "succeeded"
    spaces = {space.name: space for space in RegistrySpace.objects.filter(registry=registry)}
    services.set_visibility(spaces["pub"], admin, "public")
    payments, search = Workspace.objects.create(name="payments"), Workspace.objects.create(name="search")
    services.change_bindings(spaces["vault"], admin, add=[payments])
    services.change_bindings(spaces["other"], admin, add=[search])
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="shop", workspace=payments
    )

    manifest = pull_secrets.fetch_pull_secret(namespace, admin, mint=True)
    entry = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))["auths"][registry.host]
    creds = f"{entry['username']}:{entry['password']}"

    shown = set(access.repositories_in(access.spaces_for_namespace(namespace)).values_list("name", flat=True))
    assert shown == {"pub/alpine", "vault/api"}
    for repository, tag in refs.items():
        assert can_inspect(server, f"{repository}:{tag}", creds) == (repository in shown), repository


def test_finding_3_a_renamed_or_removed_registrys_name_cannot_be_squatted(
    wharf_registry, registry_factory, oci_images, live_server, client, settings
):
    """A registry trusts the id Wharf generated for its row, not a name: after an Admin renames
    or removes it, a Workspace Admin who takes the old name gets neither the token service nor
    a token the real registry accepts for another workspace's private images."""
    from django.db import IntegrityError, transaction
    from rest_framework.test import APIClient

    from workspaces.models import Membership

    server, registry, admin = wharf_registry
    admin_creds = f"{admin.username}:{PASSWORD}"
    server.push(oci_images["team-a/api:1.0"], "vault/api:1.0", creds=admin_creds)
    assert sync_registry(registry).result == "succeeded"
    payments, search = Workspace.objects.create(name="payments"), Workspace.objects.create(name="search")
    services.change_bindings(
        RegistrySpace.objects.get(registry=registry, name="vault"), admin, add=[payments]
    )
    squatter = make_user("squatter")
    Membership.objects.create(user=squatter, workspace=search, role="admin")
    squatter_creds = f"{squatter.username}:{PASSWORD}"
    old_name, old_id = registry.name, registry.token_service_id
    assert old_id != old_name and old_id.startswith("wharf-")

    # The Admin renames it: the id stays with the row, and cannot be set through the API.
    admin_api = APIClient()
    admin_api.force_login(admin)
    response = admin_api.patch(
        f"/api/v1/registries/{registry.pk}/",
        {"name": "renamed", "token_service_id": "wharf-chosen"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "renamed" and response.json()["token_service_id"] == old_id
    assert can_inspect(server, "vault/api:1.0", admin_creds)

    # The squatter takes the old name for a workspace registry and asks for the token service.
    settings.WHARF_ALLOWED_REGISTRY_NETWORKS = ["127.0.0.0/8"]
    plain = registry_factory()
    squat_api = APIClient()
    squat_api.force_login(squatter)
    body = {"name": old_name, "kind": "distribution", "url": plain.url, "token_service": True}
    response = squat_api.post(f"/api/v1/workspaces/{search.pk}/registries/", body, format="json")
    assert response.status_code == 400
    assert "Only platform Admins can turn on Wharf's token service" in response.json()["token_service"][0]
    assert not Registry.objects.filter(name=old_name).exists()
    response = squat_api.post(
        f"/api/v1/workspaces/{search.pk}/registries/", {**body, "token_service": False}, format="json"
    )
    assert response.status_code == 201, response.content
    squat = Registry.objects.get(name=old_name)
    assert response.json()["token_service_id"] == squat.token_service_id not in (old_id, old_name)
    # The page has no such box, and ticking it anyway changes nothing; the database refuses too.
    client.force_login(squatter)
    edit = reverse("registries:workspace-edit", args=[squat.pk])
    assert "token_service" not in client.get(edit).text
    client.post(
        edit,
        {
            "name": old_name,
            "url": plain.url,
            "username": "",
            "password": "",
            "ca_bundle": "",
            "token_service": "on",
        },
    )
    squat.refresh_from_db()
    assert not squat.token_service
    with pytest.raises(IntegrityError), transaction.atomic():
        Registry.objects.filter(pk=squat.pk).update(token_service=True)

    # No token for the real registry under the old name or the squat's id, and with the real id
    # the squatter gets nothing of payments': the registry refuses the pull.
    scope = {"scope": "repository:vault/api:pull,push"}
    for service in (old_name, squat.token_service_id):
        answer = httpx.get(
            live_server.url + "/auth/token",
            params={"service": service, **scope},
            auth=(squatter.username, PASSWORD),
        )
        assert answer.status_code == 400, (service, answer.text)
    answer = httpx.get(
        live_server.url + "/auth/token",
        params={"service": old_id, **scope},
        auth=(squatter.username, PASSWORD),
    )
    assert answer.status_code == 200
    assert jwt.decode(answer.json()["token"], options={"verify_signature": False})["access"] == []
    assert not can_inspect(server, "vault/api:1.0", squatter_creds)

    # Removed: a new Admin registry of the old name gets a new id, and the real registry's id
    # now answers nobody, not even an Admin.
    services.remove_registry(Registry.objects.get(pk=registry.pk), admin)
    successor = Registry.objects.create(
        name="renamed", kind="distribution", url=server.url, token_service=True
    )
    assert successor.token_service_id not in (old_id, squat.token_service_id)
    answer = httpx.get(
        live_server.url + "/auth/token", params={"service": old_id, **scope}, auth=(admin.username, PASSWORD)
    )
    assert answer.status_code == 400
    ok, _stderr = skopeo(server, "inspect", f"docker://{server.host}/vault/api:1.0", creds=admin_creds)
    assert not ok


def pasted_snippet(client, registry, bundle_path) -> dict:
    """What an operator pastes from the registry's page: the auth.token section, with the
    certificate bundle saved where the registry can read it."""
    import html
    import re

    page = html.unescape(client.get(reverse("registries:detail", args=[registry.pk])).text)
    snippet = dict(re.findall(r"^\s+(realm|service|issuer): (\S+)$", page, re.MULTILINE))
    bundle_url = re.search(r'<a href="([^"]+/auth/certificates\.pem[^"]*)"', page).group(1)
    bundle = httpx.get(bundle_url)
    assert bundle.status_code == 200
    bundle_path.write_text(bundle.text)
    return {"token": {**snippet, "rootcertbundle": str(bundle_path)}}


def registry_form(server, admin, **fields):
    return {
        "kind": "distribution",
        "name": "team-registry",
        "url": server.url,
        "username": admin.username,
        "password": PASSWORD,
        "verify_tls": "on",
        "ca_bundle": "",
        **fields,
    }


@pytest.mark.parametrize("order", ["configure registry, then tick", "tick, then configure registry"])
def test_finding_15_enabling_the_token_service_works_in_either_order(
    order, live_server, registry_factory, oci_images, client, settings, tmp_path
):
    """The README's order (paste the snippet into the registry, restart it, then tick "uses
    Wharf's token service") and the reverse both end with a registry whose pulls follow the
    bindings. The connection check of the tick asks Wharf for a token as the Admin before the
    row says it uses the token service; it used to be refused."""
    settings.WHARF_PUBLIC_URL = live_server.url
    admin = make_user("root-admin", admin=True)
    client.force_login(admin)
    server = registry_factory()
    server.push(oci_images["team-a/api:1.0"], "vault/api:1.0")
    tick_first = order.startswith("tick")

    response = client.post(
        reverse("registries:create"),
        registry_form(server, admin, **({"token_service": "on"} if tick_first else {})),
    )
    assert response.status_code == 302, response.text
    registry = Registry.objects.get(name="team-registry")
    assert registry.token_service is tick_first

    server.stop()
    server.auth = pasted_snippet(client, registry, tmp_path / "bundle.pem")
    assert server.auth["token"]["service"] == registry.token_service_id
    server.start()

    if not tick_first:
        response = client.post(
            reverse("registries:edit", args=[registry.pk]),
            registry_form(server, admin, password="", token_service="on"),
        )
        assert response.status_code == 302, response.text
    registry.refresh_from_db()
    assert registry.token_service and registry.is_healthy

    assert sync_registry(registry).result == "succeeded"
    vault = RegistrySpace.objects.get(registry=registry, name="vault")
    # Spaces synced before the token service was on were open to anyone, and still say so
    # (Wharf shows what it enforces); spaces first seen behind it start private.
    assert vault.visibility == ("private" if tick_first else "public")
    services.set_visibility(vault, admin, "private")
    payments, search = Workspace.objects.create(name="payments"), Workspace.objects.create(name="search")
    services.change_bindings(vault, admin, add=[payments])
    pay = ":".join(tokens.mint_workspace_credential(payments, registry))
    other = ":".join(tokens.mint_workspace_credential(search, registry))
    assert can_inspect(server, "vault/api:1.0", pay)
    assert not can_inspect(server, "vault/api:1.0", other)
    assert not can_inspect(server, "vault/api:1.0")

    # Turning it off again passes the check too; until the registry drops auth.token, only
    # Admins get in (the row no longer says who else may).
    response = client.post(
        reverse("registries:edit", args=[registry.pk]), registry_form(server, admin, password="")
    )
    assert response.status_code == 302, response.text
    registry.refresh_from_db()
    assert not registry.token_service
    assert not can_inspect(server, "vault/api:1.0", pay)
    assert can_inspect(server, "vault/api:1.0", f"{admin.username}:{PASSWORD}")


def test_finding_5_a_removed_members_copy_stops_pulling_when_the_overlap_ends(
    wharf_registry, oci_images, client, settings
):
    """A member who leaves took the workspace's shared secret with them. Removing them rotates
    it: their copy still pulls during the overlap window, in which the namespace fetches the new
    secret, and the registry refuses it once the window is over."""
    import base64
    import json
    import time

    from registries.models import PullCredential
    from workspaces.models import Cluster, Membership, Namespace

    server, registry, admin = wharf_registry
    settings.WHARF_CREDENTIAL_OVERLAP = 10
    server.push(oci_images["team-a/api:1.0"], "vault/api:1.0", creds=f"{admin.username}:{PASSWORD}")
    assert sync_registry(registry).result == "succeeded"
    payments = Workspace.objects.create(name="payments")
    services.change_bindings(
        RegistrySpace.objects.get(registry=registry, name="vault"), admin, add=[payments]
    )
    namespace = Namespace.objects.create(
        cluster=Cluster.objects.create(name="prod"), name="shop", workspace=payments
    )
    boss = make_user("boss", workspace=payments, role="admin")
    leaver = make_user("leaver", workspace=payments, role="editor")

    def pull_secret_copy(user) -> str:
        client.force_login(user)
        response = client.get(f"/api/v1/namespaces/{namespace.pk}/pull-secret/")
        assert response.status_code == 200
        config = json.loads(base64.b64decode(response.json()["data"][".dockerconfigjson"]))
        entry = config["auths"][registry.host]
        return f"{entry['username']}:{entry['password']}"

    taken = pull_secret_copy(leaver)
    assert can_inspect(server, "vault/api:1.0", taken)

    client.force_login(boss)
    membership = Membership.objects.get(user=leaver)
    response = client.post(reverse("workspaces:member-remove", args=[payments.pk, membership.pk]))
    assert response.status_code == 302
    assert can_inspect(server, "vault/api:1.0", taken)  # inside the window
    fresh = pull_secret_copy(boss)
    assert fresh != taken
    assert can_inspect(server, "vault/api:1.0", fresh)

    ends = PullCredential.objects.get(workspace=payments, registry=registry).previous_valid_until
    time.sleep(max(0.0, (ends - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
    assert not can_inspect(server, "vault/api:1.0", taken)
    assert can_inspect(server, "vault/api:1.0", fresh)


def test_finding_3_a_registry_refuses_a_token_signed_for_another(
    live_server, registry_factory, oci_images, tmp_path
):
    """The second wall: each registry trusts only its own signing key. Even a token naming its
    own service id (were an audience ever wrong) is refused when another registry's key signed it."""
    admin = make_user("root-admin", admin=True)
    registries, servers = {}, {}
    for name in ("alpha", "beta"):
        registry = Registry(
            name=name,
            kind="distribution",
            url="http://127.0.0.1:9",
            token_service=True,
            username=admin.username,
        )
        registries[name] = services.save_registry(registry, admin, password=PASSWORD, check=False)
        bundle = httpx.get(
            live_server.url + "/auth/certificates.pem", params={"service": registry.token_service_id}
        )
        (tmp_path / f"{name}.pem").write_text(bundle.text)
        servers[name] = registry_factory(
            auth={
                "token": {
                    "realm": live_server.url + "/auth/token",
                    "service": registry.token_service_id,
                    "issuer": settings.WHARF_TOKEN_ISSUER,
                    "rootcertbundle": str(tmp_path / f"{name}.pem"),
                }
            }
        )
    servers["beta"].push(oci_images["alpine:3.20"], "pub/alpine:3.20", creds=f"{admin.username}:{PASSWORD}")
    beta = registries["beta"]
    RegistrySpace.objects.create(registry=beta, name="pub", visibility="public")
    access = [{"type": "repository", "name": "pub/alpine", "actions": ["pull"]}]

    def status_at_beta(token):
        return httpx.get(
            f"{servers['beta'].url}/v2/pub/alpine/manifests/3.20",
            headers={
                "Accept": "application/vnd.oci.image.manifest.v1+json",
                "Authorization": f"Bearer {token}",
            },
        ).status_code

    assert status_at_beta(tokens.issue_token(beta, tokens.ANONYMOUS, access)["token"]) == 200
    alpha_key = tokens.active_signing_key(registries["alpha"])
    forged = Registry.objects.get(pk=beta.pk)
    forged.wharf_active_key = (alpha_key.pk, alpha_key.created)  # beta's audience, alpha's key
    assert status_at_beta(tokens.issue_token(forged, tokens.ANONYMOUS, access)["token"]) == 401


def test_login_command_pushes_into_bound_private_space_until_expired_or_revoked(wharf_registry, oci_images):
    """A member's "Generate login command": skopeo pushes with it into the private space bound
    to their workspace, not into another workspace's (nor pulls from it); a viewer's login
    pulls but never pushes; revoked or expired, the registry refuses it."""
    from django.utils import timezone
    from rest_framework.test import APIClient

    from registries.models import LoginCredential

    server, registry, admin = wharf_registry
    admin_creds = f"{admin.username}:{PASSWORD}"
    server.push(oci_images["team-a/api:1.0"], "vault/api:1.0", creds=admin_creds)
    server.push(oci_images["team-a/api:1.0"], "other/web:1.0", source_tag="1.0", creds=admin_creds)
    assert sync_registry(registry).result == "succeeded"
    payments, search = Workspace.objects.create(name="payments"), Workspace.objects.create(name="search")
    spaces = {space.name: space for space in RegistrySpace.objects.filter(registry=registry)}
    services.change_bindings(spaces["vault"], admin, add=[payments])
    services.change_bindings(spaces["other"], admin, add=[search])
    editor = make_user("ed", workspace=payments, role="editor")
    viewer = make_user("vi", workspace=payments, role="viewer")

    def login_for(user, **body):
        api = APIClient()
        api.force_authenticate(user)
        response = api.post(f"/api/v1/registries/{registry.pk}/login-command/", body, format="json")
        assert response.status_code == 201, response.content
        answer = response.json()
        return api, answer["username"], f"{answer['username']}:{answer['password']}"

    api, username, creds = login_for(editor, lifetime=300)
    server.push(oci_images["team-a/api:1.1"], "vault/api:1.1", creds=creds)
    assert can_inspect(server, "vault/api:1.1", creds)
    with pytest.raises(RuntimeError, match="skopeo could not push"):
        server.push(oci_images["team-a/api:1.1"], "other/web:1.1", creds=creds)
    assert not can_inspect(server, "other/web:1.0", creds)

    _viewer_api, _viewer_name, viewer_creds = login_for(viewer)
    assert can_inspect(server, "vault/api:1.0", viewer_creds)
    with pytest.raises(RuntimeError, match="skopeo could not push"):
        server.push(oci_images["team-a/api:1.1"], "vault/api:1.2", creds=viewer_creds)

    # Revoked: refused at once.
    assert (
        api.delete(
            f"/api/v1/registries/{registry.pk}/login-command/", {"username": username}, format="json"
        ).status_code
        == 204
    )
    assert not can_inspect(server, "vault/api:1.1", creds)
    with pytest.raises(RuntimeError, match="skopeo could not push"):
        server.push(oci_images["team-a/api:1.1"], "vault/api:1.3", creds=creds)

    # Expired: refused too (its expiry moved into the past rather than waiting for it).
    _api, expiring, expiring_creds = login_for(editor, lifetime=60)
    assert can_inspect(server, "vault/api:1.0", expiring_creds)
    LoginCredential.objects.filter(username=expiring).update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert not can_inspect(server, "vault/api:1.0", expiring_creds)
    with pytest.raises(RuntimeError, match="skopeo could not push"):
        server.push(oci_images["team-a/api:1.1"], "vault/api:1.4", creds=expiring_creds)


def test_a_pull_is_refused_once_the_binding_has_ended(wharf_registry, oci_images):
    """A binding with an end: pulls work until it, and after ``expire_bindings`` has run (the
    worker's minutely job) the registry refuses the next pull."""
    import time
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    server, registry, admin = wharf_registry
    payments = Workspace.objects.create(name="payments")
    server.push(oci_images["team-a/api:1.0"], "vault/api:1.0", creds=f"{admin.username}:{PASSWORD}")
    assert sync_registry(registry).result == "succeeded"
    vault = RegistrySpace.objects.get(registry=registry, name="vault")
    user, secret = tokens.mint_workspace_credential(payments, registry)
    pay = f"{user}:{secret}"

    ends = timezone.now() + dt.timedelta(seconds=3)
    services.change_bindings(vault, admin, add=[payments], expires={payments: ends})
    assert can_inspect(server, "vault/api:1.0", pay)
    out = StringIO()
    call_command("expire_bindings", stdout=out)
    assert out.getvalue() == ""  # not ended yet
    assert can_inspect(server, "vault/api:1.0", pay)

    time.sleep(max(0.0, (ends - timezone.now()).total_seconds()) + 0.2)
    call_command("expire_bindings", stdout=out)
    assert "e2e-registry/vault: unbound payments (binding ended)" in out.getvalue()
    assert not can_inspect(server, "vault/api:1.0", pay)
