"""The Docker token service: scopes, who is granted what, the realm endpoint's answers and
refusals, signing keys, workspace pull credentials. The real registry is in test_token_e2e.py."""

import base64
import datetime as dt
import logging

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from conftest import PASSWORD, make_user
from portal.api import tokens as api_tokens
from portal.models import AuditEvent
from registries import access, services, tokens
from registries.models import PullCredential, Registry, RegistrySpace, SpaceBinding, TokenSigningKey
from registries.tokens import compiled, principals
from registries.tokens.grant import grant
from workspaces.models import Workspace

TOKEN_URL = "/auth/token"
NAME = "tok"
# The registry's token service id (Wharf generates one; the tests fix it to read easily).
SERVICE = "wharf-tok-service-id"


# -- the world -------------------------------------------------------------------------------


@pytest.fixture
def signing_key(db):
    return tokens.create_signing_key()


@pytest.fixture
def world(db, workspace, other_workspace, signing_key):
    """Platform registry "tok": pub (public), priv (bound to payments), secret (bound to search),
    lonely (private, unbound). Workspace registry "own" of payments with one private space (a
    workspace registry cannot use the token service)."""
    tok = Registry.objects.create(
        name=NAME, kind="distribution", url="http://127.0.0.1:9", token_service=True, token_service_id=SERVICE
    )
    own = Registry.objects.create(
        name="own", kind="distribution", url="http://127.0.0.1:9", scope="workspace", workspace=workspace
    )
    spaces = {}
    for name, visibility in [
        ("pub", "public"),
        ("priv", "private"),
        ("secret", "private"),
        ("lonely", "private"),
    ]:
        spaces[name] = RegistrySpace.objects.create(registry=tok, name=name, visibility=visibility)
    spaces["stuff"] = RegistrySpace.objects.create(registry=own, name="stuff", visibility="private")
    SpaceBinding.objects.create(space=spaces["priv"], workspace=workspace)
    SpaceBinding.objects.create(space=spaces["secret"], workspace=other_workspace)
    creds = {
        "payments": tokens.mint_workspace_credential(workspace, tok),
        "search": tokens.mint_workspace_credential(other_workspace, tok),
    }
    return {
        "tok": tok,
        "own": own,
        "spaces": spaces,
        "creds": creds,
        "workspace": workspace,
        "other": other_workspace,
    }


@pytest.fixture(params=[True, False], ids=["templates", "orm"])
def templates(request, monkeypatch):
    """Both ways of running the token service's queries: compiled templates, and the ORM."""
    monkeypatch.setattr(compiled, "USE_TEMPLATES", request.param)
    return request.param


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def ask(client, scopes=(), *, service=SERVICE, auth=None):
    headers = {"Authorization": auth} if auth else {}
    query = {"service": service, "scope": list(scopes)} if service is not None else {"scope": list(scopes)}
    return client.get(TOKEN_URL, query, headers=headers)


def certificate_key(pem=None):
    pem = pem or TokenSigningKey.objects.filter(retired__isnull=True).first().certificate_pem
    return x509.load_pem_x509_certificate(pem.encode()).public_key()


def decode(token, *, audience=SERVICE, pem=None):
    return jwt.decode(token, certificate_key(pem), algorithms=["ES256"], audience=audience, issuer="wharf")


def access_of(response):
    assert response.status_code == 200, response.content
    return {entry["name"]: entry["actions"] for entry in decode(response.json()["token"])["access"]}


# -- scopes ----------------------------------------------------------------------------------


def test_parse_scopes_reads_types_names_actions_and_merges_repeats():
    scopes = tokens.parse_scopes(
        [
            "repository:team-a/api:pull,push",
            "repository:127.0.0.1:5000/team-a/api:pull",
            "registry:catalog:* repository:alpine:pull",  # several in one parameter, as old clients do
            "repository:team-a/api:pull,delete",
            "repository(plugin):team-a/api:pull",
            "thing:whatever:read",
        ]
    )
    assert [str(scope) for scope in scopes] == [
        "repository:team-a/api:pull,push,delete",
        "repository:127.0.0.1:5000/team-a/api:pull",
        "registry:catalog:*",
        "repository:alpine:pull",
        "repository(plugin):team-a/api:pull",
        "thing:whatever:read",
    ]
    assert scopes[4].resource_class == "plugin"
    assert tokens.parse_scopes([]) == []


@pytest.mark.parametrize(
    "scope",
    [
        "repository",
        "repository:team-a",
        "repository::pull",
        "repository:team-a:",
        ":team-a:pull",
        "repository:Team-A/api:pull",
        "repository:team-a/../x:pull",
        "repository:team-a//api:pull",
        "repository:team-a:pull,",
        "repository:team-a:,pull",
        "Repository:team-a:pull",
        "repository:" + "a" * 300 + ":pull",
        "registry:cat alog:*",
    ],
)
def test_malformed_scopes_are_refused(scope):
    with pytest.raises(tokens.InvalidRequest):
        tokens.parse_scopes([scope])


def test_too_many_scopes_are_refused():
    with pytest.raises(tokens.InvalidRequest):
        tokens.parse_scopes([f"repository:s/r{number}:pull" for number in range(tokens.MAX_SCOPES + 1)])


# -- who is granted what ---------------------------------------------------------------------

ALL = ["pub/app", "priv/app", "secret/app", "lonely/app", "nowhere/app", "library-less"]
PULL_PUSH = "pull,push"

# principal -> {repository: actions} on the platform registry "tok", asking pull,push for all.
EXPECTED_TOK = {
    "anonymous": {"pub/app": ["pull"]},
    "cred-payments": {"pub/app": ["pull"], "priv/app": ["pull"]},
    "cred-search": {"pub/app": ["pull"], "secret/app": ["pull"]},
    "ws_viewer": {"pub/app": ["pull"], "priv/app": ["pull"]},
    "ws_admin": {"pub/app": ["pull"], "priv/app": ["pull"]},
    "outsider": {"pub/app": ["pull"], "secret/app": ["pull"]},
    "admin": {name: ["pull", "push"] for name in ALL},
}


def principal_for(name, world, request):
    if name == "anonymous":
        return tokens.ANONYMOUS
    if name.startswith("cred-"):
        registry_key = "tok"
        username, secret = world["creds"][name.removeprefix("cred-")]
        principal = tokens.authenticate(world[registry_key], username, secret)
        assert principal is not None and principal.credential is not None
        return principal
    user = request.getfixturevalue(name)
    return tokens.Principal(subject=user.username, user=user)


@pytest.mark.parametrize("name", sorted(EXPECTED_TOK))
def test_grant_on_a_platform_registry_follows_the_access_rule(templates, world, request, name):
    principal = principal_for(name, world, request)
    scopes = tokens.parse_scopes([f"repository:{repo}:{PULL_PUSH}" for repo in ALL])
    granted = {entry["name"]: entry["actions"] for entry in grant(principal, world["tok"], scopes)}
    assert granted == EXPECTED_TOK[name]


def test_a_workspace_registry_is_no_token_service(client, templates, world, ws_admin):
    own = world["own"]
    with pytest.raises(ValueError, match="token service"):
        tokens.mint_workspace_credential(world["workspace"], own)
    for service in (own.token_service_id, own.name):
        response = ask(
            client,
            ["repository:stuff/app:pull,push"],
            service=service,
            auth=basic(ws_admin.username, PASSWORD),
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "UNSUPPORTED"


def test_catalog_is_for_whoever_manages_the_registry(world, admin, ws_admin, ws_viewer):
    catalog = tokens.parse_scopes(["registry:catalog:*"])

    def gets(principal, registry):
        return grant(principal, registry, catalog) == [
            {"type": "registry", "name": "catalog", "actions": ["*"]}
        ]

    as_user = lambda user: tokens.Principal(subject=user.username, user=user)  # noqa: E731
    assert gets(as_user(admin), world["tok"])
    assert not gets(as_user(ws_admin), world["tok"])
    assert not gets(as_user(ws_viewer), world["tok"])
    assert not gets(tokens.ANONYMOUS, world["tok"])
    username, secret = world["creds"]["payments"]
    assert not gets(tokens.authenticate(world["tok"], username, secret), world["tok"])


def test_star_and_unknown_actions_and_types_grant_only_what_is_allowed(world, admin):
    principal = tokens.Principal(subject=admin.username, user=admin)
    scopes = tokens.parse_scopes(
        [
            "repository:priv/app:*",
            "repository:pub/app:delete",
            "repository(plugin):pub/app:pull",
            "thing:pub:pull",
            "registry:other:*",
            "registry:catalog:pull",
        ]
    )
    assert grant(principal, world["tok"], scopes) == [
        {"type": "repository", "name": "priv/app", "actions": ["pull", "push"]}
    ]


def test_grant_ignores_wharfs_health_view_but_not_missing_spaces(world):
    Registry.objects.filter(pk=world["tok"].pk).update(status="unhealthy")
    scopes = tokens.parse_scopes(["repository:pub/app:pull"])
    assert grant(tokens.ANONYMOUS, world["tok"], scopes)
    RegistrySpace.objects.filter(pk=world["spaces"]["pub"].pk).update(missing=True)
    assert grant(tokens.ANONYMOUS, world["tok"], scopes) == []


def test_visibility_change_applies_to_the_next_grant(world, admin):
    scopes = tokens.parse_scopes(["repository:pub/app:pull"])
    services.set_visibility(world["spaces"]["pub"], admin, "private")
    assert grant(tokens.ANONYMOUS, world["tok"], scopes) == []


# -- access.py additions ---------------------------------------------------------------------


def test_spaces_pullable_at_registry(world, ws_viewer):
    names = lambda qs: sorted(qs.values_list("name", flat=True))  # noqa: E731
    tok = world["tok"]
    assert names(access.spaces_pullable_at_registry(tok)) == ["pub"]
    assert names(access.spaces_pullable_at_registry(tok, workspace=world["workspace"])) == ["priv", "pub"]
    assert names(access.spaces_pullable_at_registry(tok, workspace=world["other"])) == ["pub", "secret"]
    assert names(access.spaces_pullable_at_registry(tok, user=ws_viewer)) == ["priv", "pub"]
    assert names(access.spaces_pullable_at_registry(world["own"], workspace=world["workspace"])) == ["stuff"]
    assert names(access.spaces_pullable_at_registry(world["own"], workspace=world["other"])) == []


def test_owns_whole_registry(world, ws_viewer, outsider, admin):
    own, tok = world["own"], world["tok"]
    assert access.owns_whole_registry(own, workspace=world["workspace"])
    assert not access.owns_whole_registry(own, workspace=world["other"])
    assert not access.owns_whole_registry(own)
    assert access.owns_whole_registry(own, user=ws_viewer)
    assert not access.owns_whole_registry(own, user=outsider)
    assert not access.owns_whole_registry(own, user=admin)
    assert not access.owns_whole_registry(tok, workspace=world["workspace"])


def test_registries_pullable_by_workspace(world):
    harbor = Registry.objects.create(name="harb", kind="harbor", url="https://h.example.com")
    RegistrySpace.objects.create(registry=harbor, name="hpriv", visibility="private")
    lonely_ws = Workspace.objects.create(name="lonely")
    assert set(access.registries_pullable_by_workspace(world["workspace"])) == {world["tok"], world["own"]}
    assert set(access.registries_pullable_by_workspace(world["other"])) == {world["tok"]}
    # Public spaces count: anyone can pull them.
    assert set(access.registries_pullable_by_workspace(lonely_ws)) == {world["tok"]}
    assert not access.registries_pullable_by_workspace(None).exists()


# -- the realm endpoint ----------------------------------------------------------------------


def test_anonymous_token_grants_public_pull_with_every_claim(client, templates, world, signing_key):
    before = dt.datetime.now(dt.UTC).timestamp()
    response = ask(client, ["repository:pub/app:pull", "repository:priv/app:pull"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    assert body["issued_at"].endswith("Z")
    claims = decode(body["token"])
    assert claims["iss"] == "wharf"
    assert claims["sub"] == ""
    assert claims["aud"] == SERVICE
    assert claims["nbf"] == claims["iat"] >= int(before)
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]
    assert claims["access"] == [{"type": "repository", "name": "pub/app", "actions": ["pull"]}]
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256"
    certificate = x509.load_pem_x509_certificate(signing_key.certificate_pem.encode())
    assert header["x5c"] == [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()]
    # Registry clients, not browsers: no session, no cookie, never cached.
    assert not response.cookies
    assert "no-cache" in response["Cache-Control"]
    assert ask(client, ["repository:pub/app:pull"]).json()["token"] != body["token"]  # fresh jti


def test_workspace_credential_pulls_its_bound_space_only(client, templates, world):
    username, secret = world["creds"]["payments"]
    assert username == "ws-payments"
    response = ask(
        client,
        ["repository:priv/app:pull,push", "repository:secret/app:pull", "repository:lonely/app:pull"],
        auth=basic(username, secret),
    )
    assert access_of(response) == {"priv/app": ["pull"]}
    assert decode(response.json()["token"])["sub"] == "ws-payments"


def test_login_without_scope_succeeds_with_an_empty_grant(client, world):
    username, secret = world["creds"]["payments"]
    response = ask(client, [], auth=basic(username, secret))
    assert response.status_code == 200
    assert decode(response.json()["token"])["access"] == []


def test_unbind_and_bind_apply_on_the_next_request(client, templates, world, admin):
    username, secret = world["creds"]["payments"]
    auth = basic(username, secret)
    scope = ["repository:priv/app:pull"]
    assert access_of(ask(client, scope, auth=auth)) == {"priv/app": ["pull"]}
    services.change_bindings(world["spaces"]["priv"], admin, remove=[world["workspace"]])
    assert access_of(ask(client, scope, auth=auth)) == {}
    services.change_bindings(world["spaces"]["priv"], admin, add=[world["workspace"]])
    assert access_of(ask(client, scope, auth=auth)) == {"priv/app": ["pull"]}


@pytest.mark.parametrize(
    "auth",
    [
        basic("ws-payments", "not-the-secret"),
        basic("ws-nobody", "whatever"),
        basic("root-admin", "wrong-password"),
        basic("nobody", PASSWORD),
        "Bearer abc.def.ghi",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":password-only").decode(),
    ],
)
def test_wrong_credentials_get_401_with_a_basic_challenge(client, world, admin, auth):
    response = ask(client, ["repository:pub/app:pull"], auth=auth)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Wharf"'
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "token" not in response.json()


def test_a_credential_works_only_at_its_own_registry(client, templates, world):
    other = Registry.objects.create(
        name="other-tok", kind="distribution", url="http://127.0.0.1:9", token_service=True
    )
    username, secret = tokens.mint_workspace_credential(world["workspace"], other)
    assert ask(client, [], service=other.token_service_id, auth=basic(username, secret)).status_code == 200
    assert ask(client, [], service=SERVICE, auth=basic(username, secret)).status_code == 401


def test_rotated_or_deleted_credential_is_refused(client, world):
    old_username, old_secret = world["creds"]["payments"]
    username, secret = tokens.mint_workspace_credential(world["workspace"], world["tok"])
    assert username == old_username and secret != old_secret
    assert ask(client, [], auth=basic(username, old_secret)).status_code == 401
    assert ask(client, [], auth=basic(username, secret)).status_code == 200
    PullCredential.objects.filter(workspace=world["workspace"], registry=world["tok"]).delete()
    assert ask(client, [], auth=basic(username, secret)).status_code == 401


def test_users_log_in_with_password_or_api_token(client, templates, world, admin, ws_viewer):
    response = ask(client, ["repository:lonely/app:pull,push"], auth=basic(admin.username, PASSWORD))
    assert access_of(response) == {"lonely/app": ["pull", "push"]}
    _token, key = api_tokens.issue(ws_viewer, "registry")
    response = ask(client, ["repository:priv/app:pull,push"], auth=basic(ws_viewer.username, key))
    assert access_of(response) == {"priv/app": ["pull"]}
    # Someone else's API token does not log in as this user.
    assert ask(client, [], auth=basic(admin.username, key)).status_code == 401
    ws_viewer.is_active = False
    ws_viewer.save()
    assert ask(client, [], auth=basic(ws_viewer.username, key)).status_code == 401
    assert ask(client, [], auth=basic(ws_viewer.username, PASSWORD)).status_code == 401


def test_a_user_named_like_a_credential_still_logs_in(client, world):
    Workspace.objects.create(name="admin")
    tokens.mint_workspace_credential(Workspace.objects.get(name="admin"), world["tok"])
    user = make_user("ws-admin", workspace=world["workspace"], role="viewer")
    response = ask(client, ["repository:priv/app:pull"], auth=basic(user.username, PASSWORD))
    assert access_of(response) == {"priv/app": ["pull"]}


@pytest.mark.parametrize("service", ["nope", "harbor-id", "own-id", "tok", "plain", ""])
def test_unknown_service_is_refused(client, templates, world, service):
    harbor = Registry.objects.create(name="harbor", kind="harbor", url="https://h.example.com")
    Registry.objects.create(name="plain", kind="distribution", url="http://127.0.0.1:9")
    # A Harbor's or a workspace registry's id, or any registry's name: none is a service.
    service = {"harbor-id": harbor.token_service_id, "own-id": world["own"].token_service_id}.get(
        service, service
    )
    response = ask(client, ["repository:pub/app:pull"], service=service)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == ("INVALID_REQUEST" if service == "" else "UNSUPPORTED")
    assert "token" not in response.json()


def test_missing_service_is_refused(client, world):
    response = ask(client, ["repository:pub/app:pull"], service=None)
    assert response.status_code == 400


def test_malformed_scope_is_refused_as_invalid_request(client, world):
    response = ask(client, ["repository:pub/app:pull", "repository:pub app"])
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["code"] == "INVALID_REQUEST"
    assert body["error"] == "invalid_request"


def test_only_get_is_answered_and_never_a_login_redirect(client, world):
    assert client.post(TOKEN_URL, {"service": SERVICE}).status_code == 405
    response = ask(client, ["repository:pub/app:pull"])
    assert response.status_code == 200  # anonymous is served, not redirected to the login page


def test_no_signing_key_answers_503(client, world):
    TokenSigningKey.objects.all().delete()
    response = ask(client, ["repository:pub/app:pull"])
    assert response.status_code == 503
    assert "token_keys --rotate --registry" in response.json()["errors"][0]["message"]


def test_token_request_costs_few_queries(client, world, templates, django_assert_max_num_queries):
    username, secret = world["creds"]["payments"]
    auth = basic(username, secret)
    ask(client, ["repository:priv/app:pull"], auth=auth)  # the signing key is now loaded
    # The registry, the credential, the signing key's id and whether the credential's name has
    # failed logins on record (the lockout's first question) in one query; the grant in another.
    with django_assert_max_num_queries(2):
        assert (
            ask(client, ["repository:priv/app:pull", "repository:pub/x:pull"], auth=auth).status_code == 200
        )
    with django_assert_max_num_queries(2):
        assert ask(client, ["repository:pub/app:pull"]).status_code == 200


def test_a_workspace_credential_with_failures_on_record_is_still_checked_for_lockout(
    client, world, templates, settings
):
    # With failures on record the lookup says so, and axes' exact check decides (not locked yet).
    username, secret = world["creds"]["payments"]
    assert (
        ask(client, ["repository:priv/app:pull"], auth=basic(username, secret + "-stale")).status_code == 401
    )
    assert ask(client, ["repository:priv/app:pull"], auth=basic(username, secret)).status_code == 200


# -- lifetime, expiry ------------------------------------------------------------------------


def test_token_lifetime_follows_the_setting(client, world):
    with override_settings(WHARF_TOKEN_LIFETIME=120):
        body = ask(client, ["repository:pub/app:pull"]).json()
    claims = decode(body["token"])
    assert body["expires_in"] == 120 == claims["exp"] - claims["iat"]


def test_lifetime_never_exceeds_five_minutes(world):
    with override_settings(WHARF_TOKEN_LIFETIME=3600):
        answer = tokens.issue_token(world["tok"], tokens.ANONYMOUS, [])
    claims = decode(answer["token"])
    assert answer["expires_in"] == 300 == claims["exp"] - claims["iat"]


def test_an_expired_token_does_not_verify(world):
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    answer = tokens.issue_token(world["tok"], tokens.ANONYMOUS, [], now=past)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(answer["token"])


# -- signing keys, bundle, command -----------------------------------------------------------


def test_signing_key_is_stored_encrypted_and_self_signed(signing_key):
    assert "PRIVATE KEY" not in signing_key.private_key_encrypted
    certificate = x509.load_pem_x509_certificate(signing_key.certificate_pem.encode())
    assert certificate.subject == certificate.issuer
    assert certificate.subject.rfc4514_string() == "CN=wharf-token-signer"
    assert certificate.not_valid_after_utc - certificate.not_valid_before_utc > dt.timedelta(days=365)


def test_rotation_signs_with_the_new_key_and_keeps_the_old_in_the_bundle(client, world, signing_key):
    old_pem = signing_key.certificate_pem
    new = tokens.rotate_signing_key()
    signing_key.refresh_from_db()
    assert signing_key.retired is not None and new.retired is None
    assert tokens.active_signing_key() == new
    token = ask(client, ["repository:pub/app:pull"]).json()["token"]
    decode(token, pem=new.certificate_pem)
    with pytest.raises(jwt.InvalidSignatureError):
        decode(token, pem=old_pem)
    bundle = client.get("/auth/certificates.pem")
    assert bundle.status_code == 200
    assert bundle["Content-Type"] == "application/x-pem-file"
    assert old_pem in bundle.text and new.certificate_pem in bundle.text
    assert "PRIVATE" not in bundle.text


def test_certificate_bundle_without_key_is_404(client, db):
    assert client.get("/auth/certificates.pem").status_code == 404


def test_token_keys_command(db, capsys):
    with pytest.raises(CommandError):
        call_command("token_keys")
    call_command("token_keys", "--create")
    first = TokenSigningKey.objects.get()
    with pytest.raises(CommandError, match="--rotate"):
        call_command("token_keys", "--create")
    call_command("token_keys", "--rotate")
    call_command("token_keys", "--create", "--rotate")
    assert TokenSigningKey.objects.count() == 3
    assert TokenSigningKey.objects.filter(retired__isnull=True).count() == 1
    capsys.readouterr()
    call_command("token_keys", "--bundle")
    out = capsys.readouterr().out
    assert out.count("BEGIN CERTIFICATE") == 3 and first.certificate_pem in out
    assert "PRIVATE" not in out
    TokenSigningKey.objects.filter(retired__isnull=False).update(
        retired=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    call_command("token_keys", "--prune")
    assert TokenSigningKey.objects.count() == 1


# -- workspace credentials -------------------------------------------------------------------


def test_mint_stores_only_a_hash_and_ciphertext_and_audits_without_the_secret(world):
    credential = PullCredential.objects.get(workspace=world["workspace"], registry=world["tok"])
    _username, secret = world["creds"]["payments"]
    assert credential.state == "done"
    assert credential.secret_hash == tokens.hash_secret(secret)
    assert secret not in credential.secret_encrypted
    assert credential.get_secret() == secret
    assert len(secret) >= 40
    events = AuditEvent.objects.filter(action="pull_credential.create")
    assert events.count() == 2
    assert all(secret not in str(event.after) for event in events)


def test_mint_refuses_a_registry_without_the_token_service(world):
    harbor = Registry.objects.create(name="harb", kind="harbor", url="https://h.example.com")
    with pytest.raises(ValueError, match="token service"):
        tokens.mint_workspace_credential(world["workspace"], harbor)


def test_ensure_credentials_mints_missing_and_keeps_existing(world):
    newcomer = Workspace.objects.create(name="newcomer")
    credentials = tokens.ensure_credentials(newcomer)
    assert [credential.registry.name for credential in credentials] == [NAME]  # public spaces
    existing = {c.registry.name: c.secret_hash for c in tokens.ensure_credentials(world["workspace"])}
    assert existing == {NAME: tokens.hash_secret(world["creds"]["payments"][1])}
    again = tokens.ensure_credentials(newcomer)
    assert again[0].secret_hash == credentials[0].secret_hash
    assert again[0].username == "ws-newcomer"


# -- secrets stay out of logs ----------------------------------------------------------------


def test_no_secret_in_logs(client, world, admin, caplog):
    caplog.set_level(logging.DEBUG)
    username, secret = world["creds"]["payments"]
    ask(client, ["repository:priv/app:pull"], auth=basic(username, secret))
    ask(client, ["repository:priv/app:pull"], auth=basic(username, secret + "x"))
    ask(client, [], auth=basic(admin.username, PASSWORD + "-wrong"))
    new_username, new_secret = tokens.mint_workspace_credential(world["workspace"], world["tok"])
    assert "ws-payments" in caplog.text  # the refusal is logged, with the name only
    for value in (secret, new_secret, PASSWORD):
        assert value not in caplog.text


# -- the registry page and form --------------------------------------------------------------


def test_registry_page_shows_the_auth_token_snippet(client, world, admin):
    registry = world["tok"]
    client.force_login(admin)
    with override_settings(WHARF_PUBLIC_URL="https://wharf.example.com", WHARF_TOKEN_ISSUER="wharf-prod"):
        page = client.get(reverse("registries:detail", args=[registry.pk])).text
    assert "realm: https://wharf.example.com/auth/token" in page
    assert f"service: {registry.token_service_id}" in page
    assert f"service: {registry.name}" not in page
    assert "issuer: wharf-prod" in page
    assert "rootcertbundle: " in page
    assert "https://wharf.example.com/auth/certificates.pem" in page


def test_harbor_page_has_no_snippet(client, db, admin):
    harbor = Registry.objects.create(name="harb", kind="harbor", url="https://h.example.com")
    client.force_login(admin)
    assert "auth/token" not in client.get(reverse("registries:detail", args=[harbor.pk])).text


def test_edit_turns_the_token_service_on_and_refuses_it_for_harbor(client, db, admin):
    demo = Registry.objects.create(
        name="demo-dist", kind="distribution", url="http://d.example.com", is_demo=True
    )
    client.force_login(admin)
    data = {
        "name": demo.name,
        "url": demo.url,
        "username": "",
        "password": "",
        "verify_tls": "on",
        "ca_bundle": "",
        "token_service": "on",
    }
    response = client.post(reverse("registries:edit", args=[demo.pk]), data)
    assert response.status_code == 302
    demo.refresh_from_db()
    assert demo.token_service
    harbor = Registry.objects.create(name="harb", kind="harbor", url="https://h.example.com", is_demo=True)
    response = client.post(
        reverse("registries:edit", args=[harbor.pk]), {**data, "name": "harb", "url": harbor.url}
    )
    assert response.status_code == 200
    assert "Only a Docker Registry can use Wharf&#x27;s token service." in response.text
    harbor.refresh_from_db()
    assert not harbor.token_service


def test_a_shape_the_orm_does_not_parameterise_is_never_templated(db, caplog):
    from registries.models import RegistrySpace as Space

    # The placeholder is asked for but not used: the template would run with a wrong query.
    template = compiled.template(
        ("test-shape",), lambda placeholders: (placeholders.text("unused"), Space.objects.filter(name="x"))[1]
    )
    assert template is None
    assert "cannot be templated" in caplog.text
    assert compiled.templates[("default", "test-shape")] is None


def test_templates_and_orm_agree_on_every_grant(world, request, monkeypatch):
    scopes = tokens.parse_scopes(
        [f"repository:{repo}:pull" for repo in ALL[:3]] + ["repository:lonely/app:pull,push"]
    )
    for name in sorted(EXPECTED_TOK):
        principal = principal_for(name, world, request)
        for registry in (world["tok"],):
            monkeypatch.setattr(compiled, "USE_TEMPLATES", True)
            templated = grant(principal, registry, scopes)
            monkeypatch.setattr(compiled, "USE_TEMPLATES", False)
            assert grant(principal, registry, scopes) == templated, (name, registry)


def test_a_stale_workspace_secret_is_refused_without_password_hashing(client, world, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("password hashing for a workspace credential")

    monkeypatch.setattr(principals, "password_authenticate", must_not_run)
    username, secret = world["creds"]["payments"]
    assert ask(client, [], auth=basic(username, secret + "-old")).status_code == 401
    assert ask(client, [], auth=basic(username, secret)).status_code == 200


@pytest.mark.parametrize("service", ["wharf-\x00", "\x00", "tok\x00en", "x" * 65, "wharf tok", "WHARF"])
def test_finding_8_nul_in_token_service_param(client, templates, world, service):
    """A NUL byte (which PostgreSQL refuses in a query) or anything else no service id can be
    is a 400 in the token spec's error shape, never a 500, and asks the database nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = ask(client, ["repository:pub/app:pull"], service=service)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert "token" not in response.json()
    assert not [query for query in queries if "registries_registry" in query["sql"]]


# -- rotation with an overlap window (finding 5) ----------------------------------------------


def test_finding_5_a_rotated_secret_works_only_until_the_overlap_window_ends(client, templates, world, admin):
    import time

    username, old = world["creds"]["payments"]
    credential = PullCredential.objects.get(workspace=world["workspace"], registry=world["tok"])
    new = tokens.rotate_credential(credential, admin, overlap=3, reason="test")
    assert new != old
    # Inside the window both work, and both are the same workspace's credential.
    for secret in (old, new):
        assert access_of(ask(client, ["repository:priv/app:pull"], auth=basic(username, secret))) == {
            "priv/app": ["pull"]
        }
    credential.refresh_from_db()
    time.sleep(max(0.0, (credential.previous_valid_until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
    assert ask(client, ["repository:priv/app:pull"], auth=basic(username, old)).status_code == 401
    assert access_of(ask(client, ["repository:priv/app:pull"], auth=basic(username, new))) == {
        "priv/app": ["pull"]
    }
    event = AuditEvent.objects.get(action="pull_credential.rotate")
    assert event.actor == admin and event.after["reason"] == "test"
    assert event.after["previous_valid_until"] and old not in str(event.after) and new not in str(event.after)


def test_finding_5_at_most_two_secrets_work_and_no_overlap_means_at_once(client, world, admin):
    username, first = world["creds"]["payments"]
    credential = PullCredential.objects.get(workspace=world["workspace"], registry=world["tok"])
    second = tokens.rotate_credential(credential, admin, overlap=3600)
    third = tokens.rotate_credential(credential, admin, overlap=3600)
    works = {
        secret: ask(client, [], auth=basic(username, secret)).status_code for secret in (first, second, third)
    }
    assert works == {first: 401, second: 200, third: 200}
    fourth = tokens.rotate_credential(credential, admin, overlap=0)
    works = {
        secret: ask(client, [], auth=basic(username, secret)).status_code
        for secret in (second, third, fourth)
    }
    assert works == {second: 401, third: 401, fourth: 200}
    # The other workspace's credential was not touched.
    assert ask(client, [], auth=basic(*world["creds"]["search"])).status_code == 200


# -- a signing key per registry (finding 3's second wall) ---------------------------------------


def integrate(name, admin):
    """An Admin's Docker Registry integrated as the pages and the API do (no registry to check)."""
    registry = Registry(name=name, kind="distribution", url="http://127.0.0.1:9", token_service=True)
    return services.save_registry(registry, admin, check=False)


def test_finding_3_each_new_registry_signs_with_its_own_key_and_trusts_only_it(
    client, templates, world, admin, capsys
):
    alpha, beta = integrate("alpha", admin), integrate("beta", admin)
    shared = tokens.active_signing_key()
    own = {registry.name: tokens.active_signing_key(registry) for registry in (alpha, beta)}
    assert own["alpha"].registry == alpha and own["beta"].registry == beta
    assert len({shared.pk, own["alpha"].pk, own["beta"].pk}) == 3

    bundles = {
        registry.name: client.get("/auth/certificates.pem", {"service": registry.token_service_id})
        for registry in (alpha, beta)
    }
    assert bundles["alpha"].text == own["alpha"].certificate_pem
    assert bundles["beta"].text == own["beta"].certificate_pem
    # A registry integrated before keys were per registry (tok) trusts the shared bundle.
    assert client.get("/auth/certificates.pem", {"service": SERVICE}).text == shared.certificate_pem
    for service in ("wharf-unknown", world["own"].token_service_id, "\x00"):
        assert client.get("/auth/certificates.pem", {"service": service}).status_code == 404

    token = ask(client, ["repository:pub/app:pull"], service=alpha.token_service_id).json()["token"]
    assert decode(token, audience=alpha.token_service_id, pem=own["alpha"].certificate_pem)
    for other in (own["beta"].certificate_pem, shared.certificate_pem):
        with pytest.raises(jwt.InvalidSignatureError):
            decode(token, audience=alpha.token_service_id, pem=other)
    decode(ask(client, ["repository:pub/app:pull"]).json()["token"], pem=shared.certificate_pem)

    # Rotating one registry's key leaves the others' alone.
    call_command("token_keys", "--rotate", "--registry", "alpha")
    assert tokens.active_signing_key(alpha) != own["alpha"]
    assert tokens.active_signing_key(beta) == own["beta"] and tokens.active_signing_key() == shared
    capsys.readouterr()
    call_command("token_keys", "--bundle", "--registry", "alpha")
    printed = capsys.readouterr().out
    assert printed.count("BEGIN CERTIFICATE") == 2 and own["beta"].certificate_pem not in printed
    with pytest.raises(CommandError, match="No Admin Docker Registry named 'own'"):
        call_command("token_keys", "--rotate", "--registry", "own")


def test_a_registry_still_on_the_shared_key_gets_its_own_by_rotation(client, world, admin):
    shared = tokens.active_signing_key()
    call_command("token_keys", "--rotate", "--registry", NAME)
    own = tokens.active_signing_key(world["tok"])
    assert own.registry == world["tok"] and tokens.active_signing_key() == shared
    token = ask(client, ["repository:pub/app:pull"]).json()["token"]
    decode(token, pem=own.certificate_pem)
    assert client.get("/auth/certificates.pem", {"service": SERVICE}).text == own.certificate_pem


def test_finding_3_only_platform_admins_turn_on_the_token_service(client, world, ws_admin, admin):
    """Workspace registries cannot use the token service, whichever door is tried."""
    from django.db import IntegrityError, transaction
    from rest_framework.test import APIClient

    own = world["own"]
    api = APIClient()
    api.force_login(ws_admin)
    response = api.patch(
        f"/api/v1/workspaces/{world['workspace'].pk}/registries/{own.pk}/",
        {"token_service": True},
        format="json",
    )
    assert response.status_code == 400
    assert "Only platform Admins can turn on Wharf's token service" in response.json()["token_service"][0]
    response = api.post(
        f"/api/v1/workspaces/{world['workspace'].pk}/registries/",
        {
            "name": NAME + "-again",
            "kind": "distribution",
            "url": "https://r.example.com",
            "token_service": True,
        },
        format="json",
    )
    assert response.status_code == 400 and not Registry.objects.filter(name=NAME + "-again").exists()
    client.force_login(ws_admin)
    form = client.get(reverse("registries:workspace-create") + f"?workspace={world['workspace'].pk}").text
    assert 'name="token_service"' not in form
    own.token_service = True
    with pytest.raises(services.ServiceError, match="Only platform Admins"):
        services.save_registry(own, admin, check=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Registry.objects.filter(pk=own.pk).update(token_service=True)
    own.refresh_from_db()
    assert not own.token_service
    # The API shows every registry's id, read-only.
    body = api.get(f"/api/v1/workspaces/{world['workspace'].pk}/registries/{own.pk}/").json()
    assert body["token_service_id"] == own.token_service_id


def test_finding_3_the_token_service_id_is_set_once_and_never_reused(world, admin):
    tok = world["tok"]
    tok.name = "tok-renamed"
    services.save_registry(tok, admin, check=False)
    tok.refresh_from_db()
    assert tok.token_service_id == SERVICE
    services.remove_registry(tok, admin)
    again = integrate(NAME, admin)
    assert again.token_service_id not in (SERVICE, NAME) and again.token_service_id.startswith("wharf-")
    assert tokens.bundle_registry(SERVICE) is None
