"""Client for Harbor's REST API v2.0 (Harbor >= 2.4).

Plain Python + httpx on purpose (no Django imports), like every client. Behaviour is checked
against Harbor's own API description (``reference/harbor/swagger.yaml``) by the contract tests.

Things Harbor does that shape this code:

* Wrong Basic credentials are not refused: Harbor quietly treats the caller as anonymous, who
  still sees public projects. A listing made with a bad password would look complete and make
  every private project seem deleted, so listings first prove the credentials work.
* Harbor sets a ``sid`` session cookie on every answer. Sent back, it would make requests
  stateful (and subject to Harbor's CSRF checks), so this client refuses all cookies.
* A path segment that may be a name or an id is read as an id when it is all digits, unless
  ``X-Is-Resource-Name: true`` is sent; project names such as ``2024`` need it.
* Repository names are ``project/repo[/more]``; inside a path the part after the project must
  be URL-encoded twice (``a/b`` -> ``a%252Fb``) because Harbor's router decodes once.
"""

from __future__ import annotations

import http.cookiejar
import ssl
import urllib.request
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from registries.clients.base import (
    PULL_ACCESS,
    SCAN_COMPLETE,
    SCAN_ERROR,
    SCAN_NOT_SCANNED,
    SCAN_QUEUED,
    SCAN_SCANNING,
    SEVERITIES,
    AuthenticationFailed,
    BadAnswer,
    CheckResult,
    Conflict,
    Connection,
    Forbidden,
    NotFound,
    PlatformLayers,
    RateLimited,
    RegistryClient,
    RegistryError,
    RegistryTimeout,
    RepositoryInfo,
    RobotInfo,
    ScanOverview,
    SpaceInfo,
    TagInfo,
    TLSFailure,
    Unreachable,
    deadline_timeout,
    errors_text,
    find_cause,
    reason_of,
)
from registries.clients.transport import GuardedTransport

API = "/api/v2.0"
# Harbor answers 422 to anything larger.
PAGE_SIZE = 100
# Harbor messages are shown to people; a misbehaving proxy could send a whole page instead.
# Shorter passwords are not scrubbed from messages: that would mangle ordinary words, and
# nothing this module writes into a message comes from the password anyway.
MIN_SCRUBBED_PASSWORD = 4

ErrorOverrides = dict[int, tuple[type[RegistryError], str]]


class _NoCookies(http.cookiejar.CookiePolicy):
    """Refuse to store or send any cookie, Harbor's ``sid`` session above all."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: urllib.request.Request) -> bool:
        return False

    def path_return_ok(self, path: str, request: urllib.request.Request) -> bool:
        return False


class HarborClient(RegistryClient):
    kind = "harbor"

    def __init__(self, connection: Connection):
        super().__init__(connection)
        self.where = _display_url(connection.url)
        self._root = connection.url.rstrip("/")
        self._http: httpx.Client | None = None
        self._authenticated = False

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    # -- interface -----------------------------------------------------------------------

    def check(self, require_admin: bool = False) -> CheckResult:
        """Prove this is Harbor, the credentials work and, if asked, that they are an admin's."""
        self._ping()
        info = self._json(self._send("GET", "/systeminfo"), dict, "system information")
        version = info.get("harbor_version")
        user = self._current_user()
        is_admin = bool(user.get("sysadmin_flag")) if user is not None else None
        if require_admin and not is_admin:
            if not self.connection.username:
                why = "no account was given"
            elif user is None:
                why = "robot accounts cannot manage Harbor"
            else:
                why = "the account given is not one"
            raise Forbidden(
                "Integrating Harbor as a platform registry needs a Harbor system administrator "
                f"account: {why}."
            )
        username = (user or {}).get("username") or self.connection.username
        return CheckResult(
            version=version if isinstance(version, str) else "",
            is_admin=is_admin,
            username=username if isinstance(username, str) else "",
        )

    def iter_spaces(self) -> Iterator[SpaceInfo]:
        self._ensure_authenticated()
        for project in self._pages("/projects", what="the project list"):
            yield self._space(project)

    def iter_repositories(self, space: str | None = None) -> Iterator[RepositoryInfo]:
        """One project's repositories, or (``space=None``) every repository in one listing."""
        if space is None:
            self._ensure_authenticated()
            pages = self._pages("/repositories", what="the repository list")
        else:
            pages = self._pages(
                f"/projects/{_segment(space)}/repositories",
                by_name=True,
                what=f"the repositories of project {space!r}",
            )
        for repository in pages:
            yield self._repository(repository, space)

    def iter_tags(self, repository: str) -> Iterator[TagInfo]:
        project, _, rest = repository.partition("/")
        if not project or not rest:
            raise NotFound(f"{repository!r} is not a Harbor repository name (expected project/repository).")
        path = f"/projects/{_segment(project)}/repositories/{_segment(_segment(rest))}/artifacts"
        artifacts = self._pages(
            path,
            params={"with_tag": "true"},
            by_name=True,
            what=f"the artifacts of {repository}",
        )
        for artifact in artifacts:
            digest = artifact.get("digest")
            if not isinstance(digest, str) or not digest:
                raise BadAnswer(
                    f"Harbor at {self.where} listed an artifact of {repository} without a digest."
                )
            size = _int(artifact.get("size"))
            artifact_pushed = _time(artifact.get("push_time"))
            platforms = _platforms(artifact)
            for tag in _list(artifact.get("tags")):
                if isinstance(tag, dict) and isinstance(tag.get("name"), str):
                    yield TagInfo(
                        name=tag["name"],
                        digest=digest,
                        size=size,
                        pushed=_time(tag.get("push_time")) or artifact_pushed,
                        platforms=platforms,
                    )

    def storage_used(self) -> int | None:
        """Bytes of blob storage in use (``GET /statistics``, ``total_storage_consumption``).

        Harbor shows the total to system administrators only and answers 0 to everyone else,
        so for other accounts this is None (not reported) rather than a false 0.
        """
        user = self._current_user()
        if not user or not user.get("sysadmin_flag"):
            return None
        statistics = self._json(self._send("GET", "/statistics"), dict, "the statistics")
        return _int(statistics.get("total_storage_consumption"))

    def create_space(self, name: str, public: bool) -> SpaceInfo:
        body = {"project_name": name, "metadata": {"public": _flag(public)}}
        self._send(
            "POST",
            "/projects",
            json=body,
            overrides={409: (Conflict, f"Harbor at {self.where} already has a project named {name!r}.")},
        )
        return self._get_space(name)

    def set_space_visibility(self, name: str, public: bool) -> None:
        self._send(
            "PUT",
            f"/projects/{_segment(name)}",
            json={"metadata": {"public": _flag(public)}},
            by_name=True,
            overrides=self._missing_project(name),
        )

    def delete_space(self, name: str) -> None:
        overrides = self._missing_project(name)
        overrides[412] = (
            Conflict,
            f"Harbor project {name!r} cannot be deleted while it still holds repositories "
            "(or has pending tasks); delete them in Harbor first.",
        )
        self._send("DELETE", f"/projects/{_segment(name)}", by_name=True, overrides=overrides)

    # -- image details, scans and deletion -----------------------------------------------

    def image_layers(self, repository: str, digest: str) -> tuple[PlatformLayers, ...]:
        """Harbor serves the registry API (v2) with its own token service, which accepts the
        same account: the manifests and configs are read there, as from any registry."""
        from registries.kinds.distribution.client import DistributionClient

        with DistributionClient(self.connection) as registry:
            try:
                return registry.image_layers(repository, digest)
            finally:
                self.request_count += registry.request_count

    def scan_overview(self, repository: str, digest: str) -> ScanOverview:
        response = self._send(
            "GET",
            self._artifact_path(repository, digest),
            params={"with_scan_overview": "true", "with_tag": "false"},
            by_name=True,
            overrides=self._missing_artifact(repository, digest),
        )
        artifact = self._json(response, dict, f"artifact {repository}@{digest}")
        return _scan_overview(artifact.get("scan_overview"))

    def scan(self, repository: str, digest: str) -> None:
        overrides = self._missing_artifact(repository, digest)
        overrides[422] = (BadAnswer, f"Harbor cannot scan {repository}@{digest}.")
        self._send(
            "POST",
            f"{self._artifact_path(repository, digest)}/scan",
            json={},
            by_name=True,
            overrides=overrides,
        )

    def delete_tag(self, repository: str, tag: str, digest: str) -> None:
        self._send(
            "DELETE",
            f"{self._artifact_path(repository, digest)}/tags/{_segment(tag)}",
            by_name=True,
            overrides={404: (NotFound, f"Harbor at {self.where} has no tag {repository}:{tag}.")},
        )

    def delete_artifact(self, repository: str, digest: str) -> None:
        self._send(
            "DELETE",
            self._artifact_path(repository, digest),
            by_name=True,
            overrides=self._missing_artifact(repository, digest),
        )

    def delete_repository(self, repository: str) -> None:
        project, rest = self._split_repository(repository)
        overrides = {
            404: (NotFound, f"Harbor at {self.where} has no repository {repository}."),
            412: (
                Conflict,
                f"Harbor keeps {repository}: it holds images protected by an immutable tag rule.",
            ),
        }
        self._send(
            "DELETE",
            f"/projects/{_segment(project)}/repositories/{_segment(_segment(rest))}",
            by_name=True,
            overrides=overrides,
        )

    def _split_repository(self, repository: str) -> tuple[str, str]:
        project, _, rest = repository.partition("/")
        if not project or not rest:
            raise NotFound(f"{repository!r} is not a Harbor repository name (expected project/repository).")
        return project, rest

    def _artifact_path(self, repository: str, reference: str) -> str:
        project, rest = self._split_repository(repository)
        return (
            f"/projects/{_segment(project)}/repositories/{_segment(_segment(rest))}"
            f"/artifacts/{_segment(reference)}"
        )

    def _missing_artifact(self, repository: str, digest: str) -> ErrorOverrides:
        return {404: (NotFound, f"Harbor at {self.where} has no artifact {repository}@{digest}.")}

    # -- robot accounts (pull credentials) -----------------------------------------------
    #
    # System-level robots with ``repository:pull`` on a list of projects, never expiring.
    # Harbor stores robot names without its (configurable) prefix and answers with it, so the
    # name a caller gets back is the one to log in with and to send back in an update.

    def create_robot(self, name: str, projects: Iterable[str], description: str = "") -> RobotInfo:
        """Create a robot that may pull from ``projects``; the answer carries its secret."""
        projects = sorted(set(projects))
        return self._create_robot(
            _robot_body(name, projects, description), projects, RobotInfo.pull_permissions(projects)
        )

    def create_login_robot(
        self, name: str, pull: Iterable[str], push: Iterable[str], description: str, days: int
    ) -> RobotInfo:
        """Create a robot expiring after ``days`` (Harbor counts whole days) that may pull from
        ``pull`` and pull and push into ``push``; the answer carries its secret."""
        permissions = RobotInfo.login_permissions(pull, push)
        projects = sorted({namespace for _kind, namespace, _r, _a in permissions})
        body = {
            "name": name,
            "description": description,
            "level": "system",
            "disable": False,
            "duration": int(days),
            "permissions": [
                {
                    "kind": "project",
                    "namespace": project,
                    "access": [
                        {"resource": resource, "action": action}
                        for _kind, namespace, resource, action in permissions
                        if namespace == project
                    ],
                }
                for project in projects
            ],
        }
        return self._create_robot(body, projects, permissions)

    def _create_robot(
        self, body: dict[str, Any], projects: list[str], permissions: tuple[tuple[str, str, str, str], ...]
    ) -> RobotInfo:
        name = body["name"]
        response = self._send(
            "POST",
            "/robots",
            json=body,
            overrides={
                409: (Conflict, f"Harbor at {self.where} already has a robot account named {name!r}."),
                404: (
                    NotFound,
                    f"Harbor at {self.where} has no project among {', '.join(projects)} "
                    "(the robot account was not created).",
                ),
            },
        )
        created = self._json(response, dict, "the created robot account")
        robot_id, full_name, secret = _int(created.get("id")), created.get("name"), created.get("secret")
        if robot_id is None or not isinstance(full_name, str) or not full_name:
            raise BadAnswer(
                f"Harbor at {self.where} created a robot account but did not say its id and name."
            )
        if not isinstance(secret, str) or not secret:
            raise BadAnswer(f"Harbor at {self.where} created robot account {full_name} without a secret.")
        return RobotInfo(
            id=robot_id,
            name=full_name,
            secret=secret,
            description=body["description"],
            duration=body["duration"],
            permissions=permissions,
        )

    def update_robot_projects(
        self, robot_id: int, name: str, projects: Iterable[str], description: str = ""
    ) -> None:
        """Replace the robot's permissions with pull on ``projects`` (and re-enable it).

        Harbor's update takes the whole robot: ``name`` must be the full name it answered with
        and the level cannot change.
        """
        projects = sorted(set(projects))
        body = {"id": int(robot_id), **_robot_body(name, projects, description)}
        self._send(
            "PUT",
            f"/robots/{int(robot_id)}",
            json=body,
            overrides={
                404: (
                    NotFound,
                    f"Harbor at {self.where} has no robot account {robot_id} or no project among "
                    f"{', '.join(projects)}.",
                )
            },
        )

    def delete_robot(self, robot_id: int) -> None:
        """Delete the robot; one that is already gone is fine."""
        response = self._request("DELETE", f"/robots/{int(robot_id)}")
        if response.is_success or response.status_code == 404:
            return
        raise self._error(response=response)

    def get_robot(self, robot_id: int) -> RobotInfo | None:
        """The robot with its permissions (drift detection), or None if Harbor has none."""
        response = self._request("GET", f"/robots/{int(robot_id)}")
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise self._error(response=response)
        return self._robot(self._json(response, dict, f"robot account {robot_id}"))

    def iter_robots(self, query: str = "") -> Iterator[RobotInfo]:
        """Robot accounts, filtered with Harbor's ``q`` syntax (``name=x``, ``name=~x``)."""
        self._ensure_authenticated()
        params = {"q": query} if query else None
        for robot in self._pages("/robots", params=params, what="the robot account list"):
            yield self._robot(robot)

    def refresh_robot_secret(self, robot_id: int) -> str:
        """Have Harbor generate a new secret for the robot and return it."""
        response = self._send(
            "PATCH",
            f"/robots/{int(robot_id)}",
            json={},
            overrides={404: (NotFound, f"Harbor at {self.where} has no robot account {robot_id}.")},
        )
        secret = self._json(response, dict, "the refreshed robot secret").get("secret")
        if not isinstance(secret, str) or not secret:
            raise BadAnswer(
                f"Harbor at {self.where} refreshed robot account {robot_id} without a new secret."
            )
        return secret

    def _robot(self, robot: dict[str, Any]) -> RobotInfo:
        robot_id, name = _int(robot.get("id")), robot.get("name")
        if robot_id is None or not isinstance(name, str) or not name:
            raise BadAnswer(f"Harbor at {self.where} sent a robot account without an id or name.")
        permissions: set[tuple[str, str, str, str]] = set()
        for permission in _list(robot.get("permissions")):
            if not isinstance(permission, dict):
                continue
            kind, namespace = permission.get("kind"), permission.get("namespace")
            for access in _list(permission.get("access")):
                if not isinstance(access, dict) or access.get("effect") == "deny":
                    continue
                permissions.add(
                    (
                        _text(kind),
                        _text(namespace),
                        _text(access.get("resource")),
                        _text(access.get("action")),
                    )
                )
        description, level = robot.get("description"), robot.get("level")
        duration = robot.get("duration")
        return RobotInfo(
            id=robot_id,
            name=name,
            description=description if isinstance(description, str) else "",
            level=level if isinstance(level, str) else "",
            disabled=robot.get("disable") is True,
            duration=duration if isinstance(duration, int) and not isinstance(duration, bool) else None,
            permissions=tuple(sorted(permissions)),
        )

    # -- Harbor specifics ----------------------------------------------------------------

    def _ping(self) -> None:
        response = self._request("GET", "/ping")
        status = response.status_code
        # These say something about the server or the account, not about being Harbor.
        if status in (401, 403, 429) or 300 <= status < 400 or status >= 500:
            raise self._error(response=response)
        text = response.text.strip().strip('"') if status == 200 else ""
        if text == "Pong":
            return
        if status == 200:
            content_type = response.headers.get("Content-Type", "no content type")
            answer = f'answered {content_type.split(";")[0]} instead of "Pong"'
        else:
            answer = f"answered HTTP {status}"
        hint = ""
        if "HTTPS server" in response.text:
            hint = "; it expects https://"
        raise BadAnswer(f"{self.where} does not look like a Harbor registry (GET {API}/ping {answer}{hint}).")

    def _current_user(self) -> dict[str, Any] | None:
        """The account's profile; None for robot accounts (Harbor answers them 412)."""
        if not self.connection.username:
            return None
        response = self._request("GET", "/users/current")
        if response.status_code == 412:
            self._authenticated = True
            return None
        if not response.is_success:
            raise self._error(response=response)
        self._authenticated = True
        return self._json(response, dict, "the current user")

    def _ensure_authenticated(self) -> None:
        # Harbor serves bad credentials as anonymous; see the module docstring.
        if self.connection.username and not self._authenticated:
            self._current_user()

    def _get_space(self, name: str) -> SpaceInfo:
        response = self._send(
            "GET",
            f"/projects/{_segment(name)}",
            by_name=True,
            overrides=self._missing_project(name),
        )
        return self._space(self._json(response, dict, f"project {name!r}"))

    def _missing_project(self, name: str) -> ErrorOverrides:
        return {404: (NotFound, f"Harbor at {self.where} has no project named {name!r}.")}

    def _space(self, project: Any) -> SpaceInfo:
        name = project.get("name") if isinstance(project, dict) else None
        if not isinstance(name, str) or not name:
            raise BadAnswer(f"Harbor at {self.where} listed a project without a name.")
        metadata = project.get("metadata") if isinstance(project.get("metadata"), dict) else {}
        project_id = project.get("project_id")
        return SpaceInfo(
            name=name,
            public=_truthy(metadata.get("public")),
            upstream_id=str(project_id) if project_id is not None else "",
            repository_count=_int(project.get("repo_count")),
            created=_time(project.get("creation_time")),
        )

    def _repository(self, repository: Any, space: str | None) -> RepositoryInfo:
        name = repository.get("name") if isinstance(repository, dict) else None
        if not isinstance(name, str) or not name:
            raise BadAnswer(f"Harbor at {self.where} listed a repository without a name.")
        if space is None:
            space = name.partition("/")[0]
        elif not name.startswith(f"{space}/"):
            name = f"{space}/{name}"
        description = repository.get("description")
        return RepositoryInfo(
            space=space,
            name=name,
            description=description if isinstance(description, str) else "",
            tag_count=_int(repository.get("artifact_count")),
            pull_count=_int(repository.get("pull_count")),
            created=_time(repository.get("creation_time")),
            updated=_time(repository.get("update_time")),
        )

    # -- HTTP ----------------------------------------------------------------------------

    def _pages(
        self,
        path: str,
        *,
        params: dict[str, str] | None = None,
        by_name: bool = False,
        what: str,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing, one page in memory at a time.

        Harbor's ``Link`` header says where the next page is; when a proxy strips it,
        ``X-Total-Count`` says whether there is one.
        """
        url = httpx.URL(self._api(path))
        query = {**(params or {}), "page": "1", "page_size": str(PAGE_SIZE)}
        seen_pages: set[str] = set()
        seen_items = 0
        while True:
            response = self._send("GET", url, params=query, by_name=by_name)
            seen_pages.add(str(response.request.url))
            items = self._json(response, list, what)
            for item in items:
                if not isinstance(item, dict):
                    raise BadAnswer(f"Harbor at {self.where} sent {what} with a malformed entry.")
                yield item
            seen_items += len(items)
            next_link = response.links.get("next", {}).get("url")
            if next_link:
                if not items:
                    raise BadAnswer(
                        f"Harbor at {self.where} sent an empty page of {what} that links to another one."
                    )
                url, query = self._next_page(response, next_link, what)
                if str(url.copy_merge_params(query)) in seen_pages:
                    raise BadAnswer(f"Harbor at {self.where} paginates {what} in a loop.")
                continue
            total = _int(response.headers.get("X-Total-Count"))
            if "Link" in response.headers or total is None or not items or seen_items >= total:
                return
            query = {**query, "page": str(int(query["page"]) + 1)}

    def _next_page(self, response: httpx.Response, link: str, what: str) -> tuple[httpx.URL, dict[str, str]]:
        current = response.request.url
        target = current.join(link)
        # Credentials go with every request: never follow a link to another server.
        origin = (current.scheme, current.host, current.port)
        if (target.scheme, target.host, target.port) != origin:
            raise BadAnswer(f"Harbor at {self.where} pointed the next page of {what} at another server.")
        query = dict(target.params)
        page_size = _int(query.get("page_size"))
        query["page_size"] = str(min(page_size or PAGE_SIZE, PAGE_SIZE))
        return target.copy_with(query=None), query

    def _api(self, path: str) -> str:
        return f"{self._root}{API}{path}"

    def _client(self) -> httpx.Client:
        if self._http is None:
            try:
                verify = self.connection.ssl_verify()
            except (ssl.SSLError, ValueError) as exc:
                raise TLSFailure(
                    f"The CA bundle given for {self.where} could not be read ({reason_of(exc)}); "
                    "paste the PEM certificate(s) of the CA that signed Harbor's certificate."
                ) from exc
            auth = None
            if self.connection.username:
                auth = httpx.BasicAuth(self.connection.username, self.connection.password)
            self._http = httpx.Client(
                auth=auth,
                # The address policy and the deadline hold for every connection (transport.py).
                transport=GuardedTransport(self.connection, verify=verify),
                timeout=self.connection.timeout,
                cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
                follow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": "wharf"},
            )
        return self._http

    def _request(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        by_name: bool = False,
    ) -> httpx.Response:
        """Send one request; transport failures become RegistryErrors, statuses are kept."""
        url = self._api(path_or_url) if isinstance(path_or_url, str) else path_or_url
        headers = {"X-Is-Resource-Name": "true"} if by_name else None
        self.request_count += 1
        try:
            return self._client().request(method, url, params=params, json=json, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._error(exc=exc) from exc

    def _send(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        by_name: bool = False,
        overrides: ErrorOverrides | None = None,
    ) -> httpx.Response:
        """Send one request and raise a RegistryError unless Harbor answered 2xx."""
        response = self._request(method, path_or_url, params=params, json=json, by_name=by_name)
        if response.is_success:
            return response
        raise self._error(response=response, overrides=overrides)

    def _json[T](self, response: httpx.Response, shape: type[T], what: str) -> T:
        try:
            data = response.json()
        except ValueError:
            data = _UNPARSEABLE
        if isinstance(data, shape):
            return data
        content_type = response.headers.get("Content-Type", "no content type").split(";")[0]
        problem = "that is not JSON" if data is _UNPARSEABLE else "of an unexpected shape"
        raise BadAnswer(f"Harbor at {self.where} sent {what} in an answer {problem} ({content_type}).")

    def _error(
        self,
        *,
        exc: Exception | None = None,
        response: httpx.Response | None = None,
        overrides: ErrorOverrides | None = None,
    ) -> RegistryError:
        """The one place where transport failures and HTTP statuses become RegistryErrors."""
        error = (
            self._transport_error(exc) if response is None else self._status_error(response, overrides or {})
        )
        password = self.connection.password
        if len(password) >= MIN_SCRUBBED_PASSWORD and password in error.message:
            error = type(error)(error.message.replace(password, "***"))
        return error

    def _transport_error(self, exc: Exception | None) -> RegistryError:
        where = self.where
        if error := deadline_timeout(isinstance(exc, httpx.TimeoutException), self.connection, where, "."):
            return error
        if isinstance(exc, httpx.TimeoutException):
            return RegistryTimeout(f"{where} did not answer within {self.connection.timeout:g} seconds.")
        tls_error = find_cause(exc, ssl.SSLError)
        if tls_error is not None:
            reason = reason_of(tls_error)
            if isinstance(tls_error, ssl.SSLCertVerificationError):
                return TLSFailure(
                    f"The TLS certificate of {where} is not trusted ({reason}). If Harbor uses "
                    "a private CA, add that CA bundle to the registry settings."
                )
            return TLSFailure(
                f"TLS with {where} failed ({reason}). Check that the URL's scheme is right "
                "(http or https) and, if Harbor uses a private CA, add that CA bundle."
            )
        if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
            return Unreachable(f"{where} is not an http:// or https:// URL.")
        if isinstance(exc, httpx.RemoteProtocolError):
            return BadAnswer(f"{where} did not answer with valid HTTP ({reason_of(exc)}).")
        if isinstance(exc, httpx.TooManyRedirects | httpx.DecodingError):
            return BadAnswer(f"{where} sent an answer that could not be read ({reason_of(exc)}).")
        return Unreachable(f"Cannot connect to {where} ({reason_of(exc)}).")

    def _status_error(self, response: httpx.Response, overrides: ErrorOverrides) -> RegistryError:
        status = response.status_code
        detail = errors_text(response)
        said = f" Harbor said: {detail}" if detail else ""
        if status in overrides:
            kind, message = overrides[status]
            return kind(message + said)
        where = f"Harbor at {self.where}"
        request = f"{response.request.method} {response.request.url.path}"
        if status == 401:
            return AuthenticationFailed(
                f"{where} did not accept the user name and password (HTTP 401).{said}"
            )
        if status == 403:
            return Forbidden(f"{where} does not allow this account to {request} (HTTP 403).{said}")
        if status == 404:
            return NotFound(f"{where} has nothing at {request} (HTTP 404).{said}")
        if status in (409, 412):
            return Conflict(f"{where} refused {request} (HTTP {status}).{said}")
        if status == 429:
            retry = response.headers.get("Retry-After", "")
            later = f"; retry after {retry} seconds" if retry.isdigit() else ""
            return RateLimited(f"{where} is limiting the rate of requests (HTTP 429){later}.")
        if 300 <= status < 400:
            location = response.headers.get("Location", "elsewhere")
            return BadAnswer(
                f"{self.where} redirected {request} to {location}: use the URL Harbor is served at."
            )
        if status >= 500:
            phrase = f" {response.reason_phrase}" if response.reason_phrase else ""
            return BadAnswer(f"{where} failed on {request} with HTTP {status}{phrase}.{said}")
        return BadAnswer(f"{where} rejected {request} with HTTP {status}.{said}")


_UNPARSEABLE = object()


def _display_url(url: str) -> str:
    """The registry URL as shown in messages: scheme, host, port and path, never userinfo."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError):
        return "the registry"
    if not parsed.host:
        return repr(url.split("@")[-1])
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path.rstrip('/')}"


def _robot_body(name: str, projects: list[str], description: str) -> dict[str, Any]:
    """A system-level, never-expiring, enabled robot with pull on ``projects``."""
    resource, action = PULL_ACCESS
    return {
        "name": name,
        "description": description,
        "level": "system",
        "disable": False,
        "duration": -1,
        "permissions": [
            {"kind": "project", "namespace": project, "access": [{"resource": resource, "action": action}]}
            for project in projects
        ],
    }


def _segment(value: str) -> str:
    return quote(value, safe="")


def _flag(value: bool) -> str:
    # Harbor's project metadata values are strings, never JSON booleans.
    return "true" if value else "false"


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text(value: Any) -> str:
    return str(value) if value is not None else ""


def _object(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    # Harbor sends null, not [], for empty lists.
    return value if isinstance(value, list) else []


def _time(value: Any) -> datetime | None:
    """Harbor's RFC 3339 times; Go's zero time (year 1) means "never"."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.year <= 1:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _platforms(artifact: dict[str, Any]) -> tuple[str, ...]:
    """``os/arch[/variant]`` of an image, or of each image of an index."""
    found: list[str] = []
    references = _list(artifact.get("references"))
    if references:
        sources = [ref.get("platform") for ref in references if isinstance(ref, dict)]
    else:
        sources = [artifact.get("extra_attrs")]
    for source in sources:
        platform = _platform(source)
        if platform and platform not in found:
            found.append(platform)
    return tuple(found)


def _platform(attrs: Any) -> str:
    if not isinstance(attrs, dict):
        return ""
    os_name, arch = attrs.get("os"), attrs.get("architecture")
    # BuildKit lists its attestation manifests in indexes as unknown/unknown.
    if not isinstance(os_name, str) or not isinstance(arch, str) or not os_name or not arch:
        return ""
    if "unknown" in (os_name, arch):
        return ""
    variant = attrs.get("variant")
    parts = [os_name, arch] + ([variant] if isinstance(variant, str) and variant else [])
    return "/".join(parts)


# Harbor's scan_status values, and the state its portal shows for each.
_SCAN_STATES = {
    "Pending": SCAN_QUEUED,
    "Scheduled": SCAN_QUEUED,
    "Running": SCAN_SCANNING,
    "Error": SCAN_ERROR,
    "Stopped": SCAN_ERROR,
    "Success": SCAN_COMPLETE,
}


def _scan_overview(overview: Any) -> ScanOverview:
    """The first report of ``scan_overview`` (keyed by the report's MIME type)."""
    report = (
        next((value for value in overview.values() if isinstance(value, dict)), None)
        if isinstance(overview, dict)
        else None
    )
    if report is None:
        return ScanOverview(status=SCAN_NOT_SCANNED)
    summary = _object(report.get("summary"))
    by_severity = _object(summary.get("summary"))
    counts = tuple((severity, _int(by_severity.get(severity)) or 0) for severity in SEVERITIES)
    scanner = _object(report.get("scanner"))
    name = " ".join(str(scanner.get(key)) for key in ("name", "version") if scanner.get(key))
    severity = report.get("severity")
    return ScanOverview(
        status=_SCAN_STATES.get(str(report.get("scan_status")), SCAN_ERROR),
        severity=severity if isinstance(severity, str) else "",
        counts=counts,
        total=_int(summary.get("total")) or 0,
        fixable=_int(summary.get("fixable")) or 0,
        scanner=name,
        finished=_time(report.get("end_time")),
        percent=_int(report.get("complete_percent")),
    )
