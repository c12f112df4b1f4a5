"""A real OpenID Connect provider for tests: node running the certified ``oidc-provider`` package
(``sso/tests/oidc/provider.mjs``) on a free loopback port.

Loaded for the whole suite through ``pytest_plugins`` in the root conftest, so the fixtures
below are global:

- ``oidc_provider`` (session): the running ``OidcProvider``. ``set_account()`` /
  ``set_service()`` say who may sign in and which groups they carry (read by the provider at
  every request, so a change shows at the next sign-in), ``tamper_id_token()`` makes the token
  endpoint hand out a doctored ID token, ``rotate_keys()`` restarts it with a new signing key,
  ``stop()`` takes it down (the ``oidc`` fixture starts it again).
- ``oidc``: that provider, reset, with Wharf configured for it (``WHARF_OIDC_*`` settings, the
  Content-Security-Policy and Wharf's caches of the provider's metadata and keys).
- ``provider_browser``: plays a person's browser at the provider for tests without Chromium:
  ``sign_in(client, username, password)`` starts at Wharf's sign-in URL with a Django test
  client, signs in on the provider's own login and consent pages (over real HTTP) and returns
  Wharf's answer to the callback.

Needs ``node`` and ``npm ci`` in ``sso/tests/oidc`` (CI does both). Missing: the tests skip, or
fail when ``WHARF_REQUIRE_INTEGRATION=1``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent / "oidc"
LOOPBACK = "127.0.0.1"
CLIENT_ID = "wharf"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
CI_CLIENT_ID = "ci-pipeline"
CI_CLIENT_SECRET = "ci-client-secret-0123456789abcdef"
API_AUDIENCE = "urn:wharf:api"
ADMIN_GROUP = "wharf-platform-admins"
PROVIDER_NAME = "Test IdP"
CALLBACK_PATH = "/oidc/callback/"


def _missing(message: str):
    if os.environ.get("WHARF_REQUIRE_INTEGRATION") == "1":
        pytest.fail(message + " and WHARF_REQUIRE_INTEGRATION=1")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def new_signing_key() -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
    # PyJWT marks a private key "sign" only; the provider also verifies with it (id_token_hint).
    jwk.pop("key_ops", None)
    jwk.update(kid="key-" + secrets.token_hex(4), alg="RS256", use="sig")
    return jwk


@dataclass
class OidcProvider:
    node: str
    workdir: Path
    port: int = field(default_factory=free_port)
    keys: list[dict] = field(default_factory=lambda: [new_signing_key()])
    process: subprocess.Popen | None = None
    state: dict = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def control_file(self) -> Path:
        return self.workdir / "control.json"

    # -- what the provider knows -----------------------------------------------------------------

    def reset(self) -> None:
        self.state = {"accounts": {}, "services": {}}
        self.save()

    def set_account(
        self,
        login: str,
        *,
        password: str = "provider-password",
        groups=None,
        sub: str | None = None,
        **claims,
    ) -> dict:
        """A person who can sign in. ``groups=None`` leaves the group claim out entirely."""
        existing = self.state["accounts"].get(login, {})
        account = {
            "password": password,
            "sub": sub or existing.get("sub") or f"sub-{login}-{secrets.token_hex(4)}",
            "claims": {
                "preferred_username": login,
                "email": f"{login}@example.com",
                "name": login.title(),
                **claims,
            },
        }
        if groups is not None:
            account["claims"]["groups"] = list(groups)
        self.state["accounts"][login] = account
        self.save()
        return account

    def set_service(self, client_id: str = CI_CLIENT_ID, *, groups=None, **claims) -> None:
        service_claims = dict(claims)
        if groups is not None:
            service_claims["groups"] = list(groups)
        self.state["services"][client_id] = {"claims": service_claims}
        self.save()

    def tamper_id_token(self, *, sign_with: str = "provider", unset=(), **set_claims) -> None:
        self.state["tamper_id_token"] = {"set": set_claims, "unset": list(unset), "sign_with": sign_with}
        self.save()

    def save(self) -> None:
        tmp = self.control_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state))
        tmp.replace(self.control_file)  # atomic: the provider never reads half a file

    # -- tokens without a browser ---------------------------------------------------------------

    def client_credentials_token(self, client_id: str = CI_CLIENT_ID, secret: str = CI_CLIENT_SECRET) -> str:
        response = httpx.post(
            f"{self.issuer}/token",
            auth=(client_id, secret),
            data={"grant_type": "client_credentials", "scope": "api"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access_token"]

    # -- the process -----------------------------------------------------------------------------

    def _config(self) -> Path:
        loopback_callbacks = [
            f"http://{host}{CALLBACK_PATH}" for host in ("127.0.0.1", "localhost", "testserver")
        ]
        config = {
            "issuer": self.issuer,
            "port": self.port,
            "jwks": {"keys": self.keys},
            "api_audience": API_AUDIENCE,
            "control": str(self.control_file),
            "clients": [
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "client_name": "Wharf",
                    "redirect_uris": loopback_callbacks,
                    "post_logout_redirect_uris": [
                        f"http://{host}/login/" for host in ("127.0.0.1", "localhost", "testserver")
                    ],
                    "grant_types": ["authorization_code"],
                    "response_types": ["code"],
                },
                {
                    "client_id": CI_CLIENT_ID,
                    "client_secret": CI_CLIENT_SECRET,
                    "client_name": "CI",
                    "redirect_uris": [],
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                },
            ],
        }
        path = self.workdir / "config.json"
        path.write_text(json.dumps(config))
        return path

    def start(self) -> None:
        if self.running:
            return
        if not self.control_file.exists():
            self.reset()
        log = open(self.workdir / "provider.log", "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [self.node, str(HERE / "provider.mjs"), str(self._config())],
            cwd=HERE,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "the OpenID provider exited at start:\n"
                    + (self.workdir / "provider.log").read_text()[-3000:]
                )
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("the OpenID provider did not answer within 30 s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def rotate_keys(self) -> None:
        """Restart with a new signing key only (the old key is withdrawn), on the same port."""
        self.stop()
        self.keys = [new_signing_key()]
        self.start()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    node = shutil.which("node")
    if not node:
        _missing("node is not installed (Debian package nodejs)")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        _missing(f"oidc-provider is not installed: run `npm ci` in {HERE}")
    provider = OidcProvider(node=node, workdir=tmp_path_factory.mktemp("oidc-provider"))
    provider.reset()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def configure_wharf(settings, issuer: str) -> None:
    """The WHARF_OIDC_* settings for ``issuer``, as portal/settings.py derives them."""
    from sso.conf import origin

    settings.WHARF_OIDC_ISSUER = issuer
    settings.WHARF_OIDC_CLIENT_ID = CLIENT_ID
    settings.WHARF_OIDC_CLIENT_SECRET = CLIENT_SECRET
    settings.WHARF_OIDC_SCOPES = "openid profile email groups"
    settings.WHARF_OIDC_GROUPS_CLAIM = "groups"
    settings.WHARF_OIDC_ADMIN_GROUP = ADMIN_GROUP
    settings.WHARF_OIDC_WORKSPACE_GROUP_PATTERN = "wharf:{workspace}:{role}"
    settings.WHARF_OIDC_PROVIDER_NAME = PROVIDER_NAME
    settings.WHARF_OIDC_API_AUDIENCE = API_AUDIENCE
    settings.WHARF_LOCAL_LOGIN = True
    csp = {name: list(values) for name, values in settings.SECURE_CSP.items()}
    csp["form-action"].append(origin(issuer))
    settings.SECURE_CSP = csp


def clear_wharf_caches() -> None:
    from sso import discovery, tokens

    discovery.clear_cache()
    tokens.clear_cache()


@pytest.fixture
def oidc(oidc_provider, settings):
    oidc_provider.start()  # a test may have stopped it
    oidc_provider.reset()
    configure_wharf(settings, oidc_provider.issuer)
    clear_wharf_caches()
    yield oidc_provider
    clear_wharf_caches()
    oidc_provider.start()


_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


class ProviderBrowser:
    """A person's browser at the provider, for sign-ins driven from tests with a Django client."""

    def __init__(self, provider: OidcProvider):
        self.provider = provider
        self.http = httpx.Client(follow_redirects=False, timeout=10)
        self.last_page = ""

    def close(self) -> None:
        self.http.close()

    def authorize(self, url: str, username: str, password: str, *, consent: bool = True) -> str:
        """From Wharf's redirect to the provider to the URL the provider sends the browser back to."""
        for _step in range(12):
            if not url.startswith(self.provider.issuer):
                return url
            response = self.http.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                continue
            self.last_page = response.text
            if 'name="password"' in response.text:
                action = unescape(_FORM_ACTION.search(response.text).group(1))
                response = self.http.post(
                    urljoin(url, action), data={"login": username, "password": password}
                )
                if not response.is_redirect:
                    raise AssertionError(
                        f"the provider refused the login of {username}: {response.text[:300]}"
                    )
            elif ">Allow</button>" in response.text:
                if not consent:
                    abort = re.search(r'href="([^"]+/abort)"', response.text).group(1)
                    response = self.http.get(urljoin(url, abort))
                else:
                    action = unescape(_FORM_ACTION.search(response.text).group(1))
                    response = self.http.post(urljoin(url, action))
            else:
                raise AssertionError(
                    f"unexpected page at the provider ({response.status_code}): {response.text[:300]}"
                )
            url = urljoin(url, response.headers["location"])
        raise AssertionError("the sign-in at the provider did not finish in 12 steps")

    def start(self, client, *, next_url: str | None = None) -> str:
        """Wharf's redirect to the provider (the authorization request)."""
        path = "/oidc/authenticate/" + (f"?next={next_url}" if next_url else "")
        response = client.get(path)
        assert response.status_code == 302, response.content[:500]
        return response["Location"]

    def sign_in(self, client, username: str, password: str = "provider-password", **kwargs):
        """The whole sign-in; returns Wharf's response to the callback."""
        back = self.authorize(self.start(client), username, password, **kwargs)
        return self.callback(client, back)

    @staticmethod
    def callback(client, url: str):
        parts = urlsplit(url)
        assert parts.path == CALLBACK_PATH, url
        return client.get(f"{parts.path}?{parts.query}")


@pytest.fixture
def provider_browser(oidc):
    browser = ProviderBrowser(oidc)
    yield browser
    browser.close()
