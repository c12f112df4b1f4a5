"""A Harbor test double: real HTTP on loopback, in-memory state, Harbor's answers.

Harbor itself cannot run on these machines, so this stands in for it. It follows Harbor's API
description (``reference/harbor/swagger.yaml``; ``test_harbor_contract.py`` checks every kind
of answer against it) and copies the Harbor behaviours a client can trip over:

* Basic auth; wrong credentials are served as anonymous (who sees public projects only),
  exactly like Harbor, and only endpoints that need a user answer 401.
* ``page``/``page_size`` with 422 above 100, ``Link`` (prev/next) and ``X-Total-Count``.
* ``X-Is-Resource-Name``: without it an all-digit project segment is read as an id.
* Repository names in paths must be URL-encoded twice; the path is decoded once for routing
  and the repository segment once more, as Harbor's router and handler do.
* A ``sid`` session cookie on every answer, and Harbor's CSRF refusal (403) for unsafe
  requests that send it back.
* Harbor's error shape: ``{"errors": [{"code": ..., "message": ...}]}``.
* Robot accounts (``/robots``, sysadmin only): names answered with a configurable prefix
  (``robot$`` by default) that is stored without it; system-level robots whose permissions
  decide, alone, which private projects they read; Harbor's refusals (empty permission list,
  unknown project, renaming, a name taken: 409, which the swagger does not list). A robot
  "pulls" through a minimal registry v2 API: ``GET/HEAD /v2/<repository>/manifests/<ref>``
  answers 200, 404 or Harbor's 401 with a challenge.

* Artifacts (the repository page): ``GET`` one artifact with ``with_scan_overview``, ``POST
  .../scan`` (202; the report is then Pending until ``set_scan`` says otherwise), ``DELETE`` of
  an artifact, of one tag and of a repository, for project members and admins. The registry
  API also serves each image's manifest, config (with a history) and index, behind Harbor's
  token service (``GET /service/token`` with Basic credentials).

Tests reach it through the ``harbor_double`` fixture (registered for the whole project by the
root conftest). It records every request and can inject faults (``fail_on``, ``hang_on``).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import itertools
import json
import re
import secrets
import socket
import ssl
import string
import tempfile
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from registries.clients.base import Connection

API = "/api/v2.0"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "Harbor12345"
HARBOR_VERSION = "v2.11.1-6b7ecba1"
ROBOT_PREFIX = "robot$"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
# Harbor validates project names with this pattern (src/common/utils/utils.go).
PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
# And robot names (src/server/v2.0/handler/robot.go), without the prefix.
ROBOT_NAME = PROJECT_NAME
# A secret given to PATCH /robots/{id}: 8-128 characters with upper, lower and a digit.
ROBOT_SECRET = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,128}$")
# Resource/action pairs Harbor accepts in a robot's project permissions (a subset of rbac).
ROBOT_PROJECT_ACCESS = {
    ("repository", "pull"),
    ("repository", "push"),
    ("repository", "delete"),
    ("repository", "list"),
    ("artifact", "read"),
    ("artifact", "list"),
    ("artifact", "delete"),
    ("tag", "list"),
    ("tag", "create"),
    ("tag", "delete"),
    ("helm-chart", "read"),
}
# Deterministic timestamps keep test output stable; each new object is a minute later.
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
GO_ZERO_TIME = "0001-01-01T00:00:00.000Z"

IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
IMAGE_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"


def harbor_time(moment: datetime) -> str:
    """Harbor (Go) writes RFC 3339 with milliseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (f"{moment.microsecond // 1000:03d}Z")


@dataclass
class User:
    id: int
    username: str
    password: str
    admin: bool
    created: datetime
    robot: bool = False
    disabled: bool = False


@dataclass
class Robot:
    """A robot account. ``name`` is stored without the prefix, as Harbor does."""

    id: int
    name: str
    user: User  # the login: prefix + name, the secret as password
    description: str
    level: str
    duration: int
    disable: bool
    permissions: list[dict[str, Any]]
    creator: User
    created: datetime
    updated: datetime

    def readable_projects(self) -> set[str]:
        """Projects this robot may pull from (``*``: every project)."""
        return {
            permission["namespace"]
            for permission in self.permissions
            if permission.get("kind") == "project"
            and any(
                access.get("resource") == "repository"
                and access.get("action") == "pull"
                and access.get("effect", "allow") in ("", "allow")
                for access in permission.get("access") or []
            )
        }


@dataclass
class Tag:
    id: int
    name: str
    pushed: datetime


@dataclass
class Artifact:
    id: int
    digest: str
    size: int
    pushed: datetime
    platforms: list[str]
    tags: list[Tag]
    # Harbor's NativeReportSummary for this artifact, or None: never scanned.
    scan: dict[str, Any] | None = None

    @property
    def is_index(self) -> bool:
        return len(self.platforms) > 1


@dataclass
class Repository:
    id: int
    project: str
    name: str  # full name, project included, as Harbor returns it
    description: str
    pull_count: int
    created: datetime
    updated: datetime
    artifacts: list[Artifact] = field(default_factory=list)


@dataclass
class Project:
    id: int
    name: str
    public: bool
    owner: User
    created: datetime
    updated: datetime
    members: set[str] = field(default_factory=set)


@dataclass
class RecordedRequest:
    method: str
    raw_path: str  # as sent: percent-encoding intact
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def path(self) -> str:
        return self.raw_path

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    prefix: str
    status: int | None
    after_n: int
    times: int | None
    method: str | None
    delay: float
    body: bytes | None
    content_type: str
    headers: dict[str, str]
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, raw_path: str) -> bool:
        return raw_path.startswith(self.prefix) and self.method in (None, method)


class HarborError(Exception):
    """An answer in Harbor's error shape, raised from deep inside a route."""

    codes = {
        400: "BAD_REQUEST",
        401: "UNAUTHORIZED",
        403: "FORBIDDEN",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        409: "CONFLICT",
        412: "PRECONDITION",
        422: "UNPROCESSABLE_ENTITY",
        500: "UNKNOWN",
    }

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        code = self.codes.get(self.status, "UNKNOWN")
        return {"errors": [{"code": code, "message": self.message}]}


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class HarborDouble:
    """State, routes and server. All state changes hold ``lock``; handlers run in threads."""

    def __init__(self, *, tls: bool = False, version: str = HARBOR_VERSION, robot_prefix: str = ROBOT_PREFIX):
        self.version = version
        self.tls = tls
        # Harbor's robot name prefix is a setting (robot_name_prefix); clients must read names.
        self.robot_prefix = robot_prefix
        self.robots: dict[int, Robot] = {}
        # Tokens from the token service (/service/token) for the registry API, and their user.
        self._v2_tokens: dict[str, User | None] = {}
        self.ca_pem = ""  # set when tls=True: the self-signed certificate to trust
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.repositories: dict[str, Repository] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.crashes: list[str] = []
        # Proxies in front of Harbor sometimes strip Link; tests turn it off to check that.
        self.send_link_headers = True
        self._ids = itertools.count(1)
        self._clock = itertools.count(0)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tempdir: tempfile.TemporaryDirectory | None = None
        self.add_user(ADMIN_USER, ADMIN_PASSWORD, admin=True)
        self.add_project("library", public=True)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> HarborDouble:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.double = self
        if self.tls:
            server.socket = self._tls_context().wrap_socket(server.socket, server_side=True)
        self._server = server
        # A short poll keeps stop() quick; shutdown() waits for the loop to notice.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="harbor-double"
        )
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are hanging on purpose
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> HarborDouble:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the double first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def connection(
        self,
        username: str = ADMIN_USER,
        password: str = ADMIN_PASSWORD,
        *,
        timeout: float = 5.0,
        **options: Any,
    ) -> Connection:
        if self.tls:
            options.setdefault("ca_pem", self.ca_pem)
        return Connection(url=self.url, username=username, password=password, timeout=timeout, **options)

    # -- state ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return EPOCH + timedelta(minutes=next(self._clock))

    def add_user(self, username: str, password: str, admin: bool = False) -> User:
        with self.lock:
            user = User(next(self._ids), username, password, admin, self._now())
            self.users[username] = user
            return user

    def add_robot(self, name: str, secret: str, projects: Iterable[str] = ()) -> User:
        """A system robot account (``<prefix><name>``) that may pull from ``projects``."""
        with self.lock:
            permissions = [
                {
                    "kind": "project",
                    "namespace": project,
                    "access": [{"resource": "repository", "action": "pull"}],
                }
                for project in projects
            ]
            robot = self._new_robot(
                name, secret, "", "system", -1, False, permissions, self.users[ADMIN_USER]
            )
            return robot.user

    def _new_robot(
        self,
        name: str,
        secret: str,
        description: str,
        level: str,
        duration: int,
        disable: bool,
        permissions: list[dict[str, Any]],
        creator: User,
    ) -> Robot:
        full = f"{self.robot_prefix}{name}"
        now = self._now()
        user = User(next(self._ids), full, secret, False, now, robot=True, disabled=disable)
        robot = Robot(
            user.id, name, user, description, level, duration, disable, permissions, creator, now, now
        )
        self.users[full] = user
        self.robots[robot.id] = robot
        return robot

    def robot_named(self, name: str) -> Robot | None:
        """The robot whose name (without the prefix) is ``name``."""
        with self.lock:
            return next((r for r in self.robots.values() if r.name == name), None)

    def robot_access(self, robot_id: int) -> dict[str, list[str]]:
        """{project: sorted repository actions} a robot holds (tests check what Wharf granted)."""
        with self.lock:
            granted: dict[str, set[str]] = {}
            for permission in self.robots[robot_id].permissions:
                if permission.get("kind") != "project":
                    continue
                for access in permission.get("access") or []:
                    if access.get("resource") == "repository" and access.get("effect", "allow") in (
                        "",
                        "allow",
                    ):
                        granted.setdefault(permission["namespace"], set()).add(access.get("action"))
            return {project: sorted(actions) for project, actions in sorted(granted.items())}

    def robot_projects(self, robot_id: int) -> list[str]:
        """The projects a robot may pull from, sorted (tests check what Wharf granted)."""
        with self.lock:
            return sorted(self.robots[robot_id].readable_projects())

    def set_robot_permissions(self, robot_id: int, projects: Iterable[str], *, actions=("pull",)) -> None:
        """Edit a robot's permissions behind the client's back (as an admin in Harbor's UI)."""
        with self.lock:
            self.robots[robot_id].permissions = [
                {
                    "kind": "project",
                    "namespace": project,
                    "access": [{"resource": "repository", "action": action} for action in actions],
                }
                for project in projects
            ]

    def delete_robot(self, robot_id: int) -> None:
        """Delete a robot behind the client's back."""
        with self.lock:
            robot = self.robots.pop(robot_id)
            self.users.pop(robot.user.username, None)

    def can_pull(self, username: str, password: str, repository: str, reference: str = "latest") -> int:
        """The status a pull of ``repository:reference`` by these credentials gets (200/401/404)."""
        import httpx

        with httpx.Client(
            base_url=self.url, auth=(username, password) if username else None, verify=False, timeout=5
        ) as client:  # noqa: S501 (loopback double)
            return client.get(
                f"/v2/{repository}/manifests/{reference}", headers={"Accept": IMAGE_MANIFEST}
            ).status_code

    def add_project(
        self, name: str, public: bool = False, members: Iterable[str] = (), owner: str = ADMIN_USER
    ) -> Project:
        with self.lock:
            created = self._now()
            project = Project(
                next(self._ids), name, public, self.users[owner], created, created, set(members)
            )
            self.projects[name] = project
            return project

    def add_repository(
        self,
        project: str,
        name: str,
        tags: Iterable[str] = ("latest",),
        *,
        description: str = "",
        pull_count: int = 0,
        platforms: Iterable[str] = ("linux/amd64",),
    ) -> Repository:
        """Add ``project/name`` with one artifact per tag (each its own digest).

        ``name`` may contain ``/``. Use ``add_artifact`` for several tags on one digest.
        """
        with self.lock:
            full = f"{project}/{name}"
            repository = self.repositories.get(full)
            if repository is None:
                if project not in self.projects:
                    self.add_project(project)
                created = self._now()
                repository = Repository(
                    next(self._ids), project, full, description, pull_count, created, created
                )
                self.repositories[full] = repository
            for tag in tags:
                self.add_artifact(project, name, [tag], platforms=platforms)
            return repository

    def add_artifact(
        self,
        project: str,
        repository: str,
        tags: Iterable[str],
        *,
        platforms: Iterable[str] = ("linux/amd64",),
        size: int | None = None,
        digest: str | None = None,
    ) -> Artifact:
        """An image (one platform) or an index (several) carrying ``tags``."""
        with self.lock:
            full = f"{project}/{repository}"
            if full not in self.repositories:
                self.add_repository(project, repository, tags=())
            repo = self.repositories[full]
            pushed = self._now()
            artifact_id = next(self._ids)
            artifact = Artifact(
                id=artifact_id,
                digest=digest or "sha256:" + hashlib.sha256(f"{full}#{artifact_id}".encode()).hexdigest(),
                size=size if size is not None else 1000 + artifact_id,
                pushed=pushed,
                platforms=list(platforms),
                tags=[Tag(next(self._ids), tag, pushed) for tag in tags],
            )
            repo.artifacts.append(artifact)
            repo.updated = pushed
            return artifact

    def artifact(self, repository: str, reference: str) -> Artifact | None:
        """The artifact of ``project/name`` with this digest or tag."""
        found = self.repositories.get(repository)
        if found is None:
            return None
        return next(
            (a for a in found.artifacts if a.digest == reference or any(t.name == reference for t in a.tags)),
            None,
        )

    def set_scan(
        self,
        repository: str,
        reference: str,
        status: str = "Success",
        *,
        counts: dict[str, int] | None = None,
        fixable: int = 0,
    ) -> None:
        """Give the artifact a scan report as Harbor's scanner would (Trivy)."""
        with self.lock:
            artifact = self.artifact(repository, reference)
            assert artifact is not None, f"no artifact {repository}@{reference}"
            counts = counts or {}
            severity = next(
                (level for level in ("Critical", "High", "Medium", "Low", "Unknown") if counts.get(level)),
                "None",
            )
            artifact.scan = {
                "report_id": f"report-{artifact.id}",
                "scan_status": status,
                "severity": severity,
                "duration": 12,
                "summary": {"total": sum(counts.values()), "fixable": fixable, "summary": dict(counts)},
                "start_time": harbor_time(EPOCH + timedelta(days=1)),
                "end_time": harbor_time(EPOCH + timedelta(days=1, seconds=12)),
                "complete_percent": 100 if status == "Success" else 0,
                "scanner": {"name": "Trivy", "vendor": "Aqua Security", "version": "v0.50.1"},
            }

    # -- faults and records --------------------------------------------------------------

    def fail_on(
        self,
        path_prefix: str,
        status: int | None = 500,
        *,
        after_n: int = 0,
        times: int | None = None,
        method: str | None = None,
        delay: float = 0.0,
        body: str | bytes | dict | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer ``status`` to requests whose raw path starts with ``path_prefix``.

        The first ``after_n`` matching requests are served normally; then ``times`` of them
        (all, if None) fail. ``delay`` seconds pass before answering; with ``status=None``
        the normal answer follows the delay. ``body`` defaults to Harbor's error shape.
        """
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        fault = Fault(path_prefix, status, after_n, times, method, delay, body, content_type, headers or {})
        with self.lock:
            self.faults.append(fault)
        return fault

    def hang_on(self, path_prefix: str, seconds: float = 30.0, **kwargs: Any) -> Fault:
        """Say nothing for ``seconds`` (longer than the client's timeout), then answer."""
        return self.fail_on(path_prefix, None, delay=seconds, **kwargs)

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [
                r for r in self.requests if r.raw_path.startswith(path_prefix) and method in (None, r.method)
            ]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- request handling ----------------------------------------------------------------

    def handle(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        raw_path = split.path
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        record = RecordedRequest(
            method=handler.command,
            raw_path=raw_path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=body,
        )
        with self.lock:
            self.requests.append(record)
            fault = self._fault_for(record)
        if fault is not None and fault.delay:
            if self._stopping.wait(fault.delay):
                handler.close_connection = True
                return
        if fault is not None and fault.status is not None:
            answer = Answer(
                fault.status,
                fault.body
                if fault.body is not None
                else HarborError(fault.status, "injected failure").body(),
                dict(fault.headers),
                fault.content_type,
            )
        else:
            try:
                with self.lock:
                    answer = self._route(record, split.query)
            except HarborError as error:
                answer = Answer(error.status, error.body())
            except Exception as exc:
                # A bug in the double: answer like Harbor would, and let the fixture fail.
                self.crashes.append(f"{record.method} {record.raw_path}: {traceback.format_exc()}")
                answer = Answer(500, HarborError(500, f"internal server error: {exc}").body())
        self._write(handler, record, answer)

    def _fault_for(self, record: RecordedRequest) -> Fault | None:
        for fault in self.faults:
            if not fault.matches(record.method, record.raw_path):
                continue
            fault.seen += 1
            if fault.seen <= fault.after_n:
                continue
            if fault.times is not None and fault.fired >= fault.times:
                continue
            fault.fired += 1
            return fault
        return None

    def _write(self, handler: _Handler, record: RecordedRequest, answer: Answer) -> None:
        if isinstance(answer.body, bytes):
            payload = answer.body
        elif answer.body is None:
            payload = b""
        else:
            payload = json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        if payload or answer.status not in (201, 204):
            handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-Request-Id", secrets.token_hex(8))
        # Harbor (beego) opens a session for every caller; a stateless client must ignore it.
        handler.send_header("Set-Cookie", f"sid={secrets.token_hex(16)}; Path=/; HttpOnly")
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if record.method != "HEAD":
            handler.wfile.write(payload)

    # -- routes --------------------------------------------------------------------------

    def _route(self, record: RecordedRequest, raw_query: str) -> Answer:
        # Harbor's router works on the once-decoded path (Go's URL.Path).
        path = unquote(record.raw_path)
        if path == "/v2" or path.startswith("/v2/"):
            return self._registry_v2(record, path, self._authenticate(record) or self._bearer(record))
        if path == "/service/token":
            return self._issue_token(record)
        if not path.startswith(f"{API}/"):
            return Answer(404, b"<html><body>Harbor portal</body></html>", {}, "text/html")
        parts = path[len(API) + 1 :].split("/")
        user = self._authenticate(record)
        method = record.method
        if "sid=" in record.headers.get("cookie", "") and method not in ("GET", "HEAD"):
            raise HarborError(403, "CSRF token invalid")

        match parts:
            case ["ping"]:
                self._allow(method, "GET")
                return Answer(200, b"Pong", {}, "text/plain")
            case ["systeminfo"]:
                self._allow(method, "GET")
                return Answer(200, self._systeminfo(user))
            case ["users", "current"]:
                self._allow(method, "GET")
                return Answer(200, self._current_user(user))
            case ["statistics"]:
                self._allow(method, "GET")
                return Answer(200, self._statistics(user, record))
            case ["projects"]:
                self._allow(method, "GET", "POST")
                if method == "POST":
                    return self._create_project(user, record)
                return self._paged(record, raw_query, self._visible_projects(user, record), user)
            case ["projects", name_or_id]:
                self._allow(method, "GET", "PUT", "DELETE")
                project = self._project(name_or_id, record, user)
                if method == "GET":
                    return Answer(200, self._project_json(project, user))
                self._require_manager(project, user)
                if method == "PUT":
                    return self._update_project(project, record)
                return self._delete_project(project)
            case ["projects", name, "repositories"]:
                self._allow(method, "GET")
                project = self._project(name, record, user, by_name=True)
                repositories = [r for r in self.repositories.values() if r.project == project.name]
                return self._paged(record, raw_query, repositories, user)
            case ["projects", name, "repositories", repository, "artifacts"]:
                self._allow(method, "GET")
                project = self._project(name, record, user, by_name=True)
                # The handler decodes the repository segment a second time.
                full = f"{project.name}/{unquote(repository)}"
                if full not in self.repositories:
                    raise HarborError(404, f"repository {full} not found")
                artifacts = self.repositories[full].artifacts
                return self._paged(record, raw_query, artifacts, user)
            case ["projects", name, "repositories", repository]:
                self._allow(method, "DELETE")
                project = self._project(name, record, user, by_name=True)
                full = self._full_name(project, repository)
                self._require_manager(project, user)
                del self.repositories[full]
                return Answer(200)
            case ["projects", name, "repositories", repository, "artifacts", reference]:
                self._allow(method, "GET", "DELETE")
                project = self._project(name, record, user, by_name=True)
                full = self._full_name(project, repository)
                artifact = self._artifact_or_404(full, reference)
                if method == "GET":
                    body = self._artifact_json(artifact, record, record.param("with_tag") != "false")
                    if record.param("with_scan_overview") == "true" and artifact.scan is not None:
                        body["scan_overview"] = {
                            "application/vnd.security.vulnerability.report; version=1.1": artifact.scan
                        }
                    return Answer(200, body)
                self._require_manager(project, user)
                self.repositories[full].artifacts.remove(artifact)
                return Answer(200)
            case ["projects", name, "repositories", repository, "artifacts", reference, "scan"]:
                self._allow(method, "POST")
                project = self._project(name, record, user, by_name=True)
                artifact = self._artifact_or_404(self._full_name(project, repository), reference)
                self._require_manager(project, user)
                self.set_scan(self._full_name(project, repository), artifact.digest, "Pending")
                return Answer(202)
            case ["projects", name, "repositories", repository, "artifacts", reference, "tags", tag_name]:
                self._allow(method, "DELETE")
                project = self._project(name, record, user, by_name=True)
                artifact = self._artifact_or_404(self._full_name(project, repository), reference)
                self._require_manager(project, user)
                tag = next((t for t in artifact.tags if t.name == tag_name), None)
                if tag is None:
                    raise HarborError(404, f"tag {tag_name} not found")
                artifact.tags.remove(tag)
                return Answer(200)
            case ["repositories"]:
                self._allow(method, "GET")
                visible = {p.name for p in self._visible_projects(user, record)}
                repositories = [r for r in self.repositories.values() if r.project in visible]
                return self._paged(record, raw_query, repositories, user)
            case ["robots"]:
                self._allow(method, "GET", "POST")
                self._require_sysadmin(user)
                if method == "POST":
                    return self._create_robot(user, record)
                return self._paged(record, raw_query, self._query_robots(record), user)
            case ["robots", robot_id]:
                self._allow(method, "GET", "PUT", "DELETE", "PATCH")
                self._require_sysadmin(user)
                robot = self._robot(robot_id)
                if method == "GET":
                    return Answer(200, self._robot_json(robot))
                if method == "PUT":
                    return self._update_robot(robot, record)
                if method == "PATCH":
                    return self._refresh_robot_secret(robot, record)
                del self.robots[robot.id]
                self.users.pop(robot.user.username, None)
                return Answer(200)
        raise HarborError(404, f"the API {path} is not found")

    def _full_name(self, project: Project, repository: str) -> str:
        # The handler decodes the repository segment a second time.
        full = f"{project.name}/{unquote(repository)}"
        if full not in self.repositories:
            raise HarborError(404, f"repository {full} not found")
        return full

    def _artifact_or_404(self, repository: str, reference: str) -> Artifact:
        artifact = self.artifact(repository, reference)
        if artifact is None:
            raise HarborError(404, f"artifact {repository}@{reference} not found")
        return artifact

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed and not (method == "HEAD" and "GET" in allowed):
            raise HarborError(405, f"method {method} is not allowed")

    def _authenticate(self, record: RecordedRequest) -> User | None:
        header = record.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        user = self.users.get(username)
        # Like Harbor: failed Basic auth leaves the caller anonymous instead of refusing.
        if user is None or not secrets.compare_digest(user.password.encode(), password.encode()):
            return None
        if user.disabled:
            return None
        return user

    def _can_read(self, project: Project, user: User | None) -> bool:
        if project.public:
            return True
        if user is not None and user.robot:
            # A robot reads what its permissions list, and nothing because of membership.
            robot = self.robots.get(user.id)
            readable = robot.readable_projects() if robot is not None else set()
            return project.name in readable or "*" in readable
        return user is not None and (user.admin or user.username in project.members)

    @staticmethod
    def _require_sysadmin(user: User | None) -> None:
        if user is None:
            raise HarborError(401, "unauthorized")
        if not user.admin:
            raise HarborError(403, "forbidden")

    def _require_manager(self, project: Project, user: User | None) -> None:
        if user is None:
            raise HarborError(401, "unauthorized")
        if not (user.admin or (user.username in project.members and not user.robot)):
            raise HarborError(403, f"forbidden to manage project {project.name}")

    def _project(
        self, name_or_id: str, record: RecordedRequest, user: User | None, by_name: bool = False
    ) -> Project:
        by_name = by_name or record.headers.get("x-is-resource-name", "").lower() == "true"
        if not by_name and name_or_id.isdigit():
            found = next((p for p in self.projects.values() if p.id == int(name_or_id)), None)
        else:
            found = self.projects.get(name_or_id)
        if found is None:
            raise HarborError(404, f"project {name_or_id} not found")
        if not self._can_read(found, user):
            if user is None:
                raise HarborError(401, "unauthorized")
            raise HarborError(403, f"forbidden to access project {found.name}")
        return found

    def _visible_projects(self, user: User | None, record: RecordedRequest) -> list[Project]:
        projects = [p for p in self.projects.values() if self._can_read(p, user)]
        public = record.param("public")
        if public in ("true", "false"):
            projects = [p for p in projects if p.public == (public == "true")]
        name = record.param("name")
        if name:
            projects = [p for p in projects if p.name == name]
        return projects

    def _create_project(self, user: User | None, record: RecordedRequest) -> Answer:
        if user is None:
            raise HarborError(401, "unauthorized")
        body = self._project_request(record)
        name = body.get("project_name")
        if not isinstance(name, str) or not name:
            raise HarborError(422, "validation failure list:\nproject_name in body is required")
        if len(name) > 255 or not PROJECT_NAME.match(name):
            raise HarborError(400, "project name is not in lower case or contains illegal characters!")
        if name in self.projects:
            raise HarborError(409, f"The project named {name} already exists")
        public = body.get("metadata", {}).get("public", "false") == "true"
        project = self.add_project(name, public=public, members=[user.username])
        project.owner = user
        location = f"{API}/projects/{project.id}"
        return Answer(201, None, {"Location": location})

    def _update_project(self, project: Project, record: RecordedRequest) -> Answer:
        body = self._project_request(record)
        public = body.get("metadata", {}).get("public")
        if public is not None:
            project.public = public == "true"
        project.updated = self._now()
        return Answer(200)

    def _delete_project(self, project: Project) -> Answer:
        if any(r.project == project.name for r in self.repositories.values()):
            raise HarborError(412, "the project contains repositories, can not be deleted")
        del self.projects[project.name]
        return Answer(200)

    @staticmethod
    def _project_request(record: RecordedRequest) -> dict[str, Any]:
        """A ProjectReq body, type-checked the way go-swagger does before Harbor sees it."""
        try:
            body = record.json()
        except ValueError as exc:
            raise HarborError(400, f'parsing project body from "" failed: {exc}') from exc
        if not isinstance(body, dict):
            raise HarborError(400, 'parsing project body from "" failed')
        metadata = body.get("metadata", {})
        if not isinstance(metadata, dict):
            raise HarborError(422, "validation failure list:\nmetadata in body must be of type object")
        for key, value in metadata.items():
            if not isinstance(value, str):
                raise HarborError(
                    422,
                    f"validation failure list:\nmetadata.{key} in body must be of type string: "
                    f'"{type(value).__name__}"',
                )
        return body

    # -- robots --------------------------------------------------------------------------

    def _robot(self, robot_id: str) -> Robot:
        if not robot_id.isdigit():
            raise HarborError(
                422, f'validation failure list:\nrobot_id in path must be of type int64: "{robot_id}"'
            )
        robot = self.robots.get(int(robot_id))
        if robot is None:
            raise HarborError(404, f"robot {robot_id} not found")
        return robot

    def _query_robots(self, record: RecordedRequest) -> list[Robot]:
        """``q=name=x`` (exact, without the prefix), ``q=name=~x`` (contains), ``level=``."""
        robots = sorted(self.robots.values(), key=lambda r: r.id)
        for clause in filter(None, (record.param("q") or "").split(",")):
            key, _, value = clause.partition("=")
            fuzzy = value.startswith("~")
            value = value.removeprefix("~")
            if key not in ("name", "level"):
                continue
            if fuzzy:
                robots = [r for r in robots if value in getattr(r, key)]
            else:
                robots = [r for r in robots if getattr(r, key) == value]
        return robots

    @staticmethod
    def _robot_request(record: RecordedRequest, what: str) -> dict[str, Any]:
        """A RobotCreate / Robot body, type-checked as go-swagger does."""
        try:
            body = record.json()
        except ValueError as exc:
            raise HarborError(400, f'parsing {what} body from "" failed: {exc}') from exc
        if not isinstance(body, dict):
            raise HarborError(400, f'parsing {what} body from "" failed')
        types = {
            "name": str,
            "description": str,
            "secret": str,
            "level": str,
            "disable": bool,
            "duration": int,
            "permissions": list,
            "id": int,
        }
        for key, kind in types.items():
            value = body.get(key)
            if value is None:
                continue
            wrong = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
            if wrong:
                raise HarborError(
                    422, f"validation failure list:\n{key} in body must be of type {kind.__name__}"
                )
        return body

    def _check_robot_fields(self, body: dict[str, Any]) -> tuple[str, int, list[dict[str, Any]]]:
        """Harbor's robot validation (src/server/v2.0/handler/robot.go)."""
        level = body.get("level") or ""
        duration = body.get("duration")
        duration = 0 if duration is None else duration
        if duration != -1 and duration <= 0:
            raise HarborError(
                400,
                f"bad request error duration input: {duration}, duration must be either -1(Never) "
                "or a positive integer",
            )
        if level not in ("system", "project"):
            raise HarborError(400, f"bad request error level input: {level}")
        permissions = body.get("permissions") or []
        if not permissions:
            raise HarborError(400, "bad request empty permission")
        for permission in permissions:
            if not isinstance(permission, dict) or not permission.get("access"):
                raise HarborError(400, "bad request empty access")
            kind = permission.get("kind")
            if kind not in ("system", "project"):
                raise HarborError(400, f"bad request permission level: {kind}")
            for access in permission["access"]:
                pair = (access.get("resource"), access.get("action")) if isinstance(access, dict) else None
                if pair not in ROBOT_PROJECT_ACCESS:
                    raise HarborError(
                        400,
                        f"bad request permission: {pair[0]}:{pair[1]}" if pair else "bad request permission",
                    )
            namespace = permission.get("namespace")
            if kind == "project" and namespace != "*" and namespace not in self.projects:
                raise HarborError(404, f"project {namespace} not found")
        return level, duration, permissions

    def _create_robot(self, user: User, record: RecordedRequest) -> Answer:
        body = self._robot_request(record, "robot")
        name = body.get("name") or ""
        if not ROBOT_NAME.match(name):
            raise HarborError(400, "robot name is not in lower case or contains illegal characters")
        level, duration, permissions = self._check_robot_fields(body)
        if any(r.name == name for r in self.robots.values()):
            raise HarborError(409, f"robot account 0:{name} already exists")
        secret = _robot_secret()
        robot = self._new_robot(
            name,
            secret,
            body.get("description") or "",
            level,
            duration,
            bool(body.get("disable")),
            permissions,
            user,
        )
        created = {
            "id": robot.id,
            "name": robot.user.username,
            "secret": secret,
            "creation_time": harbor_time(robot.created),
            "expires_at": self._expires_at(robot),
        }
        return Answer(201, created, {"Location": f"{API}/robots/{robot.id}"})

    def _update_robot(self, robot: Robot, record: RecordedRequest) -> Answer:
        body = self._robot_request(record, "robot")
        level, duration, permissions = self._check_robot_fields(body)
        if level != robot.level or body.get("name") != robot.user.username:
            raise HarborError(400, "cannot update the level or name of robot")
        robot.description = body.get("description") or ""
        robot.duration = duration
        robot.disable = bool(body.get("disable"))
        robot.user.disabled = robot.disable
        robot.permissions = permissions
        robot.updated = self._now()
        return Answer(200)

    def _refresh_robot_secret(self, robot: Robot, record: RecordedRequest) -> Answer:
        try:
            body = record.json()
        except ValueError as exc:
            raise HarborError(400, f'parsing robotSec body from "" failed: {exc}') from exc
        given = body.get("secret") if isinstance(body, dict) else None
        if given:
            if not isinstance(given, str) or not ROBOT_SECRET.match(given):
                raise HarborError(
                    400,
                    "the secret must longer than 8 chars with at least 1 uppercase letter, "
                    "1 lowercase letter and 1 number",
                )
            robot.user.password = given
            return Answer(200, {})
        robot.user.password = _robot_secret()
        return Answer(200, {"secret": robot.user.password})

    @staticmethod
    def _expires_at(robot: Robot) -> int:
        if robot.duration == -1:
            return -1
        return int((robot.created + timedelta(days=robot.duration)).timestamp())

    def _robot_json(self, robot: Robot) -> dict[str, Any]:
        return {
            "id": robot.id,
            "name": robot.user.username,
            "description": robot.description,
            "level": robot.level,
            "duration": robot.duration,
            "editable": True,
            "disable": robot.disable,
            "expires_at": self._expires_at(robot),
            "permissions": [
                {
                    "kind": permission.get("kind"),
                    "namespace": permission.get("namespace"),
                    "access": [
                        {
                            "resource": a.get("resource"),
                            "action": a.get("action"),
                            "effect": a.get("effect") or "",
                        }
                        for a in permission.get("access") or []
                    ],
                }
                for permission in robot.permissions
            ],
            "creator_type": "local",
            "creator_ref": robot.creator.id,
            "creation_time": harbor_time(robot.created),
            "update_time": harbor_time(robot.updated),
        }

    # -- registry v2 (pulls) ---------------------------------------------------------------

    def _issue_token(self, record: RecordedRequest) -> Answer:
        """Harbor's token service: a token for whoever the Basic credentials name (anonymous
        when they name nobody, as Harbor does); the registry API then checks what it may read."""
        self._allow(record.method, "GET")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self._v2_tokens[token] = self._authenticate(record)
        return Answer(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": 1800,
                "issued_at": harbor_time(datetime.now(UTC)),
            },
        )

    def _bearer(self, record: RecordedRequest) -> User | None:
        scheme, _, token = record.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self._v2_tokens.get(token)

    def _registry_v2(self, record: RecordedRequest, path: str, user: User | None) -> Answer:
        """Enough of Harbor's registry API to pull: manifests (images and indexes) and configs."""
        self._allow(record.method, "GET")
        if path in ("/v2", "/v2/"):
            if user is None:
                return self._v2_unauthorized("")
            return Answer(200, {})
        name, found, reference = path[len("/v2/") :].rpartition("/manifests/")
        kind = "manifests"
        if not found:
            name, found, reference = path[len("/v2/") :].rpartition("/blobs/")
            kind = "blobs"
        if not found or not name or not reference:
            return Answer(404, _v2_error("NOT_FOUND", "not found"))
        project = self.projects.get(name.split("/", 1)[0])
        if project is None or not self._can_read(project, user):
            # Harbor's v2 auth middleware: 401 with a challenge, signed in or not.
            return self._v2_unauthorized(name)
        documents = self._v2_documents(name)
        if reference not in documents:
            code = "MANIFEST_UNKNOWN" if kind == "manifests" else "BLOB_UNKNOWN"
            return Answer(404, _v2_error(code, f"{kind[:-1]} unknown: {name}:{reference}"))
        payload, media_type, digest = documents[reference]
        headers = {"Docker-Content-Digest": digest, "Docker-Distribution-Api-Version": "registry/2.0"}
        return Answer(200, payload, headers, media_type)

    def _v2_documents(self, name: str) -> dict[str, tuple[bytes, str, str]]:
        """Every manifest (by digest and tag) and config (by digest) of repository ``name``.

        An artifact's digest stands for its manifest as the double built it; children of an
        index get the digests the artifact API lists in ``references``.
        """
        repository = self.repositories.get(name)
        documents: dict[str, tuple[bytes, str, str]] = {}
        if repository is None:
            return documents

        def image(seed: str, platform: str, size: int) -> bytes:
            os_name, arch, *variant = platform.split("/")
            config = json.dumps(
                {
                    "architecture": arch,
                    "os": os_name,
                    **({"variant": variant[0]} if variant else {}),
                    "created": harbor_time(EPOCH),
                    "history": [
                        {"created_by": f"ADD rootfs-{arch}.tar /"},
                        {"created_by": 'CMD ["sh"]', "empty_layer": True},
                        {"created_by": "RUN apk add curl"},
                    ],
                }
            ).encode()
            config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
            documents[config_digest] = (config, IMAGE_CONFIG, config_digest)
            layers = [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": "sha256:" + hashlib.sha256(f"{seed}/{index}".encode()).hexdigest(),
                    "size": size * (index + 1),
                }
                for index in range(2)
            ]
            return json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": IMAGE_MANIFEST,
                    "config": {"mediaType": IMAGE_CONFIG, "digest": config_digest, "size": len(config)},
                    "layers": layers,
                }
            ).encode()

        for artifact in repository.artifacts:
            if artifact.is_index:
                children = []
                for index, platform in enumerate(artifact.platforms):
                    child = self._reference(artifact, index, platform)
                    manifest = image(child["child_digest"], platform, artifact.size // 4)
                    documents[child["child_digest"]] = (manifest, IMAGE_MANIFEST, child["child_digest"])
                    children.append(
                        {
                            "mediaType": IMAGE_MANIFEST,
                            "digest": child["child_digest"],
                            "size": len(manifest),
                            "platform": child["platform"],
                        }
                    )
                document = (
                    json.dumps(
                        {"schemaVersion": 2, "mediaType": IMAGE_INDEX, "manifests": children}
                    ).encode(),
                    IMAGE_INDEX,
                    artifact.digest,
                )
            else:
                platform = artifact.platforms[0] if artifact.platforms else "linux/amd64"
                document = (
                    image(artifact.digest, platform, artifact.size // 4),
                    IMAGE_MANIFEST,
                    artifact.digest,
                )
            documents[artifact.digest] = document
            for tag in artifact.tags:
                documents[tag.name] = document
        return documents

    def _v2_unauthorized(self, name: str) -> Answer:
        scope = f',scope="repository:{name}:pull"' if name else ""
        challenge = f'Bearer realm="{self.url}/service/token",service="harbor-registry"{scope}'
        message = f"unauthorized to access repository: {name}, action: pull" if name else "unauthorized"
        return Answer(
            401,
            _v2_error("UNAUTHORIZED", message),
            {"Www-Authenticate": challenge, "Docker-Distribution-Api-Version": "registry/2.0"},
        )

    def _paged(self, record: RecordedRequest, raw_query: str, items: list, user: User | None) -> Answer:
        page, page_size = self._page_params(record)
        total = len(items)
        chosen = items if page_size == 0 else items[(page - 1) * page_size : page * page_size]
        body = [self._item_json(item, user, record) for item in chosen]
        headers = {"X-Total-Count": str(total)}
        links = self._links(record.raw_path, raw_query, total, page, page_size)
        if links and self.send_link_headers:
            headers["Link"] = links
        return Answer(200, body, headers)

    @staticmethod
    def _page_params(record: RecordedRequest) -> tuple[int, int]:
        values = {}
        for name, default in (("page", 1), ("page_size", DEFAULT_PAGE_SIZE)):
            raw = record.param(name)
            try:
                values[name] = int(raw) if raw is not None else default
            except ValueError:
                raise HarborError(
                    422, f'validation failure list:\n{name} in query must be of type int64: "{raw}"'
                ) from None
        if values["page_size"] > MAX_PAGE_SIZE:
            raise HarborError(
                422,
                "validation failure list:\npage_size in query should be less than or equal "
                f"to {MAX_PAGE_SIZE}",
            )
        if values["page_size"] < 0:
            raise HarborError(400, "page_size must be 0 or more")
        return max(values["page"], 1), values["page_size"]

    @staticmethod
    def _links(raw_path: str, raw_query: str, total: int, page: int, page_size: int) -> str:
        """Harbor's Link header (src/server/v2.0/handler/base.go): sorted, unescaped query."""
        if page_size == 0:
            return ""
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}

        def link(number: int, rel: str) -> str:
            params = {**query, "page": str(number), "page_size": str(page_size)}
            encoded = "&".join(f"{k}={params[k]}" for k in sorted(params))
            return f'<{raw_path}?{encoded}>; rel="{rel}"'

        links = []
        if page > 1 and (page - 1) * page_size < total:
            links.append(link(page - 1, "prev"))
        if page_size * page < total:
            links.append(link(page + 1, "next"))
        return " , ".join(links)

    # -- JSON, shaped like Harbor's models (see the swagger definitions) -----------------

    def _item_json(self, item: Any, user: User | None, record: RecordedRequest) -> dict:
        if isinstance(item, Project):
            return self._project_json(item, user)
        if isinstance(item, Repository):
            return self._repository_json(item)
        if isinstance(item, Robot):
            return self._robot_json(item)
        with_tag = record.param("with_tag") != "false"
        return self._artifact_json(item, record, with_tag)

    def _systeminfo(self, user: User | None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "auth_mode": "db_auth",
            "primary_auth_mode": False,
            "self_registration": False,
            "harbor_version": self.version,
        }
        if user is not None:
            info.update(
                current_time=harbor_time(datetime.now(UTC)),
                external_url=self.url if self._server else "",
                registry_url=f"127.0.0.1:{self.port}" if self._server else "",
                has_ca_root=False,
                project_creation_restriction="everyone",
                read_only=False,
                registry_storage_provider_name="filesystem",
                notification_enable=True,
            )
        return info

    def _statistics(self, user: User | None, record: RecordedRequest) -> dict[str, Any]:
        """Statistic: counts the account may see; totals and storage for system admins only."""
        if user is None:
            raise HarborError(401, "unauthorized")
        visible = self._visible_projects(user, record)
        public = {p.name for p in visible if p.public}
        private = {p.name for p in visible if not p.public}
        repositories = list(self.repositories.values())
        answer = {
            "private_project_count": len(private),
            "private_repo_count": sum(1 for r in repositories if r.project in private),
            "public_project_count": len(public),
            "public_repo_count": sum(1 for r in repositories if r.project in public),
            "total_project_count": 0,
            "total_repo_count": 0,
            "total_storage_consumption": 0,
        }
        if user.admin and not user.robot:
            blobs = {a.digest: a.size for r in repositories for a in r.artifacts}
            answer.update(
                total_project_count=len(self.projects),
                total_repo_count=len(repositories),
                total_storage_consumption=sum(blobs.values()),
            )
        return answer

    def _current_user(self, user: User | None) -> dict[str, Any]:
        if user is None:
            raise HarborError(401, "unauthorized")
        if user.robot:
            raise HarborError(412, "the API can only be called by local user")
        return {
            "user_id": user.id,
            "username": user.username,
            "email": f"{user.username}@example.com",
            "realname": user.username,
            "comment": "",
            "sysadmin_flag": user.admin,
            "admin_role_in_auth": False,
            "creation_time": harbor_time(user.created),
            "update_time": harbor_time(user.created),
        }

    def _project_json(self, project: Project, user: User | None) -> dict[str, Any]:
        member = user is not None and (user.admin or user.username in project.members)
        role_ids = [1] if member else []
        return {
            "project_id": project.id,
            "owner_id": project.owner.id,
            "name": project.name,
            "creation_time": harbor_time(project.created),
            "update_time": harbor_time(project.updated),
            "deleted": False,
            "owner_name": project.owner.username,
            "togglable": member,
            "current_user_role_id": role_ids[0] if role_ids else 0,
            "current_user_role_ids": role_ids,
            "repo_count": sum(1 for r in self.repositories.values() if r.project == project.name),
            "metadata": {"public": "true" if project.public else "false"},
            "cve_allowlist": {
                "id": project.id,
                "project_id": project.id,
                "items": [],
                "creation_time": GO_ZERO_TIME,
                "update_time": GO_ZERO_TIME,
            },
        }

    def _repository_json(self, repository: Repository) -> dict[str, Any]:
        body = {
            "id": repository.id,
            "project_id": self.projects[repository.project].id,
            "name": repository.name,
            "artifact_count": len(repository.artifacts),
            "pull_count": repository.pull_count,
            "creation_time": harbor_time(repository.created),
            "update_time": harbor_time(repository.updated),
        }
        if repository.description:
            body["description"] = repository.description
        return body

    def _artifact_json(self, artifact: Artifact, record: RecordedRequest, with_tag: bool) -> dict[str, Any]:
        repository = next(r for r in self.repositories.values() if artifact in r.artifacts)
        project_id = self.projects[repository.project].id
        encoded = record.raw_path.split("/repositories/", 1)[1].split("/", 1)[0]
        base = f"{API}/projects/{repository.project}/repositories/{encoded}/artifacts/"
        body: dict[str, Any] = {
            "id": artifact.id,
            "type": "IMAGE",
            "media_type": IMAGE_INDEX if artifact.is_index else IMAGE_CONFIG,
            "manifest_media_type": IMAGE_INDEX if artifact.is_index else IMAGE_MANIFEST,
            "project_id": project_id,
            "repository_id": repository.id,
            "repository_name": repository.name,
            "digest": artifact.digest,
            "size": artifact.size,
            "icon": "sha256:0048162a053eef4d4ce3fe7518615bef084403614f8bca43b40ae2e762e11e06",
            "push_time": harbor_time(artifact.pushed),
            "pull_time": GO_ZERO_TIME,
            "extra_attrs": {},
            "addition_links": {
                "vulnerabilities": {
                    "href": f"{base}{artifact.digest}/additions/vulnerabilities",
                    "absolute": False,
                }
            },
        }
        if artifact.is_index:
            body["references"] = [
                self._reference(artifact, index, platform)
                for index, platform in enumerate(artifact.platforms)
            ]
        elif artifact.platforms:
            os_name, arch, *variant = artifact.platforms[0].split("/")
            body["extra_attrs"] = {
                "architecture": arch,
                "os": os_name,
                "author": "",
                "created": harbor_time(artifact.pushed),
                "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
            }
            if variant:
                body["extra_attrs"]["variant"] = variant[0]
            body["addition_links"]["build_history"] = {
                "href": f"{base}{artifact.digest}/additions/build_history",
                "absolute": False,
            }
        if with_tag and artifact.tags:
            body["tags"] = [
                {
                    "id": tag.id,
                    "repository_id": repository.id,
                    "artifact_id": artifact.id,
                    "name": tag.name,
                    "push_time": harbor_time(tag.pushed),
                    "pull_time": GO_ZERO_TIME,
                    "immutable": False,
                }
                for tag in artifact.tags
            ]
        return body

    @staticmethod
    def _reference(artifact: Artifact, index: int, platform: str) -> dict[str, Any]:
        os_name, arch, *variant = platform.split("/")
        child = hashlib.sha256(f"{artifact.digest}/{platform}".encode()).hexdigest()
        body: dict[str, Any] = {
            "parent_id": artifact.id,
            "child_id": artifact.id * 100 + index,
            "child_digest": f"sha256:{child}",
            "platform": {"architecture": arch, "os": os_name},
        }
        if variant:
            body["platform"]["variant"] = variant[0]
        return body

    # -- TLS -----------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        """A self-signed certificate for 127.0.0.1; ``ca_pem`` is what a client must trust."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor-double")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.ca_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        self._tempdir = tempfile.TemporaryDirectory(prefix="harbor-double-")
        cert_file = Path(self._tempdir.name, "cert.pem")
        key_file = Path(self._tempdir.name, "key.pem")
        cert_file.write_text(self.ca_pem)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


def _robot_secret() -> str:
    """Harbor's generated robot secrets: 32 letters and digits, all three kinds present."""
    while True:
        secret = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        if ROBOT_SECRET.match(secret):
            return secret


def _v2_error(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "detail": None}]}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive connections would make server_close() wait for the client to hang up.
    block_on_close = False
    double: HarborDouble

    def __init__(self, *args: Any, **kwargs: Any):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def get_request(self):
        connection, address = super().get_request()
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        # Clients that time out hang up mid-answer; that is the point of those tests.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two sends; with Nagle's algorithm each answer would wait
    # ~40 ms for a delayed ACK, and sync tests make hundreds of requests.
    disable_nagle_algorithm = True
    server_version = "nginx"
    sys_version = ""
    server: _Server

    def _dispatch(self) -> None:
        self.server.double.handle(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def harbor_double() -> Iterator[HarborDouble]:
    """A running Harbor double with user ``admin``/``Harbor12345`` and public ``library``."""
    with HarborDouble() as double:
        yield double
    assert not double.crashes, "the Harbor double crashed:\n" + "\n".join(double.crashes)
