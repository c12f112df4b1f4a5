"""A JFrog Artifactory test double: real HTTP on loopback, in-memory state, Artifactory's answers.

Artifactory cannot run on these machines. This stands in for the part of it Wharf talks to,
following JFrog's published REST API documentation (page names as JFrog titles them):

* "System Health Ping": ``GET /artifactory/api/system/ping`` answers ``OK`` (text/plain).
* "Version and Add-ons information": ``GET /artifactory/api/system/version`` answers
  ``{"version", "revision", "addons", "license"}``.
* "Get Repositories": ``GET /artifactory/api/repositories`` with the optional ``type``
  (local, remote, virtual, federated) and ``packageType`` filters; each entry holds ``key``,
  ``type`` (upper case), ``description``, ``url`` and ``packageType``.
* "Repository Configuration": ``GET /artifactory/api/repositories/<key>``; administrators get
  the whole configuration, other users part of it (``key``, ``rclass``, ``packageType``…).
* "Introduction to the Artifactory REST APIs", Authentication: Basic with a user name and a
  password, or with an access token in the password's place, and ``Authorization: Bearer``
  with an access token. Wrong credentials answer 401 even where anonymous access is allowed
  ("Why do I get a 401 Unauthorized response"); no credentials answer 401 unless anonymous
  access is on (``anonymous=True``), in which case anonymous sees what it was granted.
* "Error Responses": ``{"errors": [{"status": <code>, "message": <text>}]}``.
* "List Docker Repositories" and "List Docker Tags": ``GET /artifactory/api/docker/<key>/v2/
  _catalog`` and ``…/v2/<image>/tags/list``, paged with ``n`` and ``last`` (5.4.6 and later;
  "both parameters refer to an integer": ``last`` counts what was listed) and, as the Docker
  Registry v2 API does, a ``Link: <…>; rel="next"`` header while more follow. A virtual
  repository's catalog holds the images of the repositories it aggregates. Two Link quirks
  reported against Artifactory can be switched on: a Link naming the plain ``/v2/…`` path
  without the repository (JFrog's RTFACT-18971, met by renovatebot/renovate#15030 and #20745),
  and a Link from the last page to an empty one.
* The Docker Registry v2 API under ``/artifactory/api/docker/<key>/v2/``: manifests by tag or
  digest (OCI index for multi-platform images, one image manifest per platform), with
  ``Docker-Content-Digest``; blobs (image configs, with a build history).
* "Delete Item" and "Deletion and Cleanup of Docker Tags and Repositories": ``DELETE
  /artifactory/<key>/<image>[/<tag>]`` deletes an image or one tag from a local repository, or
  from a remote repository's ``<key>-cache``; 404 when there is no such item; 403 without the
  delete permission.

Tests reach it through the ``artifactory_double`` fixture (``conftest.py`` beside this file). It
records every request and can inject faults (``fail_on``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from registries.clients.base import Connection
from registries.kinds.harbor.tests.harbor_double import Answer, Fault, RecordedRequest, _Handler, _Server

ADMIN_USER = "admin"
ADMIN_PASSWORD = "Art1factory-pässword"
VERSION = "7.98.9"
CONTEXT = "/artifactory"
DOCKER_API = f"{CONTEXT}/api/docker/"
CLASSES = ("local", "remote", "virtual", "federated")

IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
IMAGE_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
BUILT = "2024-03-01T12:00:00Z"


class ArtifactoryError(Exception):
    """An answer in Artifactory's error shape, raised from deep inside a route."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def answer(self) -> Answer:
        return Answer(
            self.status, {"errors": [{"status": self.status, "message": self.message}]}, self.headers
        )


@dataclass
class User:
    name: str
    password: str
    admin: bool = False
    can_delete: bool = True


@dataclass
class Image:
    """One image of a repository: its tags, each naming a manifest digest."""

    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Repository:
    key: str
    rclass: str
    package_type: str = "docker"
    description: str = ""
    members: list[str] = field(default_factory=list)  # a virtual repository's
    images: dict[str, Image] = field(default_factory=dict)


class ArtifactoryDouble:
    """State, routes and server. All state changes hold ``lock``; handlers run in threads."""

    def __init__(self, *, anonymous: bool = False):
        self.anonymous = anonymous
        self.version = VERSION
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, str] = {}  # access token -> user name
        self.repositories: dict[str, Repository] = {}
        # Manifests and configs by digest: (bytes, media type).
        self.documents: dict[str, tuple[bytes, str]] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.crashes: list[str] = []
        # The client ends (address, port) of the connections requests came on.
        self.peers: set[tuple[str, int]] = set()
        # The registry API's Link header; ``"plain"`` writes it as a bare /v2/… path, as a
        # registry without Artifactory's prefix would, and False leaves it out.
        self.link_style: str | bool = True
        # Some Artifactory versions link on from the last page too (to an empty one).
        self.link_on_last_page = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.add_user(ADMIN_USER, ADMIN_PASSWORD, admin=True)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> ArtifactoryDouble:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.double = self  # type: ignore[assignment]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="artifactory-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ArtifactoryDouble:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the double first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def connection(
        self,
        username: str = ADMIN_USER,
        password: str = ADMIN_PASSWORD,
        *,
        timeout: float = 5.0,
        **options: Any,
    ) -> Connection:
        return Connection(url=self.url, username=username, password=password, timeout=timeout, **options)

    # -- state ---------------------------------------------------------------------------

    def add_user(self, name: str, password: str, *, admin: bool = False, can_delete: bool = True) -> User:
        with self.lock:
            user = self.users[name] = User(name, password, admin, can_delete)
            return user

    def add_token(self, token: str, user: str = ADMIN_USER) -> str:
        with self.lock:
            self.tokens[token] = user
            return token

    def add_repository(
        self,
        key: str,
        rclass: str = "local",
        *,
        package_type: str = "docker",
        description: str = "",
        members: Iterable[str] = (),
    ) -> Repository:
        assert rclass in CLASSES, rclass
        with self.lock:
            repository = self.repositories[key] = Repository(
                key, rclass, package_type, description, list(members)
            )
            return repository

    def add_image(
        self,
        key: str,
        image: str,
        tags: Iterable[str] = ("latest",),
        *,
        platforms: Iterable[str] = ("linux/amd64",),
        layer_sizes: Iterable[int] = (1000, 2000),
        seed: str = "",
    ) -> str:
        """Push ``image`` into repository ``key`` under ``tags``; answers the manifest digest.

        One platform makes an image manifest; several make an OCI index of one image per
        platform. Each image's config has a history line per layer and one empty step.
        """
        platforms, sizes = list(platforms), list(layer_sizes)
        seed = seed or f"{key}/{image}"
        with self.lock:
            children = [
                (platform, self._image(f"{seed}@{platform}", platform, sizes)) for platform in platforms
            ]
            if len(children) == 1:
                digest = children[0][1][0]
            else:
                index = json.dumps(
                    {
                        "schemaVersion": 2,
                        "mediaType": IMAGE_INDEX,
                        "manifests": [
                            {
                                "mediaType": IMAGE_MANIFEST,
                                "digest": child_digest,
                                "size": size,
                                "platform": _platform_json(platform),
                            }
                            for platform, (child_digest, size) in children
                        ],
                    }
                ).encode()
                digest = self._store(index, IMAGE_INDEX)
            entry = self.repositories[key].images.setdefault(image, Image())
            for tag in tags:
                entry.tags[tag] = digest
            return digest

    def _image(self, seed: str, platform: str, sizes: list[int]) -> tuple[str, int]:
        os_name, arch, *variant = platform.split("/")
        history: list[dict[str, Any]] = [
            {"created": BUILT, "created_by": f"RUN build step {number}"}
            for number in range(1, len(sizes) + 1)
        ]
        history.insert(1, {"created": BUILT, "created_by": 'CMD ["app"]', "empty_layer": True})
        config = json.dumps(
            {
                "architecture": arch,
                "os": os_name,
                **({"variant": variant[0]} if variant else {}),
                "created": BUILT,
                "history": history,
                "seed": seed,
            }
        ).encode()
        config_digest = self._store(config, IMAGE_CONFIG)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": IMAGE_MANIFEST,
                "config": {"mediaType": IMAGE_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": [
                    {
                        "mediaType": LAYER,
                        "size": size,
                        "digest": "sha256:" + hashlib.sha256(f"{seed}/{number}".encode()).hexdigest(),
                    }
                    for number, size in enumerate(sizes)
                ],
            }
        ).encode()
        return self._store(manifest, IMAGE_MANIFEST), len(manifest)

    def _store(self, document: bytes, media_type: str) -> str:
        digest = "sha256:" + hashlib.sha256(document).hexdigest()
        self.documents[digest] = (document, media_type)
        return digest

    def tags(self, key: str, image: str) -> dict[str, str]:
        with self.lock:
            repository = self.repositories.get(key)
            found = repository.images.get(image) if repository else None
            return dict(found.tags) if found else {}

    # -- faults and records --------------------------------------------------------------

    def fail_on(
        self,
        path_prefix: str,
        status: int = 500,
        *,
        body: str | bytes | dict | list | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        times: int | None = None,
        method: str | None = None,
    ) -> Fault:
        """Answer ``status`` (with ``body``, Artifactory's error shape by default) to requests whose
        path starts with ``path_prefix``; ``times`` of them, or all."""
        if isinstance(body, dict | list):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        fault = Fault(path_prefix, status, 0, times, method, 0.0, body, content_type, headers or {})
        with self.lock:
            self.faults.append(fault)
        return fault

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[RecordedRequest]:
        with self.lock:
            return [
                r for r in self.requests if r.raw_path.startswith(path_prefix) and method in (None, r.method)
            ]

    # -- request handling ----------------------------------------------------------------

    def handle(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        record = RecordedRequest(
            method=handler.command,
            raw_path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=handler.rfile.read(length) if length else b"",
        )
        with self.lock:
            self.requests.append(record)
            self.peers.add(handler.client_address[:2])
            fault = self._fault_for(record)
        if fault is not None:
            body = (
                fault.body
                if fault.body is not None
                else ArtifactoryError(fault.status or 500, "injected failure").answer().body
            )
            answer = Answer(fault.status or 500, body, dict(fault.headers), fault.content_type)
        else:
            try:
                with self.lock:
                    answer = self._route(record)
            except ArtifactoryError as error:
                answer = error.answer()
            except Exception:
                self.crashes.append(f"{record.method} {record.raw_path}: {traceback.format_exc()}")
                answer = ArtifactoryError(500, "internal server error").answer()
        self._write(handler, record, answer)

    def _fault_for(self, record: RecordedRequest) -> Fault | None:
        for fault in self.faults:
            if fault.matches(record.method, record.raw_path) and (
                fault.times is None or fault.fired < fault.times
            ):
                fault.fired += 1
                return fault
        return None

    @staticmethod
    def _write(handler: _Handler, record: RecordedRequest, answer: Answer) -> None:
        if isinstance(answer.body, bytes):
            payload = answer.body
        elif answer.body is None:
            payload = b""
        else:
            payload = json.dumps(answer.body).encode()
        handler.send_response(answer.status)
        if payload:
            handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.send_header("X-JFrog-Version", f"Artifactory/{VERSION} 79809900")
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        if record.method != "HEAD":
            handler.wfile.write(payload)

    # -- routes --------------------------------------------------------------------------

    def _route(self, record: RecordedRequest) -> Answer:
        path = unquote(record.raw_path)
        if not path.startswith(CONTEXT + "/"):
            return Answer(404, b"<html><body>JFrog Platform</body></html>", {}, "text/html")
        if path == f"{CONTEXT}/api/system/ping" and "authorization" not in record.headers:
            return Answer(200, b"OK", {}, "text/plain")
        user = self._authenticate(record)
        method = record.method
        if path == f"{CONTEXT}/api/system/ping":
            return Answer(200, b"OK", {}, "text/plain")
        if path == f"{CONTEXT}/api/system/version":
            _allow(method, "GET")
            return Answer(
                200,
                {
                    "version": self.version,
                    "revision": "79809900",
                    "addons": ["build", "docker", "ldap", "properties", "rest"],
                    "license": "Enterprise+",
                },
            )
        if path == f"{CONTEXT}/api/repositories":
            _allow(method, "GET")
            return Answer(200, self._repository_list(record))
        if path.startswith(f"{CONTEXT}/api/repositories/"):
            _allow(method, "GET")
            return Answer(200, self._configuration(path.rsplit("/", 1)[1], user))
        if path.startswith(DOCKER_API):
            return self._docker(record, path[len(DOCKER_API) :])
        if path.startswith(f"{CONTEXT}/api/"):
            raise ArtifactoryError(404, "Not Found")
        _allow(method, "DELETE")
        return self._delete_item(path[len(CONTEXT) + 1 :], user)

    def _authenticate(self, record: RecordedRequest) -> User | None:
        """The caller, None for anonymous; wrong credentials are refused whatever anonymous may
        do, and no credentials are refused unless anonymous access is on."""
        header = record.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        refused = ArtifactoryError(
            401, "Bad credentials", {"WWW-Authenticate": 'Basic realm="Artifactory Realm"'}
        )
        if not header:
            if self.anonymous:
                return None
            raise ArtifactoryError(
                401, "Authentication is required", {"WWW-Authenticate": 'Basic realm="Artifactory Realm"'}
            )
        if scheme.lower() == "bearer":
            name = self.tokens.get(value.strip())
            if name is None or name not in self.users:
                raise ArtifactoryError(
                    401,
                    "Token failed verification: parse",
                    {"WWW-Authenticate": 'Bearer realm="Artifactory Realm"'},
                )
            return self.users[name]
        if scheme.lower() != "basic":
            raise refused
        try:
            name, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise refused from None
        user = self.users.get(name)
        # An access token may stand in for the password of the user it was issued to.
        if user is None or (secret != user.password and self.tokens.get(secret) != name):
            raise refused
        return user

    def _repository_list(self, record: RecordedRequest) -> list[dict[str, Any]]:
        wanted_class = (record.query.get("type") or [""])[0].lower()
        wanted_package = (record.query.get("packageType") or [""])[0].lower()
        return [
            {
                "key": repository.key,
                "type": repository.rclass.upper(),
                "description": repository.description,
                "url": f"{self.url}{CONTEXT}/{repository.key}",
                "packageType": repository.package_type.capitalize(),
            }
            for repository in sorted(self.repositories.values(), key=lambda r: r.key)
            if wanted_class in ("", repository.rclass) and wanted_package in ("", repository.package_type)
        ]

    def _configuration(self, key: str, user: User | None) -> dict[str, Any]:
        repository = self._repository(key)
        partial = {
            "key": key,
            "rclass": repository.rclass,
            "packageType": repository.package_type,
            "description": repository.description,
        }
        if user is None or not user.admin:
            return partial
        return {
            **partial,
            "dockerApiVersion": "V2",
            "notes": "",
            "includesPattern": "**/*",
            "excludesPattern": "",
            "maxUniqueTags": 0,
            "blackedOut": False,
            **({"repositories": repository.members} if repository.rclass == "virtual" else {}),
        }

    def _repository(self, key: str) -> Repository:
        repository = self.repositories.get(key)
        if repository is None:
            raise ArtifactoryError(404, f"Repository {key} does not exist")
        return repository

    # -- Docker Registry v2 API ----------------------------------------------------------

    def _docker(self, record: RecordedRequest, rest: str) -> Answer:
        key, _, v2 = rest.partition("/")
        repository = self._repository(key)
        if repository.package_type != "docker":
            raise ArtifactoryError(400, f"Unsupported docker repository request for '{key}'")
        if not v2.startswith("v2/") and v2 != "v2":
            raise ArtifactoryError(400, f"Unsupported docker repository request for '{v2}'")
        _allow(record.method, "GET", "HEAD")
        route = v2[len("v2/") :]
        headers = {"Docker-Distribution-Api-Version": "registry/2.0"}
        if route in ("", "v2"):
            return Answer(200, {}, headers)
        if route == "_catalog":
            return self._paged(record, sorted(self._images(repository)), "repositories", {}, headers)
        name, marker, reference = route.rpartition("/manifests/")
        if marker:
            return self._manifest(repository, name, reference, headers)
        name, marker, digest = route.rpartition("/blobs/")
        if marker:
            document = self.documents.get(digest)
            if document is None or document[1] != IMAGE_CONFIG:
                return _v2_error(404, "BLOB_UNKNOWN", "blob unknown to registry", headers)
            return Answer(
                200, document[0], {**headers, "Docker-Content-Digest": digest}, "application/octet-stream"
            )
        if route.endswith("/tags/list"):
            name = route[: -len("/tags/list")]
            tags = self._images(repository).get(name)
            if tags is None:
                return _v2_error(404, "NAME_UNKNOWN", "repository name not known to registry", headers)
            return self._paged(record, sorted(tags), "tags", {"name": name}, headers)
        return _v2_error(404, "NOT_FOUND", "Not Found", headers)

    def _images(self, repository: Repository) -> dict[str, dict[str, str]]:
        """Image name -> tags; a virtual repository sees its members' images (first one wins)."""
        if repository.rclass != "virtual":
            return {name: dict(image.tags) for name, image in repository.images.items()}
        found: dict[str, dict[str, str]] = {}
        for member in repository.members:
            if member in self.repositories:
                for name, tags in self._images(self.repositories[member]).items():
                    found.setdefault(name, tags)
        return found

    def _manifest(self, repository: Repository, name: str, reference: str, headers: dict[str, str]) -> Answer:
        tags = self._images(repository).get(name)
        if tags is None:
            return _v2_error(404, "NAME_UNKNOWN", "repository name not known to registry", headers)
        digest = reference if reference.startswith("sha256:") else tags.get(reference, "")
        document = self.documents.get(digest)
        if document is None or document[1] == IMAGE_CONFIG:
            return _v2_error(404, "MANIFEST_UNKNOWN", "manifest unknown", headers)
        return Answer(200, document[0], {**headers, "Docker-Content-Digest": digest}, document[1])

    def _paged(
        self,
        record: RecordedRequest,
        names: list[str],
        field_name: str,
        extra: dict[str, Any],
        headers: dict[str, str],
    ) -> Answer:
        """``n`` and ``last`` as "List Docker Repositories" documents them: both integers, ``last``
        the number of entries already listed (a cursor, not a name as in the Docker spec)."""
        last = (record.query.get("last") or ["0"])[0] or "0"
        count = (record.query.get("n") or [""])[0]
        if (count and not count.isdigit()) or not last.isdigit():
            return _v2_error(400, "PAGINATION_NUMBER_INVALID", "invalid number of results requested", headers)
        start = int(last)
        page = names[start : start + int(count)] if count else names[start:]
        answer_headers = dict(headers)
        more = start + len(page) < len(names)
        if count and self.link_style and (more or (self.link_on_last_page and page)):
            # RTFACT-18971: the link may name the plain registry path, without the repository.
            prefix = "" if self.link_style == "plain" else record.raw_path.split("/v2/", 1)[0]
            target = record.raw_path.split("/v2/", 1)[1]
            answer_headers["Link"] = f'<{prefix}/v2/{target}?last={start + len(page)}&n={count}>; rel="next"'
        return Answer(200, {**extra, field_name: page}, answer_headers)

    # -- Delete Item ---------------------------------------------------------------------

    def _delete_item(self, item: str, user: User | None) -> Answer:
        key, _, path = item.partition("/")
        repository = self.repositories.get(key)
        if repository is None and key.endswith("-cache"):
            repository = self.repositories.get(key[: -len("-cache")])
            if repository is not None and repository.rclass != "remote":
                repository = None
        if (
            repository is None
            or repository.rclass == "virtual"
            or (repository.rclass == "remote" and not key.endswith("-cache"))
        ):
            raise ArtifactoryError(404, f"Could not locate artifact '{item}'")
        if user is None or not user.can_delete:
            raise ArtifactoryError(403, f"Not enough permissions to delete/overwrite artifact '{item}'")
        path = path.strip("/")
        if path in repository.images:
            del repository.images[path]
            return Answer(204)
        image, _, tag = path.rpartition("/")
        if image in repository.images and tag in repository.images[image].tags:
            del repository.images[image].tags[tag]
            if not repository.images[image].tags:
                del repository.images[image]
            return Answer(204)
        raise ArtifactoryError(404, f"Could not locate artifact '{item}'")


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise ArtifactoryError(405, f"Method {method} is not allowed here")


def _v2_error(status: int, code: str, message: str, headers: dict[str, str]) -> Answer:
    return Answer(status, {"errors": [{"code": code, "message": message, "detail": {}}]}, headers)


def _platform_json(platform: str) -> dict[str, str]:
    os_name, arch, *variant = platform.split("/")
    return {"os": os_name, "architecture": arch, **({"variant": variant[0]} if variant else {})}


def running_double(**options: Any) -> Iterator[ArtifactoryDouble]:
    with ArtifactoryDouble(**options) as double:
        yield double
    assert not double.crashes, "the Artifactory double crashed:\n" + "\n".join(double.crashes)
