"""Client for a plain Docker Registry v2 / OCI distribution registry.

Distribution has no projects, no visibility and no users of its own: a "space" is the first
path segment of repository names (see ``space_of``), and everything Wharf knows beyond names,
tags and manifests it keeps itself. Authentication follows whatever the registry asks for in
its ``WWW-Authenticate`` challenge (Basic, or Bearer tokens from any token server).

Plain Python + httpx on purpose (no Django imports), like every client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from registries.clients.base import (
    DIGEST,
    REPOSITORY_NAME,
    TAG_NAME,
    AddressRefused,
    AuthenticationFailed,
    BadAnswer,
    CheckResult,
    Connection,
    Forbidden,
    LayerInfo,
    NotFound,
    PlatformLayers,
    RateLimited,
    RegistryClient,
    RegistryError,
    RegistryTimeout,
    RepositoryInfo,
    RobotInfo,
    SpaceInfo,
    TagInfo,
    TLSFailure,
    Unreachable,
    Unsupported,
    deadline_timeout,
    find_cause,
    plain_reason,
    reason_of,
    space_of,
)
from registries.clients.transport import GuardedTransport

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
IMAGE_CONFIG_TYPES = frozenset(
    {"application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json"}
)
API_VERSION_HEADER = "Docker-Distribution-API-Version"

# Image configs are a few KB; anything bigger is an artifact's config we have no use for, and
# downloading it for every tag would make sync slow.
MAX_CONFIG_BYTES = 1024 * 1024
# Tokens are renewed this many seconds before they expire so a slow request still carries a
# valid one. The spec's default lifetime is 60 s.
TOKEN_MARGIN = 10
DEFAULT_TOKEN_LIFETIME = 60
CATALOG_SCOPE = "registry:catalog:*"
# A registry behind a proxy and object storage needs two or three; more is a loop.
MAX_REDIRECTS = 5

_CHALLENGE_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


class DistributionClient(RegistryClient):
    kind = "distribution"

    def __init__(self, connection: Connection, *, page_size: int = 100):
        super().__init__(connection)
        self.page_size = page_size
        base = httpx.URL(connection.url.rstrip("/"))
        # Never userinfo in a URL: credentials travel only in Authorization headers.
        self._base = base.copy_with(username=None, password=None)
        self._where = f"The registry at {_host_port(self._base)}"
        self._http = httpx.Client(
            # Every connection, redirects and token servers included, goes through the address
            # policy and the deadline (see transport.py).
            transport=GuardedTransport(connection, verify=connection.ssl_verify()),
            timeout=connection.timeout,
            # Blob downloads may be redirected to object storage; httpx drops Authorization
            # when a redirect leaves the origin, and the transport checks each hop's address.
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            headers={"User-Agent": "wharf"},
            event_hooks={"request": [self._count_request]},
        )
        # Learnt from WWW-Authenticate challenges: "basic" or "bearer", and the token server.
        self._scheme = ""
        self._realm = ""
        self._service = ""
        self._tokens: dict[str, tuple[str, float]] = {}

    def close(self) -> None:
        self._http.close()

    def _count_request(self, request: httpx.Request) -> None:
        self.request_count += 1

    # -- interface -----------------------------------------------------------------------

    def check(self, require_admin: bool = False) -> CheckResult:
        """Prove this is a registry, the credentials work and the catalog can be listed.

        Distribution has no administrators, so ``require_admin`` asks nothing more: reading the
        catalog is all Wharf ever needs, and it is checked here because a registry that hides
        its catalog (Docker Hub does) answers /v2/ happily but can never be synced.
        """
        response = self._request("/v2/", scope="", accept_statuses=(401, 404))
        version = response.headers.get(API_VERSION_HEADER, "")
        challenged = _parse_challenge(response.headers.get("WWW-Authenticate", "")) is not None
        looks_right = version.startswith("registry/2") or (
            challenged if response.status_code == 401 else _is_json_object(response)
        )
        if not looks_right or response.status_code == 404:
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise BadAnswer(
                f"{self._where} does not look like a Docker registry "
                f"(/v2/ answered HTTP {response.status_code} with {kind}"
                f"{'' if version else f' and no {API_VERSION_HEADER} header'})"
            )
        if response.status_code == 401:
            raise self._error(response, "/v2/")
        self._request("/v2/_catalog", params={"n": 1}, scope=CATALOG_SCOPE, what="the catalog")
        return CheckResult(version=version or "registry/2.0", username=self.connection.username)

    def iter_spaces(self) -> Iterator[SpaceInfo]:
        """One space per first path segment, counted over the whole catalog.

        Only a count per space is kept, never the repository names. Spaces are yielded once the
        walk is complete: names of one space are contiguous in a sorted catalog, but names
        without ``/`` (space ``library``) are spread all over it, and not every registry sorts.
        """
        counts: dict[str, int] = {}
        for name in self._walk_catalog():
            space = space_of(name)
            counts[space] = counts.get(space, 0) + 1
        for space in sorted(counts):
            yield SpaceInfo(name=space, public=True, repository_count=counts[space])

    def iter_repositories(self, space: str | None = None) -> Iterator[RepositoryInfo]:
        """Repositories from the catalog; the registry cannot filter, so one space walks it all.

        Syncing a whole registry should call this once with ``space=None``. Tag counts are left
        empty: they cost a request per repository and sync reads the tags anyway.
        """
        for name in self._walk_catalog():
            name_space = space_of(name)
            if space is None or name_space == space:
                yield RepositoryInfo(space=name_space, name=name)

    def iter_tags(self, repository: str) -> Iterator[TagInfo]:
        if not REPOSITORY_NAME.fullmatch(repository):
            raise NotFound(f"{repository!r} is not a valid repository name")
        scope = f"repository:{repository}:pull"
        # Tags often alias one image (latest == 1.2): describe each manifest once per call.
        described: dict[str, tuple[int | None, datetime | None, tuple[str, ...]]] = {}
        for tag in self._walk_tags(repository, scope):
            response = self._request(
                f"/v2/{repository}/manifests/{tag}",
                scope=scope,
                headers={"Accept": MANIFEST_ACCEPT},
                what=f"tag {repository}:{tag}",
                accept_statuses=(404,),
            )
            if response.status_code == 404:
                # Deleted between the tag list and now: the next sync will not list it either.
                continue
            digest = response.headers.get("Docker-Content-Digest") or (
                "sha256:" + hashlib.sha256(response.content).hexdigest()
            )
            if digest not in described:
                manifest = _json_object(response, f"{self._where} sent a manifest that")
                described[digest] = self._describe(repository, scope, manifest, response)
            size, pushed, platforms = described[digest]
            yield TagInfo(name=tag, digest=digest, size=size, pushed=pushed, platforms=platforms)

    def create_space(self, name: str, public: bool) -> SpaceInfo:
        """Nothing to create upstream: a distribution space exists once something is pushed
        into it, so Wharf only records it (the caller does that)."""
        return SpaceInfo(name=name, public=public)

    def set_space_visibility(self, name: str, public: bool) -> None:
        """Distribution has no visibility; Wharf's own setting is what its token service uses."""

    def delete_space(self, name: str) -> None:
        """Nothing to delete upstream: the space is only a name prefix. Deleting its images is
        not what removing a space from Wharf means."""

    # -- robot accounts: Harbor only ------------------------------------------------------
    # A Docker Registry has no accounts of its own; with Wharf's token service, Wharf mints and
    # checks the workspaces' pull credentials itself (registries.tokens).

    def _no_robots(self) -> Unsupported:
        return Unsupported(
            "A Docker Registry has no robot accounts; Wharf's token service issues its pull credentials."
        )

    def create_robot(self, name: str, projects: Iterable[str], description: str = "") -> RobotInfo:
        raise self._no_robots()

    def update_robot_projects(
        self, robot_id: int, name: str, projects: Iterable[str], description: str = ""
    ) -> None:
        raise self._no_robots()

    def delete_robot(self, robot_id: int) -> None:
        raise self._no_robots()

    def get_robot(self, robot_id: int) -> RobotInfo | None:
        raise self._no_robots()

    def iter_robots(self, query: str = "") -> Iterator[RobotInfo]:
        raise self._no_robots()

    def refresh_robot_secret(self, robot_id: int) -> str:
        raise self._no_robots()

    # -- image details and deletion ------------------------------------------------------

    def image_layers(self, repository: str, digest: str) -> tuple[PlatformLayers, ...]:
        self._check_names(repository, digest)
        scope = f"repository:{repository}:pull"
        manifest = self._manifest(repository, scope, digest)
        if "manifests" in manifest:
            found = []
            for entry in manifest.get("manifests") or []:
                if not isinstance(entry, dict):
                    continue
                platform = _platform(entry.get("platform") or {})
                child = entry.get("digest")
                if not platform or not isinstance(child, str) or not DIGEST.fullmatch(child):
                    continue
                found.append(
                    self._platform_layers(
                        repository, scope, child, self._manifest(repository, scope, child), platform
                    )
                )
            return tuple(found)
        return (self._platform_layers(repository, scope, digest, manifest, ""),)

    def delete_artifact(self, repository: str, digest: str) -> None:
        self._check_names(repository, digest)
        self._delete_manifest(repository, digest)

    def delete_tag(self, repository: str, tag: str, digest: str) -> None:
        """Distribution 2.x cannot delete a tag, only a manifest (with every tag on it). So the
        tag is moved onto a tiny placeholder manifest of its own, which is then deleted: the tag
        goes, and the image it named stays for its other tags and its digest.

        Deletion is proven enabled first (deleting a manifest that does not exist answers 404,
        not 405), and should the placeholder's deletion still fail, the tag is put back on the
        manifest it named, byte for byte.
        """
        if not REPOSITORY_NAME.fullmatch(repository) or not TAG_NAME.fullmatch(tag):
            raise NotFound(f"{repository}:{tag} is not a valid image reference")
        self._delete_manifest(repository, "sha256:" + "0" * 64, missing_ok=True)
        scope = f"repository:{repository}:pull,push,delete"
        original = self._request(
            f"/v2/{repository}/manifests/{tag}",
            scope=scope,
            headers={"Accept": MANIFEST_ACCEPT},
            what=f"tag {repository}:{tag}",
        )
        placeholder = self._push_placeholder(repository, tag, scope)
        try:
            self._delete_manifest(repository, placeholder)
        except RegistryError:
            media_type = original.headers.get("Content-Type", OCI_MANIFEST).split(";")[0]
            self._request(
                f"/v2/{repository}/manifests/{tag}",
                scope=scope,
                method="PUT",
                content=original.content,
                headers={"Content-Type": media_type},
                what=f"tag {repository}:{tag}",
            )
            raise

    def _push_placeholder(self, repository: str, tag: str, scope: str) -> str:
        """Point ``tag`` at a new, empty image of its own; answers that image's digest."""
        config = json.dumps({"wharf": "deleted tag", "tag": tag, "at": time.time()}).encode()
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        start = self._request(
            f"/v2/{repository}/blobs/uploads/", scope=scope, method="POST", what=f"an upload to {repository}"
        )
        location = start.headers.get("Location", "")
        if not location:
            raise BadAnswer(f"{self._where} started an upload without saying where to send it")
        # The upload's own query (its state) stays: httpx would replace it with ``params``.
        target = str(
            httpx.URL(self._same_origin(urljoin(str(start.url), location))).copy_add_param(
                "digest", config_digest
            )
        )
        self._request(
            target,
            scope=scope,
            method="PUT",
            content=config,
            headers={"Content-Type": "application/octet-stream"},
            what=f"an upload to {repository}",
        )
        placeholder = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config_digest,
                    "size": len(config),
                },
                "layers": [],
            }
        ).encode()
        self._request(
            f"/v2/{repository}/manifests/{tag}",
            scope=scope,
            method="PUT",
            content=placeholder,
            headers={"Content-Type": OCI_MANIFEST},
            what=f"tag {repository}:{tag}",
        )
        return "sha256:" + hashlib.sha256(placeholder).hexdigest()

    def delete_repository(self, repository: str) -> None:
        """Distribution has no repository deletion: every manifest a tag names is deleted."""
        if not REPOSITORY_NAME.fullmatch(repository):
            raise NotFound(f"{repository!r} is not a valid repository name")
        digests = {tag.digest for tag in self.iter_tags(repository)}
        for digest in sorted(digests):
            self._delete_manifest(repository, digest, missing_ok=True)

    def _check_names(self, repository: str, digest: str) -> None:
        if not REPOSITORY_NAME.fullmatch(repository) or not DIGEST.fullmatch(digest):
            raise NotFound(f"{repository}@{digest} is not a valid image reference")

    def _delete_manifest(self, repository: str, digest: str, missing_ok: bool = False) -> None:
        response = self._request(
            f"/v2/{repository}/manifests/{digest}",
            scope=f"repository:{repository}:delete",
            method="DELETE",
            what=f"manifest {digest} of {repository}",
            accept_statuses=(404, 405),
        )
        if response.status_code == 405:
            raise Unsupported(
                f"{self._where} does not allow deleting images (deletion is not enabled: "
                "REGISTRY_STORAGE_DELETE_ENABLED)"
            )
        if response.status_code == 404 and not missing_ok:
            raise NotFound(f"{self._where} has no manifest {digest} in {repository}")

    def _manifest(self, repository: str, scope: str, digest: str) -> dict[str, Any]:
        response = self._request(
            f"/v2/{repository}/manifests/{digest}",
            scope=scope,
            headers={"Accept": MANIFEST_ACCEPT},
            what=f"manifest {digest} of {repository}",
        )
        return _json_object(response, f"{self._where} sent a manifest that")

    def _platform_layers(
        self, repository: str, scope: str, digest: str, manifest: dict[str, Any], platform: str
    ) -> PlatformLayers:
        config = manifest.get("config") or {}
        details = self._read_config(repository, scope, config) if isinstance(config, dict) else None
        details = details or {}
        platform = platform or _platform(details)
        # The history has one line per build step; steps that made no layer are marked.
        history = [
            entry
            for entry in details.get("history") or []
            if isinstance(entry, dict) and not entry.get("empty_layer")
        ]
        layers = []
        for position, layer in enumerate(manifest.get("layers") or []):
            if not isinstance(layer, dict):
                continue
            size = layer.get("size")
            created_by = history[position].get("created_by") if position < len(history) else ""
            layers.append(
                LayerInfo(
                    digest=str(layer.get("digest") or ""),
                    media_type=str(layer.get("mediaType") or ""),
                    size=size if isinstance(size, int) and size >= 0 else None,
                    created_by=created_by if isinstance(created_by, str) else "",
                )
            )
        return PlatformLayers(platform=platform, digest=digest, layers=tuple(layers))

    # -- manifests -----------------------------------------------------------------------

    def _describe(
        self, repository: str, scope: str, manifest: dict[str, Any], response: httpx.Response
    ) -> tuple[int | None, datetime | None, tuple[str, ...]]:
        media_type = manifest.get("mediaType") or response.headers.get("Content-Type", "")
        media_type = media_type.split(";")[0].strip()
        if media_type in INDEX_TYPES or "manifests" in manifest:
            return self._describe_index(repository, scope, manifest)
        if media_type in IMAGE_TYPES or "layers" in manifest:
            return self._describe_image(repository, scope, manifest)
        # Schema 1 or something newer: the digest is still worth listing.
        return None, None, ()

    def _describe_image(
        self, repository: str, scope: str, manifest: dict[str, Any]
    ) -> tuple[int | None, datetime | None, tuple[str, ...]]:
        config = manifest.get("config") or {}
        size = _descriptor_sizes([config, *(manifest.get("layers") or [])])
        pushed: datetime | None = None
        platforms: tuple[str, ...] = ()
        details = self._read_config(repository, scope, config)
        if details:
            # Distribution records no push time; the image's build time is the nearest thing.
            pushed = _parse_time(details.get("created"))
            platform = _platform(details)
            platforms = (platform,) if platform else ()
        return size, pushed, platforms

    def _describe_index(
        self, repository: str, scope: str, index: dict[str, Any]
    ) -> tuple[int | None, datetime | None, tuple[str, ...]]:
        """Platforms come from the index itself. The size is the sum over the platforms' images,
        which needs one manifest request per platform: the index only gives the sizes of the
        child manifests' JSON, which would be a meaningless number next to single images.
        The time comes from the first platform's config (one more request, not one per child).
        """
        children = [
            entry
            for entry in index.get("manifests") or []
            if isinstance(entry, dict) and _platform(entry.get("platform") or {})
        ]
        platforms = tuple(dict.fromkeys(_platform(entry["platform"]) for entry in children))
        total: int | None = 0
        pushed = None
        for position, entry in enumerate(children):
            digest = entry.get("digest")
            if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
                total = None
                continue
            response = self._request(
                f"/v2/{repository}/manifests/{digest}",
                scope=scope,
                headers={"Accept": MANIFEST_ACCEPT},
                what=f"manifest {digest} of {repository}",
                accept_statuses=(404,),
            )
            if response.status_code == 404:
                total = None
                continue
            child = _json_object(response, f"{self._where} sent a manifest that")
            config = child.get("config") or {}
            child_size = _descriptor_sizes([config, *(child.get("layers") or [])])
            total = None if total is None or child_size is None else total + child_size
            if position == 0:
                details = self._read_config(repository, scope, config) or {}
                pushed = _parse_time(details.get("created"))
        return (total if children else None), pushed, platforms

    def _read_config(self, repository: str, scope: str, config: dict[str, Any]) -> dict[str, Any] | None:
        digest = config.get("digest", "")
        size = config.get("size")
        if (
            config.get("mediaType") not in IMAGE_CONFIG_TYPES
            or not isinstance(digest, str)
            or not digest.startswith("sha256:")
            or not isinstance(size, int)
            or size > MAX_CONFIG_BYTES
        ):
            return None
        response = self._request(
            f"/v2/{repository}/blobs/{digest}",
            scope=scope,
            what=f"image config of {repository}",
            accept_statuses=(404,),
        )
        if response.status_code == 404:
            return None
        return _json_object(response, f"{self._where} sent an image config that")

    # -- listing -------------------------------------------------------------------------

    def _walk_catalog(self) -> Iterator[str]:
        for page in self._pages("/v2/_catalog", CATALOG_SCOPE, "the catalog"):
            names = page.get("repositories")
            if names is None:
                continue
            if not isinstance(names, list):
                raise BadAnswer(f"{self._where} sent a catalog without a list of repositories")
            for name in names:
                # Anything outside the reference grammar could not be pulled anyway.
                if isinstance(name, str) and REPOSITORY_NAME.fullmatch(name):
                    yield name

    def _walk_tags(self, repository: str, scope: str) -> Iterator[str]:
        what = f"repository {repository}"
        for page in self._pages(f"/v2/{repository}/tags/list", scope, what):
            tags = page.get("tags")
            if tags is None:
                # An empty repository (every tag deleted) answers "tags": null.
                continue
            if not isinstance(tags, list):
                raise BadAnswer(f"{self._where} sent a tag list for {repository} that is no list")
            for tag in tags:
                if isinstance(tag, str) and TAG_NAME.fullmatch(tag):
                    yield tag

    def _pages(self, path: str, scope: str, what: str) -> Iterator[dict[str, Any]]:
        """Follow ``Link: <…>; rel="next"`` from page to page, one page in memory at a time."""
        url: str = path
        params: dict[str, Any] | None = {"n": self.page_size}
        while True:
            response = self._request(url, params=params, scope=scope, what=what)
            yield _json_object(response, f"{self._where} sent a page of {what} that")
            link = response.links.get("next", {}).get("url")
            if not link:
                return
            following = self._same_origin(urljoin(str(response.url), link))
            if following == str(response.url):
                raise BadAnswer(f"{self._where} sent a page of {what} that links to itself")
            url, params = following, None

    def _same_origin(self, url: str) -> str:
        """Keep following links on the configured host: a proxy may write its internal name into
        Link headers, and credentials must not go anywhere else."""
        target = httpx.URL(url)
        return str(self._base.copy_with(path=target.path, query=target.query or None))

    # -- HTTP and authentication ---------------------------------------------------------

    def _request(
        self,
        path: str,
        *,
        scope: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        what: str = "the request",
        accept_statuses: tuple[int, ...] = (),
        method: str = "GET",
        content: bytes | None = None,
    ) -> httpx.Response:
        """A request with whatever authentication the registry asked for; a 401 challenge is
        answered once, then the registry's verdict stands."""
        url = path if path.startswith(("http://", "https://")) else self._url(path)
        send_headers = dict(headers or {})
        authorization = self._authorization(scope)
        for attempt in (1, 2):
            if authorization:
                send_headers["Authorization"] = authorization
            response = self._get(
                url, params=params, headers=send_headers, where=self._where, method=method, content=content
            )
            if response.status_code != 401 or attempt == 2:
                break
            challenge = _parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge is None:
                break
            self._scheme, params_of_challenge = challenge
            # realm and service hold for the whole registry; the scope only for this request.
            self._realm = params_of_challenge.get("realm", "")
            self._service = params_of_challenge.get("service", "")
            authorization = self._authorization(
                scope, refresh=True, asked=params_of_challenge.get("scope", "")
            )
            if not authorization:
                break
        if response.is_success or response.status_code in accept_statuses:
            return response
        raise self._error(response, what)

    def _url(self, path: str) -> str:
        return str(self._base.copy_with(path=self._base.path.rstrip("/") + path))

    def _get(
        self,
        url: str,
        *,
        params: tuple[tuple[str, str], ...] | dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        where: str,
        method: str = "GET",
        content: bytes | None = None,
    ) -> httpx.Response:
        try:
            return self._http.request(method, url, params=params, headers=headers, content=content)
        except AddressRefused as refused:
            if refused.host and refused.host != _raw_host(httpx.URL(url)):
                raise AddressRefused(
                    f"{where} redirected to {refused.host}, which Wharf may not contact: {refused}",
                    host=refused.host,
                ) from None
            raise
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, where) from None

    def _authorization(self, scope: str, refresh: bool = False, asked: str = "") -> str:
        """The header for a request needing ``scope``, learnt from earlier challenges so that
        most requests need no 401 round trip; Bearer tokens are cached per scope."""
        if self._scheme == "basic":
            return _basic(self.connection) if self.connection.username else ""
        if self._scheme != "bearer":
            return ""
        token, expires = self._tokens.get(scope, ("", 0.0))
        if refresh or not token or time.monotonic() >= expires:
            token = self._fetch_token(scope, asked)
        return f"Bearer {token}"

    def _fetch_token(self, scope: str, asked: str = "") -> str:
        """Docker token spec: GET <realm>?service=&scope= with Basic credentials (if any).

        The realm is whatever the registry's challenge names, so it is an outbound target like
        any other: the transport refuses it unless its addresses pass the address policy, before
        anything (the password above all) is sent. And the credentials never travel less
        protected than the registry's own URL promises: an https registry's token server must be
        https too.
        """
        if urlsplit(self._realm).scheme not in ("http", "https"):
            raise BadAnswer(f"{self._where} names no usable token server in its challenge")
        realm = httpx.URL(self._realm).copy_with(username=None, password=None)
        where = f"The token server at {_host_port(realm)}"
        if self._base.scheme == "https" and realm.scheme != "https":
            raise BadAnswer(
                f"{self._where} names a token server over plain http ({_host_port(realm)}); "
                "Wharf sends the credentials of an https registry only over https"
            )
        params: list[tuple[str, str]] = []
        if self._service:
            params.append(("service", self._service))
        # What the registry asked for in its challenge wins: it knows what the request needs.
        for item in (asked or scope).split():
            params.append(("scope", item))
        headers = {}
        if self.connection.username:
            params.append(("account", self.connection.username))
            headers["Authorization"] = _basic(self.connection)
        try:
            response = self._get(str(realm), params=tuple(params), headers=headers, where=where)
        except AddressRefused as refused:
            if refused.host != _raw_host(realm):
                raise
            raise AddressRefused(
                f"{self._where} names a token server at {_host_port(realm)} that Wharf may not "
                f"contact: {refused}",
                host=refused.host,
            ) from None
        if response.status_code in (401, 403):
            raise self._error(response, "a token", where=where, detail=False)
        if not response.is_success:
            raise self._error(response, "a token", where=where)
        answer = _json_object(response, f"{where} sent a token answer that")
        token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise BadAnswer(f"{where} answered without a token")
        lifetime = answer.get("expires_in")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        margin = min(TOKEN_MARGIN, lifetime / 2)
        self._tokens[scope] = (token, time.monotonic() + lifetime - margin)
        return token

    # -- errors --------------------------------------------------------------------------

    def _transport_error(self, exc: httpx.HTTPError, where: str) -> RegistryError:
        timed_out = isinstance(exc, httpx.TimeoutException)
        if error := deadline_timeout(timed_out, self.connection, where):
            return error
        if isinstance(exc, httpx.TooManyRedirects):
            return BadAnswer(f"{where} redirected more than {MAX_REDIRECTS} times")
        if isinstance(exc, httpx.TimeoutException):
            seconds = f"{self.connection.timeout:g}"
            unit = "second" if seconds == "1" else "seconds"
            return RegistryTimeout(f"{where} did not answer within {seconds} {unit}")
        tls = find_cause(exc, ssl.SSLError)
        if tls is not None:
            return TLSFailure(self._scrub(f"TLS with {_lower(where)} failed: {reason_of(tls)}"))
        if isinstance(exc, httpx.ConnectError):
            return Unreachable(self._scrub(f"Cannot connect to {_lower(where)}: {plain_reason(exc)}"))
        if isinstance(exc, httpx.TransportError):
            return Unreachable(self._scrub(f"The connection to {_lower(where)} broke: {plain_reason(exc)}"))
        return BadAnswer(self._scrub(f"{where} could not be asked: {plain_reason(exc)}"))

    def _error(
        self, response: httpx.Response, what: str, where: str = "", detail: bool = True
    ) -> RegistryError:
        where = where or self._where
        status = response.status_code
        # A token server's error body is its own business (and might echo what it was sent).
        text = _error_detail(response) if detail else ""
        suffix = f" (HTTP {status}{': ' + text if text else ''})"
        challenge = _parse_challenge(response.headers.get("WWW-Authenticate", ""))
        user = self.connection.username
        who = f"user {user!r}" if user else "anyone"
        kind: type[RegistryError]
        if status == 401 and challenge and challenge[1].get("error") == "insufficient_scope":
            # The credentials are fine; the token server just granted less than was asked.
            kind, message = Forbidden, f"{where} does not let {who} read {what}"
        elif status == 401 and not user:
            kind, message = AuthenticationFailed, f"{where} asks for credentials and none are set"
        elif status == 401:
            kind, message = AuthenticationFailed, f"{where} refused the credentials of {who}"
        elif status == 403:
            kind, message = Forbidden, f"{where} does not let {who} read {what}"
        elif status == 404:
            kind, message = NotFound, f"{where} has no {what}"
        elif status == 429:
            retry = response.headers.get("Retry-After", "")
            later = f"in {retry} seconds" if retry.isdigit() else "later"
            kind, message = RateLimited, f"{where} is limiting requests; try again {later}"
        elif status >= 500:
            kind, message = BadAnswer, f"{where} failed while answering for {what}"
        else:
            kind, message = BadAnswer, f"{where} answered unexpectedly for {what}"
        return kind(self._scrub(message + suffix))

    def _scrub(self, message: str) -> str:
        """Last line of defence: whatever a server echoes back, the password is not shown."""
        password = self.connection.password
        return message.replace(password, "***") if password else message


# -- helpers ---------------------------------------------------------------------------------


def _parse_challenge(header: str) -> tuple[str, dict[str, str]] | None:
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in ("basic", "bearer"):
        return None
    params = {
        match.group(1).lower(): (
            match.group(2).replace('\\"', '"') if match.group(2) is not None else match.group(3)
        )
        for match in _CHALLENGE_PARAM.finditer(rest)
    }
    return scheme, params


def _basic(connection: Connection) -> str:
    pair = f"{connection.username}:{connection.password}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _host_port(url: httpx.URL) -> str:
    return f"{url.host}:{url.port}" if url.port else url.host


def _raw_host(url: httpx.URL) -> str:
    """The host as the transport sees it (IDNA-encoded, IPv6 without brackets)."""
    return url.raw_host.decode("ascii")


def _lower(where: str) -> str:
    return where[:1].lower() + where[1:]


def _error_detail(response: httpx.Response) -> str:
    """The registry's own words: ``{"errors": [{"code": …, "message": …}]}``."""
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = []
    for error in errors[:3]:
        if not isinstance(error, dict):
            continue
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
        parts.append(f"{code} {message}".strip() if code and code not in message else message)
    return "; ".join(part for part in parts if part)


def _is_json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


def _json_object(response: httpx.Response, subject: str) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        raise BadAnswer(f"{subject} is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadAnswer(f"{subject} is not a JSON object")
    return body


def _descriptor_sizes(descriptors: list[Any]) -> int | None:
    sizes = [item.get("size") for item in descriptors if isinstance(item, dict)]
    counted = [size for size in sizes if isinstance(size, int) and size >= 0]
    if not sizes or len(counted) != len(sizes):
        return None
    return sum(counted)


def _platform(details: dict[str, Any]) -> str:
    os_name, architecture = details.get("os"), details.get("architecture")
    if not isinstance(os_name, str) or not isinstance(architecture, str):
        return ""
    if "unknown" in (os_name, architecture):
        # BuildKit stores attestations as index entries with platform unknown/unknown.
        return ""
    variant = details.get("variant")
    parts = [os_name, architecture, variant if isinstance(variant, str) else ""]
    return "/".join(part for part in parts if part)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Images built "reproducibly" carry the epoch; that is no time anyone pushed anything.
    return None if parsed.year <= 1970 else parsed
