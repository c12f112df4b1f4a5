"""What every registry client offers, and the one error taxonomy they share.

Plain Python on purpose (no Django imports): the clients are tested and reused alone.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

import httpx

DEFAULT_TIMEOUT = 10.0
# A socket timeout fires a hair early or late; a deadline this close to its end counts as reached.
DEADLINE_SLACK = 0.05

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Asked before every connection, with the host name and each address it resolved to: a reason
# to refuse (shown to people), or None. The caller (Django side) decides what is internal.
AddressPolicy = Callable[[str, IPAddress], str | None]


@dataclass(frozen=True)
class Deadline:
    """One time limit for a whole operation: every DNS lookup, connection, request, redirect
    and token fetch made through the clients that share it.

    The per-call ``timeout`` cannot bound an operation: a server may answer each call just in
    time, redirect again and again, or send its answer a byte at a time.
    """

    seconds: float
    ends: float  # time.monotonic()

    @classmethod
    def start(cls, seconds: float) -> Deadline:
        return cls(seconds=float(seconds), ends=time.monotonic() + float(seconds))

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def reached(self) -> bool:
        return self.remaining() <= DEADLINE_SLACK


_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*")


def plain_reason(exc: BaseException) -> str:
    """An operating system's error in plain words, as people read it in a registry's status:
    "[Errno 111] Connection refused" becomes "connection refused"."""
    text = _ERRNO_PREFIX.sub("", str(exc)).strip() or type(exc).__name__
    return text[0].lower() + text[1:] if text[:1].isupper() and text[1:2].islower() else text


def find_cause[E: BaseException](exc: BaseException | None, kind: type[E]) -> E | None:
    """The ``kind`` error behind ``exc``: httpx wraps an ssl.SSLError twice (via httpcore)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def reason_of(exc: BaseException | None) -> str:
    """Why a connection failed, in plain words: a TLS error's verification message first."""
    if exc is None:
        return ""
    if isinstance(exc, ssl.SSLError):
        return getattr(exc, "verify_message", None) or exc.reason or str(exc)
    return plain_reason(exc)


# How much of a registry's own error text a message quotes.
MAX_DETAIL = 300


def errors_text(response: httpx.Response) -> str:
    """A registry's ``{"errors": [{"message"|"code"}]}`` texts (Harbor's REST API and
    Artifactory's), or a hint at what came instead of JSON."""
    try:
        body = response.json()
    except ValueError:
        return "(an HTML page)" if "html" in response.headers.get("Content-Type", "") else ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    messages = [
        str(item.get("message") or item.get("code"))
        for item in errors[:10]
        if isinstance(item, dict) and (item.get("message") or item.get("code"))
    ]
    text = "; ".join(messages).strip()
    return text[:MAX_DETAIL] + ("…" if len(text) > MAX_DETAIL else "")


def seconds_text(seconds: float) -> str:
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


@dataclass(frozen=True)
class Connection:
    """How to reach one registry. ``ca_pem`` is extra trust; ``verify_tls=False`` skips it all.

    ``address_policy`` (None: any address) is checked for every connection, redirects and token
    servers included, against the address the connection then goes to. ``deadline`` (None: no
    limit beyond ``timeout`` per call) bounds everything done with this connection.
    """

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    verify_tls: bool = True
    ca_pem: str = ""
    timeout: float = DEFAULT_TIMEOUT
    address_policy: AddressPolicy | None = field(default=None, repr=False, compare=False)
    deadline: Deadline | None = None

    def ssl_verify(self) -> ssl.SSLContext | bool:
        if not self.verify_tls:
            return False
        if self.ca_pem.strip():
            context = ssl.create_default_context()
            context.load_verify_locations(cadata=self.ca_pem)
            return context
        return True


@dataclass(frozen=True)
class CheckResult:
    version: str = ""
    is_admin: bool | None = None
    username: str = ""


@dataclass(frozen=True)
class SpaceInfo:
    name: str
    public: bool
    upstream_id: str = ""
    repository_count: int | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class RepositoryInfo:
    """``name`` is the full repository path inside the registry, space included."""

    space: str
    name: str
    description: str = ""
    tag_count: int | None = None
    pull_count: int | None = None
    created: datetime | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class TagInfo:
    name: str
    digest: str
    size: int | None = None
    pushed: datetime | None = None
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class LayerInfo:
    """One layer of an image; ``created_by`` is the config history's line for it, if any."""

    digest: str
    media_type: str
    size: int | None
    created_by: str = ""


@dataclass(frozen=True)
class PlatformLayers:
    """The layers of one image: a single-platform manifest, or one platform of an index."""

    platform: str
    digest: str
    layers: tuple[LayerInfo, ...]


# Scan states, as Harbor's portal names them.
SCAN_NOT_SCANNED = "not_scanned"
SCAN_QUEUED = "queued"
SCAN_SCANNING = "scanning"
SCAN_ERROR = "error"
SCAN_COMPLETE = "complete"
SEVERITIES = ("Critical", "High", "Medium", "Low", "Unknown")


@dataclass(frozen=True)
class ScanOverview:
    """A vulnerability scan's summary: ``counts`` holds (severity, count) in SEVERITIES order."""

    status: str
    severity: str = ""
    counts: tuple[tuple[str, int], ...] = ()
    total: int = 0
    fixable: int = 0
    scanner: str = ""
    finished: datetime | None = None
    percent: int | None = None


class RegistryError(Exception):
    """A failure talking to a registry, with a message fit to show a person.

    Messages never contain credentials.
    """

    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class Unreachable(RegistryError):
    code = "unreachable"


class RegistryTimeout(Unreachable):
    code = "timeout"


class TLSFailure(RegistryError):
    code = "tls"


class AddressRefused(RegistryError):
    """The address policy refused a host before anything was sent to it."""

    code = "address"

    def __init__(self, message: str, host: str = ""):
        super().__init__(message)
        self.host = host


class AuthenticationFailed(RegistryError):
    code = "auth"


class Forbidden(RegistryError):
    code = "forbidden"


class NotFound(RegistryError):
    code = "not_found"


class Conflict(RegistryError):
    code = "conflict"


class BadAnswer(RegistryError):
    code = "bad_answer"


class RateLimited(RegistryError):
    code = "rate_limited"


class Unsupported(RegistryError):
    code = "unsupported"


class RegistryClient:
    """The small interface sync, the integration check and the space actions use."""

    kind = ""

    def __init__(self, connection: Connection):
        self.connection = connection
        # HTTP requests sent so far (token fetches and redirects included); sync records it so
        # a run's cost shows, and the benchmarks check it grows with the data, not worse.
        self.request_count = 0

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self, require_admin: bool = False) -> CheckResult:
        """Reachability and credentials; raise RegistryError with a human message."""
        raise NotImplementedError

    def iter_spaces(self) -> Iterator[SpaceInfo]:
        raise NotImplementedError

    def iter_repositories(self, space: str | None = None) -> Iterator[RepositoryInfo]:
        """Repositories of one space, or of the whole registry when ``space`` is None."""
        raise NotImplementedError

    def iter_tags(self, repository: str) -> Iterator[TagInfo]:
        raise NotImplementedError

    def storage_used(self) -> int | None:
        """Bytes of storage the registry reports for itself; None when it reports none."""
        return None

    def create_space(self, name: str, public: bool) -> SpaceInfo:
        raise NotImplementedError

    def set_space_visibility(self, name: str, public: bool) -> None:
        raise NotImplementedError

    def delete_space(self, name: str) -> None:
        raise NotImplementedError

    # Image details, scans and deletion (the repository page) ----------------------------

    def image_layers(self, repository: str, digest: str) -> tuple[PlatformLayers, ...]:
        """The layers of the image or index ``digest``, per platform."""
        raise NotImplementedError

    def scan_overview(self, repository: str, digest: str) -> ScanOverview:
        raise Unsupported("This registry does not scan images for vulnerabilities.")

    def scan(self, repository: str, digest: str) -> None:
        raise Unsupported("This registry does not scan images for vulnerabilities.")

    def delete_tag(self, repository: str, tag: str, digest: str) -> None:
        """Remove the tag only; the image stays while other tags or digests reference it."""
        raise NotImplementedError

    def delete_artifact(self, repository: str, digest: str) -> None:
        """Remove the image or index ``digest`` and every tag on it."""
        raise NotImplementedError

    def delete_repository(self, repository: str) -> None:
        raise NotImplementedError


# From the Docker reference grammar (distribution's), shared by every kind that speaks
# the Docker Registry v2 API; checked so names read from the catalog or the database
# can never walk outside /v2/<name>/ in a URL.
_NAME_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
REPOSITORY_NAME = re.compile(rf"{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*")
TAG_NAME = re.compile(r"[\w][\w.-]{0,127}")
DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")


def space_of(repository: str) -> str:
    """Distribution has no projects: the first path segment is the space (``library`` if none)."""
    head, sep, _ = repository.partition("/")
    return head if sep else "library"


# Robot accounts (Harbor's pull credentials) -------------------------------------------------

# The one access a Wharf robot holds on each project it may pull from.
PULL_ACCESS = ("repository", "pull")
PUSH_ACCESS = ("repository", "push")


@dataclass(frozen=True)
class RobotInfo:
    """A Harbor system-level robot account.

    ``name`` is the full name as Harbor returns it (``robot$`` prefix included; the prefix is
    configurable in Harbor, so it is read, never built). ``secret`` is only known right after
    creation or a refresh and never shows in a repr. ``permissions`` holds one
    ``(kind, namespace, resource, action)`` per granted access, sorted.
    """

    id: int
    name: str
    secret: str = field(default="", repr=False)
    description: str = ""
    level: str = "system"
    disabled: bool = False
    duration: int | None = -1
    permissions: tuple[tuple[str, str, str, str], ...] = ()

    @property
    def projects(self) -> tuple[str, ...]:
        """The projects this robot holds any access on, sorted."""
        return tuple(sorted({namespace for kind, namespace, _, _ in self.permissions if kind == "project"}))

    @staticmethod
    def pull_permissions(projects: Iterable[str]) -> tuple[tuple[str, str, str, str], ...]:
        """What a Wharf robot should hold: ``repository:pull`` on each of ``projects``."""
        return tuple(sorted(("project", project, *PULL_ACCESS) for project in set(projects)))

    @staticmethod
    def login_permissions(pull: Iterable[str], push: Iterable[str]) -> tuple[tuple[str, str, str, str], ...]:
        """A login robot's: pull on ``pull``, pull and push on ``push``."""
        pulled = set(pull) | set(push)
        return tuple(
            sorted(
                {("project", project, *PULL_ACCESS) for project in pulled}
                | {("project", project, *PUSH_ACCESS) for project in set(push)}
            )
        )


def deadline_timeout(
    timed_out: bool, connection: Connection, where: str, end: str = ""
) -> RegistryTimeout | None:
    """The error for a call that timed out because the operation's whole deadline ran out
    (rather than one call's own timeout), or None. ``end`` is the clients' sentence style."""
    deadline = connection.deadline
    if not (timed_out and deadline is not None and deadline.reached()):
        return None
    return RegistryTimeout(
        f"{where} did not finish answering within {seconds_text(deadline.seconds)}, "
        f"the time Wharf allows for one operation{end}"
    )
