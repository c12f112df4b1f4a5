"""Image references: ``[host[:port]/]path[:tag][@sha256:<64 hex>]``.

Plain Python (no models, no database): the grammar of the Docker / OCI distribution
reference, with a message a person can act on for each way a reference can be wrong.

- host: the first path part when it looks like a host: it has a ``.`` or a ``:port``, is
  ``localhost``, or is an IPv6 address in brackets. Otherwise the reference has no host and
  Docker would pull it from Docker Hub (``docker.io``).
- path: lowercase parts separated by ``/``; inside a part, letters and digits with single
  separators ``.``, ``_``, ``__`` or any number of ``-``.
- tag: ``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``; digest: ``sha256:`` and 64 lowercase hex digits.
"""

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

DEFAULT_HOST = "docker.io"
DEFAULT_TAG = "latest"
MAX_NAME_LENGTH = 255
MAX_REFERENCE_LENGTH = 512

_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
HOST_RE = re.compile(rf"^(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9A-Fa-f:.]+\])(?::([0-9]+))?$")
PATH_PART_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


class ImageRefError(ValueError):
    """The reference does not parse; ``message`` says why, for the person who typed it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ImageRef:
    host: str | None
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def registry_host(self) -> str:
        """The host Docker would pull from (Docker Hub when the reference names none)."""
        return self.host or DEFAULT_HOST

    @property
    def name(self) -> str:
        """host/path, or path alone when the reference names no host."""
        return f"{self.host}/{self.path}" if self.host else self.path

    @property
    def first_part(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def space_name(self) -> str:
        """The registry space the path is in: its first part, or ``library`` for a single part."""
        return self.first_part if "/" in self.path else "library"

    @property
    def effective_tag(self) -> str | None:
        """The tag Docker would pull: ``latest`` when neither a tag nor a digest is given."""
        if self.tag is None and self.digest is None:
            return DEFAULT_TAG
        return self.tag

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def compose(host: str, repository: str, *, tag: str | None = None, digest: str | None = None) -> str:
    """The reference for a repository of a registry, by tag or pinned by digest. Every reference
    Wharf shows, returns or writes is made here (or by the helpers below, which call it)."""
    return str(ImageRef(host=host or None, path=repository, tag=None if digest else tag, digest=digest))


def in_space(host: str, space: str, repository: str, *, tag: str | None = None) -> str:
    """The reference of ``repository`` (a path inside ``space``) in a registry at ``host``."""
    return compose(host, f"{space}/{repository}", tag=tag)


def of_repository(repository, *, tag: str | None = None, digest: str | None = None) -> str:
    """The reference of a stored repository (its space's registry gives the host)."""
    return compose(repository.space.registry.host, repository.name, tag=tag, digest=digest)


def without_host(repository: str, *, tag: str | None = None, digest: str | None = None) -> str:
    """``path:tag`` or ``path@digest``: what the audit log and messages name an image by."""
    return compose("", repository, tag=tag, digest=digest)


def tag_references(host: str, repository: str, tag) -> tuple[str, str]:
    """A tag's reference and the one pinned to its digest ("" while its digest is unknown)."""
    pinned = compose(host, repository, digest=tag.digest) if tag.digest else ""
    return compose(host, repository, tag=tag.name), pinned


def _looks_like_host(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost" or part.startswith("[") or part != part.lower()


def parse(reference: str) -> ImageRef:
    """Parse an image reference or raise ImageRefError with a message for the field."""
    text = _checked_text(reference)
    text, digest = _split_digest(text)
    host, rest = _split_host(text)
    path, tag = _split_tag(rest)
    _check_path(path)
    _check_name_length(host, path)
    return ImageRef(host=host, path=path, tag=tag, digest=digest)


def _checked_text(reference: str) -> str:
    """The reference without surrounding blanks, refused when empty, too long, with inner blanks
    or with a scheme."""
    if reference is None or not str(reference).strip():
        raise ImageRefError(_("Enter an image, for example harbor.example.com/team/app:1.0."))
    text = str(reference).strip()
    if len(text) > MAX_REFERENCE_LENGTH:
        raise ImageRefError(
            _("An image reference is at most %(max)d characters.") % {"max": MAX_REFERENCE_LENGTH}
        )
    if re.search(r"\s", text):
        raise ImageRefError(_("An image reference cannot contain spaces."))
    if "://" in text:
        raise ImageRefError(_("Leave out the scheme: write host/path:tag, not https://host/path:tag."))
    return text


def _split_digest(text: str) -> tuple[str, str | None]:
    """``name@digest`` into the name and the digest (None when there is none)."""
    if "@" not in text:
        return text, None
    text, digest = text.split("@", 1)
    if not digest.startswith("sha256:"):
        raise ImageRefError(
            _("Only sha256 digests are supported: @sha256: followed by 64 hexadecimal characters.")
        )
    if not SHA256_RE.match(digest):
        raise ImageRefError(
            _("A digest is sha256: followed by exactly 64 lowercase hexadecimal characters (0-9, a-f).")
        )
    if not text:
        raise ImageRefError(_("Name the image before the digest: host/path@sha256:…"))
    return text, digest


def _split_host(text: str) -> tuple[str | None, str]:
    """The registry host (None when the first part does not look like one) and the rest."""
    if "/" not in text:
        return None, text
    first, remainder = text.split("/", 1)
    if not _looks_like_host(first):
        return None, text
    match = HOST_RE.match(first)
    if match is None:
        raise ImageRefError(
            _("“%(host)s” is not a valid registry host (host or host:port).") % {"host": first}
        )
    port = match.group(1)
    if port is not None and not 0 < int(port) < 65536:
        raise ImageRefError(_("The registry port must be between 1 and 65535."))
    return first, remainder


def _split_tag(rest: str) -> tuple[str, str | None]:
    """``path:tag`` into the path and the tag (None when there is none)."""
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        path, tag = rest[:colon], rest[colon + 1 :]
        if not TAG_RE.match(tag):
            raise ImageRefError(
                _(
                    "“%(tag)s” is not a valid tag: use at most 128 letters, digits, "
                    "underscores, periods and hyphens, not starting with a period or "
                    "hyphen."
                )
                % {"tag": tag}
            )
        return path, tag
    if ":" in rest:
        # host:port without a path in front of the colon means a port in the wrong place.
        raise ImageRefError(
            _("A colon may only separate the tag at the end, or a port after the registry host.")
        )
    return rest, None


def _check_path(path: str) -> None:
    if not path:
        raise ImageRefError(_("The image needs a repository path, for example team/app."))
    for part in path.split("/"):
        _check_path_part(part)


def _check_path_part(part: str) -> None:
    if not part:
        raise ImageRefError(_("The repository path has an empty part: check for “//” or a trailing “/”."))
    if PATH_PART_RE.match(part):
        return
    if part.lower() != part and PATH_PART_RE.match(part.lower()):
        raise ImageRefError(_("Repository names must be lowercase: “%(part)s”.") % {"part": part})
    raise ImageRefError(
        _(
            "“%(part)s” is not a valid repository path part: use lowercase "
            "letters and digits, separated by a period, one or two "
            "underscores, or hyphens."
        )
        % {"part": part}
    )


def _check_name_length(host: str | None, path: str) -> None:
    name_length = len(path) + (len(host) + 1 if host else 0)
    if name_length > MAX_NAME_LENGTH:
        raise ImageRefError(
            _("An image name (host and path) is at most %(max)d characters.") % {"max": MAX_NAME_LENGTH}
        )


def is_valid(reference: str) -> bool:
    try:
        parse(reference)
    except ImageRefError:
        return False
    return True
