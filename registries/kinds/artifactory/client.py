"""Client for JFrog Artifactory's Docker repositories (Artifactory 7, self-hosted or SaaS).

Plain Python + httpx on purpose (no Django imports), like every client. What Artifactory's
REST API documentation says, and how Wharf maps it:

* Spaces are Artifactory's Docker repositories: ``GET /artifactory/api/repositories``
  ("Get Repositories") filtered with ``packageType=docker``; local, remote, virtual and
  federated alike, each with its class (``type``: LOCAL, REMOTE, VIRTUAL, FEDERATED).
* Images, tags, digests and platforms come through the Docker Registry v2 API each repository
  serves under ``/artifactory/api/docker/<repo-key>/v2/`` ("List Docker Repositories", "List
  Docker Tags", and the registry API itself), so a Wharf repository is named
  ``<repo-key>/<image>``: the name the repository path method pulls it by
  (``<host>/<repo-key>/<image>:<tag>``, "Docker Repository URL Formats").
* Credentials: a user name with a password, or with an access token in the password's place
  (Basic authentication), or an access token alone (no user name), sent as
  ``Authorization: Bearer`` ("Introduction to the Artifactory REST APIs", Authentication).
  Artifactory answers 401 to wrong credentials even where anonymous access is allowed, so a
  listing never silently shrinks to what anonymous may read.
* Errors come as ``{"errors": [{"status": <code>, "message": <text>}]}`` ("Error Responses").
* Deletion is "Delete Item" (``DELETE /artifactory/<repo-key>/<path>``) on the folder of an
  image or of one tag ("Deletion and Cleanup of Docker Tags and Repositories"); it applies to
  local repositories and to the ``-cache`` of remote ones, never to virtual repositories.

Artifactory has no public or private repositories in Wharf's sense (its permissions are per
user and group), so Wharf keeps the type of an Artifactory space itself, as for a plain
Docker Registry. Wharf neither creates nor deletes Artifactory repositories: that is an
Artifactory administrator's work, and the next sync picks the result up.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import httpx

from registries.clients.base import (
    REPOSITORY_NAME,
    TAG_NAME,
    AddressRefused,
    AuthenticationFailed,
    BadAnswer,
    CheckResult,
    Connection,
    Forbidden,
    NotFound,
    PlatformLayers,
    RateLimited,
    RegistryClient,
    RegistryError,
    RegistryTimeout,
    RepositoryInfo,
    SpaceInfo,
    TagInfo,
    TLSFailure,
    Unreachable,
    Unsupported,
    deadline_timeout,
    errors_text,
    find_cause,
    reason_of,
)
from registries.clients.transport import GuardedTransport
from registries.kinds.distribution.client import MAX_REDIRECTS, DistributionClient

CONTEXT = "/artifactory"
# Repository keys as Artifactory accepts them (letters, digits, - _ .; at most 64); anything
# else cannot be a key and must never be spliced into a URL path.
REPOSITORY_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Classes of repository ("rclass" in a configuration, upper case as "type" in the list).
LOCAL, REMOTE, VIRTUAL, FEDERATED = "local", "remote", "virtual", "federated"
CLASSES = (LOCAL, REMOTE, VIRTUAL, FEDERATED)
# The REST answers Wharf reads are small (a repository list is a few hundred bytes per
# repository); a proxy's error page or a runaway answer is refused rather than held in memory.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# Shorter passwords are not scrubbed from messages: that would mangle ordinary words.
MIN_SCRUBBED_PASSWORD = 4


@dataclass(frozen=True)
class ArtifactorySpaceInfo(SpaceInfo):
    """A Docker repository of Artifactory; ``repository_class`` is local, remote, virtual or
    federated."""

    repository_class: str = ""
    description: str = ""


class ArtifactoryClient(RegistryClient):
    kind = "artifactory"

    def __init__(
        self, connection: Connection, *, page_size: int = 100, max_answer_bytes: int = MAX_ANSWER_BYTES
    ):
        super().__init__(connection)
        self.page_size = page_size
        self.max_answer_bytes = max_answer_bytes
        try:
            url = httpx.URL(connection.url.strip().rstrip("/"))
        except (httpx.InvalidURL, TypeError):
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            shown = connection.url.split("@")[-1][:200]
            raise Unreachable(f"{shown!r} is not an http:// or https:// URL of Artifactory.")
        # Never userinfo in a URL: credentials travel only in the Authorization header.
        url = url.copy_with(username=None, password=None)
        # People paste either the platform URL or Artifactory's own (…/artifactory).
        path = url.path.rstrip("/")
        if path.endswith(CONTEXT):
            path = path[: -len(CONTEXT)]
        self._root = url.copy_with(path=path or "/", query=None, fragment=None)
        port = f":{url.port}" if url.port else ""
        self.where = f"Artifactory at {url.scheme}://{url.host}{port}{path}"
        self._http: httpx.Client | None = None
        self._registries: dict[str, _DockerRegistryAPI] = {}
        self._classes: dict[str, str] = {}

    def close(self) -> None:
        for registry in self._registries.values():
            registry.close()
        self._registries.clear()
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- interface -----------------------------------------------------------------------

    def check(self, require_admin: bool = False) -> CheckResult:
        """Prove this is Artifactory, the credentials work and Docker repositories can be listed.

        ``require_admin`` asks nothing more: Wharf never administers Artifactory (it creates
        no repositories, users or tokens there), reading is all it needs.
        """
        ping = self._request("GET", "/api/system/ping", authenticated=False)
        body = ping.content[:64].strip()
        # An instance closed to anonymous callers may refuse even the ping; the next,
        # authenticated call says whether the credentials open it.
        if not (ping.status_code == 200 and body == b"OK") and ping.status_code != 401:
            kind = ping.headers.get("Content-Type", "no content type").split(";")[0]
            raise BadAnswer(
                f"{self.where} does not look like Artifactory (/artifactory/api/system/ping "
                f"answered HTTP {ping.status_code} with {kind})."
            )
        about = self._json(self._send("GET", "/api/system/version"), dict, "its version")
        self._json(
            self._send("GET", "/api/repositories", params={"packageType": "docker"}),
            list,
            "the repository list",
        )
        version = about.get("version")
        return CheckResult(
            version=version if isinstance(version, str) else "",
            is_admin=None,
            username=self.connection.username,
        )

    def iter_spaces(self) -> Iterator[ArtifactorySpaceInfo]:
        yield from self._docker_repositories()

    def iter_repositories(self, space: str | None = None) -> Iterator[RepositoryInfo]:
        """Images from each Docker repository's catalog, named ``<repo-key>/<image>``.

        A virtual repository lists the images of the repositories it aggregates, under its own
        key: that is the name they are pulled by through it. A remote repository lists what
        Artifactory has cached of it (or, if so configured, what its upstream lists).
        """
        if space is None:
            keys = [info.name for info in self._docker_repositories()]
        else:
            keys = [self._key(space)]
        for key in keys:
            try:
                for image in self._registry(key).catalog():
                    yield RepositoryInfo(space=key, name=f"{key}/{image}")
            except NotFound:
                if space is not None:
                    raise
                # Deleted between the repository list and now: as good as not listed.
                continue

    def iter_tags(self, repository: str) -> Iterator[TagInfo]:
        key, image = self._split(repository)
        yield from self._registry(key).iter_tags(image)

    def create_space(self, name: str, public: bool) -> SpaceInfo:
        raise Unsupported(
            "Wharf does not create Artifactory repositories: create the Docker repository in "
            "Artifactory, and the next sync lists it."
        )

    def set_space_visibility(self, name: str, public: bool) -> None:
        """Artifactory has no public or private repositories; Wharf's own setting decides who
        sees the space in Wharf."""

    def delete_space(self, name: str) -> None:
        raise Unsupported(
            "Wharf does not delete Artifactory repositories: that removes every image in it, "
            "for every user of Artifactory; an Artifactory administrator decides it there."
        )

    # -- image details and deletion ------------------------------------------------------

    def image_layers(self, repository: str, digest: str) -> tuple[PlatformLayers, ...]:
        key, image = self._split(repository)
        return self._registry(key).image_layers(image, digest)

    def delete_tag(self, repository: str, tag: str, digest: str) -> None:
        """Each tag is a folder of its own in Artifactory: deleting it leaves the other tags,
        and the layers they share, in place."""
        key, image = self._split(repository)
        if not TAG_NAME.fullmatch(tag):
            raise NotFound(f"{repository}:{tag} is not a valid image reference.")
        self._delete_item(key, f"{image}/{tag}", f"tag {repository}:{tag}")

    def delete_artifact(self, repository: str, digest: str) -> None:
        """Every tag naming the image ``digest`` is deleted (the image goes with its last tag)."""
        key, image = self._split(repository)
        tags = [tag.name for tag in self._registry(key).iter_tags(image) if tag.digest == digest]
        if not tags:
            raise NotFound(f"{self.where} has no tag on image {repository}@{digest}.")
        target = self._deletable(key)
        for tag in tags:
            self._delete_item(key, f"{image}/{tag}", f"tag {repository}:{tag}", target=target)

    def delete_repository(self, repository: str) -> None:
        key, image = self._split(repository)
        self._delete_item(key, image, f"image {repository}")

    # -- robot accounts: not Artifactory's ----------------------------------------------
    # Workspaces pull with credentials of their own in Artifactory (users, groups and
    # permissions are Artifactory's business); Wharf mints none.

    # -- REST ----------------------------------------------------------------------------

    def _docker_repositories(self) -> list[ArtifactorySpaceInfo]:
        answer = self._json(
            self._send("GET", "/api/repositories", params={"packageType": "docker"}),
            list,
            "the repository list",
        )
        found: dict[str, ArtifactorySpaceInfo] = {}
        for entry in answer:
            if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
                raise BadAnswer(f"{self.where} sent a repository list with a malformed entry.")
            package_type = entry.get("packageType")
            # The filter is old (Artifactory 6.2); an older or odd server may ignore it.
            if isinstance(package_type, str) and package_type.lower() != "docker":
                continue
            key = entry["key"]
            if not REPOSITORY_KEY.fullmatch(key):
                raise BadAnswer(
                    f"{self.where} listed a repository named {key[:80]!r}, which "
                    "is no Artifactory repository key."
                )
            repository_class = str(entry.get("type") or entry.get("rclass") or "").lower()
            if repository_class not in CLASSES:
                repository_class = ""
            else:
                self._classes[key] = repository_class
            description = entry.get("description")
            found.setdefault(
                key,
                ArtifactorySpaceInfo(
                    name=key,
                    public=False,
                    repository_class=repository_class,
                    description=description if isinstance(description, str) else "",
                ),
            )
        return [found[key] for key in sorted(found)]

    def _repository_class(self, key: str) -> str:
        """``GET /api/repositories/<key>`` ("Repository Configuration"): non-administrators get
        part of it, the class included."""
        if key not in self._classes:
            response = self._send(
                "GET",
                f"/api/repositories/{quote(key, safe='')}",
                missing=f"{self.where} has no repository {key!r}.",
            )
            configuration = self._json(response, dict, f"the configuration of {key}")
            repository_class = str(configuration.get("rclass") or "").lower()
            if repository_class not in CLASSES:
                raise BadAnswer(f"{self.where} did not say which kind of repository {key} is.")
            self._classes[key] = repository_class
        return self._classes[key]

    def _deletable(self, key: str) -> str:
        """The repository that holds a repository's files: itself, or a remote's cache."""
        repository_class = self._repository_class(key)
        if repository_class in (LOCAL, FEDERATED):
            return key
        if repository_class == REMOTE:
            return f"{key}-cache"
        raise Unsupported(
            f"{key} is a virtual repository in Artifactory: it holds no images of its own. "
            "Delete the image in the repository it comes from."
        )

    def _delete_item(self, key: str, path: str, what: str, target: str = "") -> None:
        target = target or self._deletable(key)
        item = "/".join(quote(part, safe="") for part in (target, *path.split("/")))
        self._send(
            "DELETE",
            f"/{item}",
            missing=f"{self.where} has no {what}.",
            forbidden=f"{self.where} does not let this account delete {what}.",
        )

    def _key(self, space: str) -> str:
        if not REPOSITORY_KEY.fullmatch(space):
            raise NotFound(f"{space!r} is not an Artifactory repository key.")
        return space

    def _split(self, repository: str) -> tuple[str, str]:
        key, _, image = repository.partition("/")
        if not REPOSITORY_KEY.fullmatch(key) or not REPOSITORY_NAME.fullmatch(image):
            raise NotFound(
                f"{repository!r} is not an Artifactory image name (expected <repository key>/<image>)."
            )
        return key, image

    def _registry(self, key: str) -> _DockerRegistryAPI:
        if key not in self._registries:
            self._registries[key] = _DockerRegistryAPI(self, key)
        return self._registries[key]

    def authorization(self) -> str:
        """The Authorization header for every request ("" for anonymous)."""
        username, password = self.connection.username, self.connection.password
        if username:
            pair = f"{username}:{password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        if password:
            return f"Bearer {password}"
        return ""

    def _client(self) -> httpx.Client:
        """One connection pool for the REST API and every repository's registry API."""
        if self._http is None:
            self._http = httpx.Client(
                # The address policy and the deadline hold for every connection (transport.py).
                transport=GuardedTransport(self.connection, verify=self._verify()),
                timeout=self.connection.timeout,
                # For the registry API: Artifactory may redirect blob downloads to object storage
                # ("downloadRedirect"); httpx drops Authorization when a redirect leaves the
                # origin. REST calls follow none.
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": "wharf"},
                event_hooks={"request": [self._count_request]},
            )
        return self._http

    def _count_request(self, request: httpx.Request) -> None:
        self.request_count += 1

    def _verify(self) -> ssl.SSLContext | bool:
        try:
            return self.connection.ssl_verify()
        except (ssl.SSLError, ValueError) as exc:
            raise TLSFailure(
                f"The CA bundle given for {self.where} could not be read ({reason_of(exc)}); paste "
                "the PEM certificate(s) of the CA that signed Artifactory's certificate."
            ) from exc

    def _request(
        self, method: str, path: str, *, params: dict[str, str] | None = None, authenticated: bool = True
    ) -> httpx.Response:
        """One request under /artifactory; transport failures become RegistryErrors. The body is
        read up to ``max_answer_bytes``."""
        url = self._root.copy_with(path=self._root.path.rstrip("/") + CONTEXT + path)
        headers = {"Accept": "application/json"}
        authorization = self.authorization() if authenticated else ""
        if authorization:
            headers["Authorization"] = authorization
        try:
            with self._client().stream(
                method, url, params=params, headers=headers, follow_redirects=False
            ) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self.max_answer_bytes:
                        raise BadAnswer(
                            f"{self.where} sent more than {self.max_answer_bytes // 1024} KiB in "
                            f"answer to {method} {CONTEXT}{path}; Wharf did not read it all."
                        )
                # The body is decoded already: the copy must not claim an encoding.
                headers = [
                    (name, value)
                    for name, value in response.headers.multi_items()
                    if name.lower() not in ("content-encoding", "content-length")
                ]
                return httpx.Response(
                    response.status_code, headers=headers, content=bytes(body), request=response.request
                )
        except RegistryError as error:
            raise self._scrubbed(error) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._scrubbed(self._transport_error(exc)) from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        missing: str = "",
        forbidden: str = "",
    ) -> httpx.Response:
        response = self._request(method, path, params=params)
        if response.is_success:
            return response
        raise self._scrubbed(self._status_error(response, missing, forbidden))

    def _json(self, response: httpx.Response, shape: type, what: str) -> Any:
        try:
            data = json.loads(response.content)
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise BadAnswer(f"{self.where} sent {what} in an answer that is not JSON ({kind}).") from None
        if not isinstance(data, shape):
            raise BadAnswer(f"{self.where} sent {what} in an answer of an unexpected shape.")
        return data

    # -- errors --------------------------------------------------------------------------

    def _status_error(
        self, response: httpx.Response, missing: str = "", forbidden: str = ""
    ) -> RegistryError:
        status = response.status_code
        detail = errors_text(response)
        said = f" Artifactory said: {detail}" if detail else ""
        request = f"{response.request.method} {response.request.url.path}"
        if status == 401:
            return AuthenticationFailed(self.refused_credentials() + f" (HTTP 401).{said}")
        if status == 403:
            return Forbidden(
                (forbidden or f"{self.where} does not allow this account to {request}")
                + f" (HTTP 403).{said}"
            )
        if status == 404:
            return NotFound((missing or f"{self.where} has nothing at {request}") + f" (HTTP 404).{said}")
        if status == 429:
            retry = response.headers.get("Retry-After", "")
            later = f"; retry after {retry} seconds" if retry.isdigit() else ""
            return RateLimited(f"{self.where} is limiting the rate of requests (HTTP 429){later}.")
        if 300 <= status < 400:
            location = response.headers.get("Location", "elsewhere")
            return BadAnswer(
                f"{self.where} redirected {request} to {location}: use the URL Artifactory is served at."
            )
        if status >= 500:
            return BadAnswer(f"{self.where} failed on {request} with HTTP {status}.{said}")
        return BadAnswer(f"{self.where} rejected {request} with HTTP {status}.{said}")

    def refused_credentials(self) -> str:
        if self.connection.username:
            return f"{self.where} did not accept the user name and password (or access token)"
        if self.connection.password:
            return f"{self.where} did not accept the access token"
        return f"{self.where} asks for credentials and none are set"

    def _transport_error(self, exc: Exception) -> RegistryError:
        where = self.where
        if error := deadline_timeout(isinstance(exc, httpx.TimeoutException), self.connection, where, "."):
            return error
        if isinstance(exc, httpx.TimeoutException):
            return RegistryTimeout(f"{where} did not answer within {self.connection.timeout:g} seconds.")
        tls_error = find_cause(exc, ssl.SSLError)
        if tls_error is not None:
            return TLSFailure(
                f"TLS with {where} failed ({reason_of(tls_error)}). If Artifactory uses "
                "a private CA, add that CA bundle to the registry settings."
            )
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            return Unreachable(f"{where} is not an http:// or https:// URL.")
        if isinstance(exc, httpx.RemoteProtocolError):
            return BadAnswer(f"{where} did not answer with valid HTTP ({reason_of(exc)}).")
        if isinstance(exc, httpx.DecodingError):
            return BadAnswer(f"{where} sent an answer that could not be read ({reason_of(exc)}).")
        return Unreachable(f"Cannot connect to {where} ({reason_of(exc)}).")

    def _scrubbed(self, error: RegistryError) -> RegistryError:
        """Last line of defence: whatever a server echoes back, the password is not shown."""
        password = self.connection.password
        if len(password) < MIN_SCRUBBED_PASSWORD or password not in error.message:
            return error
        if isinstance(error, AddressRefused):
            return AddressRefused(error.message.replace(password, "***"), host=error.host)
        return type(error)(error.message.replace(password, "***"))


class _DockerRegistryAPI(DistributionClient):
    """The Docker Registry v2 API one Artifactory repository serves at
    ``/artifactory/api/docker/<repo-key>/v2/``: a registry of its own, reached with the
    Artifactory client's credentials, sent with every request (Artifactory accepts Basic and
    Bearer credentials there directly, no token round trip needed)."""

    def __init__(self, owner: ArtifactoryClient, key: str):
        # Not super().__init__(): that opens a connection pool (and an SSL context, a tenth of a
        # second) per repository; every repository shares the Artifactory client's instead.
        root = owner._root
        base = root.copy_with(path=f"{root.path.rstrip('/')}{CONTEXT}/api/docker/{key}")
        RegistryClient.__init__(self, replace(owner.connection, url=str(base)))
        self.page_size = owner.page_size
        self._base = base
        self._where = f"{owner.where} (repository {key})"
        self._http = owner._client()
        self._scheme, self._realm, self._service = "", "", ""
        self._tokens: dict[str, tuple[str, float]] = {}
        self._owner = owner
        self._key = key

    def close(self) -> None:
        """The connection pool is the Artifactory client's, closed with it."""

    def catalog(self) -> Iterator[str]:
        return self._walk_catalog()

    def _authorization(self, scope: str, refresh: bool = False, asked: str = "") -> str:
        return self._owner.authorization()

    def _pages(self, path: str, scope: str, what: str) -> Iterator[dict]:
        """Some Artifactory versions link on from the last page to an empty one, and on from
        that: an empty page ends the listing."""
        for page in super()._pages(path, scope, what):
            yield page
            if not page.get("repositories") and not page.get("tags"):
                return

    def _same_origin(self, url: str) -> str:
        """Follow a Link to the next page on the same repository: a Link written as the plain
        registry path (``/v2/...``, without the repository: JFrog's RTFACT-18971) is read under
        this repository's prefix."""
        target = httpx.URL(url)
        prefix = self._base.path.rstrip("/")
        path = target.path if target.path.startswith(prefix + "/") else prefix + target.path
        return str(self._base.copy_with(path=path, query=target.query or None))

    def _error(
        self, response: httpx.Response, what: str, where: str = "", detail: bool = True
    ) -> RegistryError:
        error = super()._error(response, what, where, detail)
        if isinstance(error, AuthenticationFailed):
            text = errors_text(response)
            return self._owner._scrubbed(
                AuthenticationFailed(
                    self._owner.refused_credentials()
                    + f" for repository {self._key} (HTTP 401).{' Artifactory said: ' + text if text else ''}"
                )
            )
        return self._owner._scrubbed(error)
