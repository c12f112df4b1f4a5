"""Real registries for tests: Debian's ``docker-registry`` on a free loopback port, images built
here as OCI layouts and pushed with ``skopeo``, and a small Docker-spec token server.

Loaded for the whole suite through ``pytest_plugins`` in the root conftest, so the fixtures
below are global:

- ``docker_registry_binary``, ``skopeo_binary``: paths; skip when missing, fail instead when
  ``WHARF_REQUIRE_INTEGRATION=1`` (CI must run these tests, not skip them).
- ``registry_factory(auth=None, tls=None, extra=None) -> RegistryServer``: start one more
  registry; all are stopped after the test.
- ``real_registry``: an empty, started ``RegistryServer``.
- ``oci_images``: session-wide dict of ``BuiltImage`` (built once, pushed many times).
- ``populated_registry``: a ``RegistryServer`` holding ``POPULATED_REFS``; ``.pushed`` maps
  each reference to the ``BuiltImage`` behind it.
- ``token_server``: a ``FakeTokenServer`` (realm, certificate and ``auth_config()`` for
  ``registry_factory(auth=…)``).
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import datetime as dt
import gzip
import hashlib
import io
import ipaddress
import json
import os
import secrets
import shutil
import socket
import subprocess
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
LOOPBACK = "127.0.0.1"


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (Debian package {name})"
    if os.environ.get("WHARF_REQUIRE_INTEGRATION") == "1":
        pytest.fail(message + " and WHARF_REQUIRE_INTEGRATION=1")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# -- OCI image layouts -----------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltImage:
    """An image (or a multi-platform index) in an OCI layout, and what a registry should report
    for it once pushed."""

    layout: Path
    tag: str
    digest: str
    size: int
    platforms: tuple[str, ...]
    created: dt.datetime
    media_type: str


class OciLayout:
    """Writes an OCI image layout folder (oci-layout, index.json, blobs/sha256/…)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        (self.path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        self.entries: list[dict] = []
        self._write_index()

    def blob(self, data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        (self.path / "blobs" / "sha256" / digest).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}

    def json_blob(self, document: dict, media_type: str) -> dict:
        return self.blob(json.dumps(document, sort_keys=True).encode(), media_type)

    def image(self, *, platform: str, created: dt.datetime, files: dict[str, bytes]) -> tuple[dict, int]:
        """An image manifest blob (not tagged); returns its descriptor and config+layer size."""
        raw_layer = _tar(files)
        layer = self.blob(gzip.compress(raw_layer, mtime=0), OCI_LAYER)
        os_name, architecture, *variant = platform.split("/")
        stamp = created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        config_document = {
            "created": stamp,
            "os": os_name,
            "architecture": architecture,
            "config": {"Env": ["PATH=/"], "Cmd": ["/hello.txt"]},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(raw_layer).hexdigest()],
            },
            "history": [{"created": stamp, "created_by": "wharf test layout builder"}],
        }
        if variant:
            config_document["variant"] = variant[0]
        config = self.json_blob(config_document, OCI_CONFIG)
        manifest = self.json_blob(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]},
            OCI_MANIFEST,
        )
        platform_field = {"os": os_name, "architecture": architecture}
        if variant:
            platform_field["variant"] = variant[0]
        return {**manifest, "platform": platform_field}, config["size"] + layer["size"]

    def add_image(
        self,
        tag: str,
        *,
        platform: str = "linux/amd64",
        created: dt.datetime | None = None,
        files: dict[str, bytes] | None = None,
    ) -> BuiltImage:
        created = created or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        files = files or {"hello.txt": f"{tag} on {platform}\n".encode()}
        descriptor, size = self.image(platform=platform, created=created, files=files)
        descriptor.pop("platform")
        self._tag(descriptor, tag)
        return BuiltImage(self.path, tag, descriptor["digest"], size, (platform,), created, OCI_MANIFEST)

    def add_index(
        self,
        tag: str,
        *,
        platforms: tuple[str, ...] = ("linux/amd64", "linux/arm64"),
        created: dt.datetime | None = None,
    ) -> BuiltImage:
        created = created or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        children, total = [], 0
        for platform in platforms:
            files = {"hello.txt": f"{tag} on {platform}\n".encode()}
            child, size = self.image(platform=platform, created=created, files=files)
            children.append(child)
            total += size
        index = self.json_blob({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}, OCI_INDEX)
        self._tag(index, tag)
        return BuiltImage(self.path, tag, index["digest"], total, platforms, created, OCI_INDEX)

    def _tag(self, descriptor: dict, tag: str) -> None:
        self.entries = [entry for entry in self.entries if entry["annotations"][REF_NAME] != tag]
        self.entries.append({**descriptor, "annotations": {REF_NAME: tag}})
        self._write_index()

    def _write_index(self) -> None:
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": self.entries}
        (self.path / "index.json").write_text(json.dumps(index, indent=1))


def _tar(files: dict[str, bytes]) -> bytes:
    """A reproducible tar: same files, same bytes, same digest."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_image(path: Path, tag: str = "latest", **options) -> BuiltImage:
    return OciLayout(path).add_image(tag, **options)


def build_index(path: Path, tag: str = "latest", **options) -> BuiltImage:
    return OciLayout(path).add_index(tag, **options)


# -- certificates, htpasswd ------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    @property
    def der_b64(self) -> str:
        return base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()

    def write(self, folder: Path, stem: str) -> tuple[Path, Path]:
        cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
        cert_path.write_text(self.cert_pem)
        key_path.write_text(self.key_pem)
        return cert_path, key_path


def make_certificate(common_name: str, *, ip: str | None = None) -> Certificate:
    """A self-signed P-256 certificate: an ES256 token signer, or a loopback TLS server."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
    return Certificate(key, builder.sign(key, hashes.SHA256()))


def htpasswd_line(user: str, password: str) -> str | None:
    """A bcrypt htpasswd entry (the only kind docker-registry reads), made by the system's
    libcrypt (libxcrypt) so no bcrypt package or apache2-utils is needed. None if unsupported."""
    path = ctypes.util.find_library("crypt")
    if not path:
        return None
    library = ctypes.CDLL(path)
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    library.crypt_gensalt.restype = ctypes.c_char_p
    library.crypt_gensalt.argtypes = [
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    salt = library.crypt_gensalt(b"$2y$", 5, None, 0)
    hashed = library.crypt(password.encode(), salt) if salt else None
    if not hashed or not hashed.startswith(b"$2y$"):
        return None
    return f"{user}:{hashed.decode()}"


# -- the registry ----------------------------------------------------------------------------


class RegistryServer:
    """One ``docker-registry serve`` process with its own config, storage and log file."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        skopeo: str | None = None,
        auth: dict | None = None,
        tls: Certificate | None = None,
        extra: dict | None = None,
    ):
        self.binary, self.skopeo = binary, skopeo
        self.workdir = Path(workdir)
        self.storage = self.workdir / "storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "config.yml"
        self.log_path = self.workdir / "registry.log"
        self.auth, self.tls, self.extra = auth, tls, extra or {}
        self.port = free_port()
        self.pushed: dict[str, BuiltImage] = {}
        self._process: subprocess.Popen | None = None
        self._secret = secrets.token_hex(16)

    @property
    def host(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def config(self) -> dict:
        """The registry's YAML config (JSON is YAML). Quiet, loopback only, deletable, and no
        background jobs that could write to the log mid-test."""
        http: dict = {
            "addr": self.host,
            "secret": self._secret,
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        }
        if self.tls:
            cert_path, key_path = self.tls.write(self.workdir, "tls")
            http["tls"] = {"certificate": str(cert_path), "key": str(key_path)}
        config: dict = {
            "version": 0.1,
            "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.auth:
            config["auth"] = self.auth
        return _merge(config, self.extra)

    def start(self, timeout: float = 15.0) -> RegistryServer:
        """Start (or restart, on the same port and storage) and wait until /v2/ answers."""
        if self.running:
            return self
        self.config_path.write_text(json.dumps(self.config(), indent=1))
        # REGISTRY_* variables override the config file; none from the outside may leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        log = self.log_path.open("ab")
        try:
            self._process = subprocess.Popen(
                [self.binary, "serve", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        with httpx.Client(verify=False, timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RuntimeError(self._failure("exited during startup"))
                try:
                    if client.get(f"{self.url}/v2/").status_code < 500:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(self._failure(f"did not answer /v2/ within {timeout:g} s"))

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def push(
        self,
        image: BuiltImage | Path,
        ref: str,
        *,
        source_tag: str | None = None,
        creds: str | None = None,
    ) -> None:
        """``skopeo copy`` from an OCI layout to ``<this registry>/<ref>`` (``name:tag``)."""
        if not self.skopeo:
            raise RuntimeError("this RegistryServer was created without skopeo")
        if isinstance(image, BuiltImage):
            layout, tag = image.layout, source_tag or image.tag
        else:
            layout, tag = Path(image), source_tag or ref.rpartition(":")[2]
        command = [
            self.skopeo,
            "--insecure-policy",  # no policy.json needed: the images are our own
            "copy",
            "--all",  # a multi-platform index is copied whole
            "--quiet",
            "--dest-tls-verify=false",
            *(["--dest-creds", creds] if creds else ["--dest-no-creds"]),
            f"oci:{layout}:{tag}",
            f"docker://{self.host}/{ref}",
        ]
        env = {
            **os.environ,
            "TMPDIR": str(self.workdir),
            # Never read a developer's docker/podman logins.
            "REGISTRY_AUTH_FILE": str(self.workdir / "auth.json"),
        }
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
        if result.returncode != 0:
            raise RuntimeError(
                f"skopeo could not push {ref}: {result.stderr.strip()}\n"
                f"registry log:\n{self.log_text()[-4000:]}"
            )
        if isinstance(image, BuiltImage):
            self.pushed[ref] = image

    def _failure(self, what: str) -> str:
        return (
            f"docker-registry on {self.host} {what}; config {self.config_path}\n"
            f"--- log ---\n{self.log_text()[-4000:]}"
        )


def _merge(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# -- a Docker-spec token server --------------------------------------------------------------


@dataclass
class TokenRequest:
    account: str
    service: str
    scopes: tuple[str, ...]
    status: int


@dataclass
class FakeTokenServer:
    """Issues ES256 registry tokens the way docker-registry 2.8 accepts them: ``x5c`` header
    with the signing certificate (which the registry trusts via ``rootcertbundle``), ``iss`` ==
    issuer, ``aud`` == service. ``users`` maps user -> password; ``grant`` decides the actions
    per (user, type, name, asked actions); anonymous requests are user ``""``."""

    workdir: Path
    users: dict[str, str] = field(default_factory=dict)
    service: str = "wharf-test-registry"
    issuer: str = "wharf-test-issuer"
    lifetime: int = 300
    grant: Callable[[str, str, str, list[str]], list[str]] | None = None
    requests: list[TokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signer = make_certificate("wharf test token signer")
        self.bundle_path = self.workdir / "token-signer.crt"
        self.bundle_path.write_text(self.signer.cert_pem)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                status, body = server.answer(self.path, self.headers.get("Authorization", ""))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def realm(self) -> str:
        return f"http://{LOOPBACK}:{self._httpd.server_address[1]}/token"

    def auth_config(self) -> dict:
        return {
            "token": {
                "realm": self.realm,
                "service": self.service,
                "issuer": self.issuer,
                "rootcertbundle": str(self.bundle_path),
            }
        }

    def answer(self, path: str, authorization: str) -> tuple[int, dict]:
        query = parse_qsl(urlsplit(path).query)
        scopes = tuple(value for key, value in query if key == "scope")
        service = dict(query).get("service", "")
        user = self._user(authorization)
        status = 401 if user is None else 200
        self.requests.append(TokenRequest(user or "", service, scopes, status))
        if user is None:
            return 401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]}
        return 200, self.issue(user, scopes)

    def issue(self, user: str, scopes: tuple[str, ...]) -> dict:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            asked = [action for action in actions.split(",") if action]
            allowed = self.grant(user, kind, name, asked) if self.grant else asked
            access.append({"type": kind, "name": name, "actions": allowed})
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user,
            "aud": self.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        token = jwt.encode(claims, self.signer.key, algorithm="ES256", headers={"x5c": [self.signer.der_b64]})
        issued = dt.datetime.fromtimestamp(now, dt.UTC).isoformat().replace("+00:00", "Z")
        return {"token": token, "expires_in": self.lifetime, "issued_at": issued}

    def _user(self, authorization: str) -> str | None:
        if not authorization:
            return ""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return user if user in self.users and self.users[user] == password else None

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# -- fixtures --------------------------------------------------------------------------------

POPULATED_REFS = (
    "team-a/api:1.0",
    "team-a/api:1.1",
    "team-a/tools/cli:latest",
    "team-b/web:2.0",
    "alpine:3.20",
    "team-b/multi:1.0",
)


@pytest.fixture(scope="session")
def docker_registry_binary() -> str:
    return require_binary("docker-registry")


@pytest.fixture(scope="session")
def skopeo_binary() -> str:
    return require_binary("skopeo")


@pytest.fixture
def registry_factory(
    docker_registry_binary, skopeo_binary, tmp_path_factory
) -> Iterator[Callable[..., RegistryServer]]:
    started: list[RegistryServer] = []

    def start(
        *, auth: dict | None = None, tls: Certificate | None = None, extra: dict | None = None
    ) -> RegistryServer:
        server = RegistryServer(
            docker_registry_binary,
            tmp_path_factory.mktemp("registry"),
            skopeo=skopeo_binary,
            auth=auth,
            tls=tls,
            extra=extra,
        )
        started.append(server)
        for attempt in range(3):
            try:
                return server.start()
            except RuntimeError as error:
                # free_port() can race with another process grabbing the port.
                if "address already in use" in str(error) and attempt < 2:
                    server.port = free_port()
                    continue
                pytest.fail(str(error))
        raise AssertionError("unreachable")

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def real_registry(registry_factory) -> RegistryServer:
    return registry_factory()


@pytest.fixture(scope="session")
def oci_images(tmp_path_factory) -> dict[str, BuiltImage]:
    """One layout per reference of POPULATED_REFS, with distinct content and build times."""
    root = tmp_path_factory.mktemp("oci")
    images: dict[str, BuiltImage] = {}
    for number, ref in enumerate(POPULATED_REFS):
        created = dt.datetime(2024, 1, 1 + number, 12, 0, tzinfo=dt.UTC)
        folder = root / ref.replace("/", "_").replace(":", "_")
        tag = ref.rpartition(":")[2]
        if ref == "team-b/multi:1.0":
            images[ref] = build_index(folder, tag, created=created)
        else:
            images[ref] = build_image(folder, tag, created=created)
    return images


@pytest.fixture
def populated_registry(real_registry, oci_images) -> RegistryServer:
    for ref, image in oci_images.items():
        real_registry.push(image, ref)
    return real_registry


@pytest.fixture
def token_server(tmp_path_factory) -> Iterator[FakeTokenServer]:
    server = FakeTokenServer(tmp_path_factory.mktemp("token"))
    yield server
    server.close()
