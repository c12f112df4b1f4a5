"""Wharf as the Docker token server of distribution registries (design section 5).

A registry configured with ``auth.token`` sends clients to ``GET /auth/token?service=&scope=``
(registries/token_views.py). Wharf authenticates the client, intersects what it asked for with
what the access rule (registries/access.py) allows at this moment, and answers with an ES256
JWT the registry verifies against Wharf's certificate. Nothing about the grant is cached, so an
unbind takes effect on the very next token request.

Who gets what:

* pull on a space the access rule lets the principal pull: anonymous clients get the public
  spaces, a workspace pull credential (``ws-<workspace>``) its workspace's spaces, a user the
  spaces of every workspace they are a member of;
* pull and push on every repository, and ``registry:catalog:*``, for the platform Admins (they
  push images and sync it);
* for a login command's credential (``wl-...``, registries/login_commands.py, while it has
  neither expired nor been revoked): what its user would get, plus push on the spaces
  ``access.pushable_spaces`` gives the user;
* nothing for unknown resource types or actions, and never ``delete``.

Which registry: the one whose token service id is the ``service`` asked for. The id is random,
set once by Wharf and never given to another registry, so a registry configured with it trusts
tokens for that row only, whatever is renamed or removed later; the token's ``aud`` is that id.
Only platform Docker Registries use the token service, and only Admins turn it on. While a
registry's row does not say it uses it (being set up, or turned off), only Admins get anything.
Each registry integrated since signing keys became per registry has its own key and trusts only
its certificates (``/auth/certificates.pem?service=<id>``), so a token signed for one registry
is refused by every other; older registries share the key they were set up with.

The hot path (a workspace credential pulling) costs two queries: the registry with the
credential and its active signing key's id, then the spaces the access rule allows. Both are
compiled once per process (see "compiled queries"). Credentials are long random secrets, so
they are found and checked by their SHA-256, never with a password hash; the decrypted signing
key is kept per process, keyed by the key's id and creation time.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import threading
import uuid
from dataclasses import dataclass

import jwt
from axes.models import AccessAttempt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.contrib.auth import authenticate as password_authenticate
from django.contrib.auth import get_user_model
from django.db import connections, router, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import audit, crypto, lockout
from portal.permissions import is_admin
from registries import access
from registries.clients.base import REPOSITORY_NAME, space_of
from registries.models import LoginCredential, PullCredential, Registry, RegistrySpace, TokenSigningKey
from workspaces.models import Workspace

User = get_user_model()

logger = logging.getLogger("wharf.tokens")

SIGNER_COMMON_NAME = "wharf-token-signer"
# Registries check the certificate's validity on every token; rotation, not expiry, is how a
# key is replaced, so the certificate outlives any sensible rotation schedule.
CERTIFICATE_VALIDITY = dt.timedelta(days=3650)
CREDENTIAL_PREFIX = "ws-"
# Login commands' credentials (registries/login_commands.py).
LOGIN_PREFIX = "wl-"
SECRET_BYTES = 32
MAX_LIFETIME = 300
# A request naming more scopes than this is refused rather than answered slowly.
MAX_SCOPES = 100
MAX_NAME = 255
# Requests naming more distinct spaces than this (rare) run the grant's query through the ORM.
MAX_TEMPLATED_NAMES = 8

PULL, PUSH = "pull", "push"
CATALOG = ("registry", "catalog")

# resourcetype[(class)]:name:action[,action...]; the name may itself hold ':' (host:port/...),
# so the actions are what follows the last one.
_SCOPE = re.compile(
    r"(?P<type>[a-z0-9]+)(?:\((?P<cls>[a-z0-9]+)\))?:(?P<name>[^\s:][^\s]*):"
    r"(?P<actions>[a-z*][a-z0-9*_-]*(?:,[a-z*][a-z0-9*_-]*)*)"
)
# A repository name, optionally behind the registry's own host[:port] as the grammar allows. As
# in Docker's references, a first component is a host only with a dot, a port, or "localhost".
_HOST = r"(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::[0-9]+)?|[A-Za-z0-9-]+:[0-9]+"
_REPOSITORY = re.compile(rf"(?:(?:{_HOST})/)?{REPOSITORY_NAME.pattern}")
_OTHER_NAME = re.compile(r"[A-Za-z0-9._/-]+|\*")
# The services Wharf hands out: generated ids (wharf-<hex>) and, for registries older than those,
# the name they had then (a DNS label). Anything else names no registry of Wharf's and is refused
# before it reaches the database, where a NUL byte, say, would be an error rather than a miss.
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class TokenError(Exception):
    """A refusal of the whole request, with the status and the code the answer carries."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class InvalidRequest(TokenError):
    def __init__(self, message: str):
        super().__init__(400, "INVALID_REQUEST", message)


class UnknownService(TokenError):
    def __init__(self, message: str):
        super().__init__(400, "UNSUPPORTED", message)


class NoSigningKey(TokenError):
    def __init__(self):
        super().__init__(503, "UNAVAILABLE",
                         _("No key signs this registry's tokens yet: run manage.py token_keys --rotate "
                           "--registry with the registry's name."))


# -- signing keys ------------------------------------------------------------------------------


def _new_key_and_certificate() -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SIGNER_COMMON_NAME)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # A little in the past: a registry whose clock lags must not refuse a fresh key.
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        # Self-signed and listed in the registry's rootcertbundle: the chain is the root itself.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          crl_sign=False, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def _keys_of(registry: Registry | None):
    """The keys that sign for ``registry``: its own, or (None) the shared ones."""
    return TokenSigningKey.objects.filter(registry=registry) if registry is not None \
        else TokenSigningKey.objects.filter(registry__isnull=True)


def create_signing_key(registry: Registry | None = None) -> TokenSigningKey:
    """A new key that signs for ``registry`` from now on, or a new shared key (the caller
    retires the previous one, if any)."""
    key_pem, certificate_pem = _new_key_and_certificate()
    return TokenSigningKey.objects.create(private_key_encrypted=crypto.encrypt(key_pem),
                                          certificate_pem=certificate_pem, registry=registry)


def _signing_keys_for(registry: Registry):
    """The active keys that may sign for ``registry``, the one that does first: its own, else
    the shared one (registries integrated before each got its own key trust that one)."""
    return (TokenSigningKey.objects.filter(Q(registry=registry) | Q(registry__isnull=True),
                                           retired__isnull=True)
            .order_by(F("registry").asc(nulls_last=True), "-created", "-id"))


def active_signing_key(registry: Registry | None = None) -> TokenSigningKey | None:
    """The key that signs for ``registry`` (None: the shared key)."""
    if registry is None:
        return _keys_of(None).filter(retired__isnull=True).first()
    return _signing_keys_for(registry).first()


@transaction.atomic
def rotate_signing_key(registry: Registry | None = None) -> TokenSigningKey:
    """Sign for ``registry`` (None: the registries using the shared key) with a new key from
    now on. The old ones stay in the bundle (retired), so tokens they signed stay valid until
    they expire; registries accept the new key's tokens once they have been given the new
    bundle (docker-registry reads it when it starts). A registry still on the shared key gets
    its own this way."""
    # Locking the active keys makes two concurrent rotations leave exactly one key active.
    active = list(_keys_of(registry).select_for_update().filter(retired__isnull=True))
    TokenSigningKey.objects.filter(pk__in=[key.pk for key in active]).update(retired=timezone.now())
    return create_signing_key(registry)


def prune_retired_keys() -> int:
    """Remove retired keys no token can still depend on (retired longer than a token lives)."""
    cutoff = timezone.now() - dt.timedelta(seconds=MAX_LIFETIME)
    deleted, _ = TokenSigningKey.objects.filter(retired__lt=cutoff).delete()
    return deleted


def certificate_bundle(registry: Registry | None = None) -> str:
    """The certificates ``registry`` must trust, newest first: the file its rootcertbundle
    names. Its own keys' only, so it accepts no token signed for another registry; the shared
    keys' for a registry without keys of its own (and for ``None``)."""
    keys = _keys_of(registry) if registry is not None and _keys_of(registry).exists() else _keys_of(None)
    return "".join(
        pem if pem.endswith("\n") else pem + "\n"
        for pem in keys.values_list("certificate_pem", flat=True)
    )


@dataclass(frozen=True)
class _Signer:
    key: ec.EllipticCurvePrivateKey
    x5c: tuple[str, ...]


# Decrypted keys by (id, creation time): one per registry that asked lately, at most this many.
MAX_CACHED_SIGNERS = 1000
_signers: dict[tuple[int, dt.datetime], _Signer] = {}
_signers_lock = threading.Lock()
# "Not fetched with the registry": distinct from None, which means "fetched, and there is none".
_NOT_LOOKED_UP = object()


def _active_key_subqueries(registry_column: str) -> dict:
    """Annotations carrying the (id, creation time) of the key that signs for the registry in
    ``registry_column`` along with another query, so finding out which key signs costs no round
    trip of its own."""
    active = (TokenSigningKey.objects
              .filter(Q(registry=OuterRef(registry_column)) | Q(registry__isnull=True), retired__isnull=True)
              .order_by(F("registry").asc(nulls_last=True), "-created", "-id"))
    return {"wharf_key_id": Subquery(active.values("pk")[:1]),
            "wharf_key_created": Subquery(active.values("created")[:1])}


def _active_key_ref(registry: Registry) -> tuple[int, dt.datetime] | None:
    ref = getattr(registry, "wharf_active_key", _NOT_LOOKED_UP)
    if ref is _NOT_LOOKED_UP:
        ref = _signing_keys_for(registry).values_list("pk", "created").first()
    return ref


def _signer(ref: tuple[int, dt.datetime] | None) -> _Signer:
    """The active key, decrypted and parsed once per process.

    Keyed by id *and* creation time: ids can be reused (a test database rolled back, a restored
    backup), and signing with a stale key would make every token fail at the registry.
    """
    if ref is None or ref[0] is None:
        raise NoSigningKey()
    signer = _signers.get(ref)
    if signer is None:
        stored = TokenSigningKey.objects.get(pk=ref[0])
        key = serialization.load_pem_private_key(crypto.decrypt(stored.private_key_encrypted).encode(),
                                                 password=None)
        certificate = x509.load_pem_x509_certificate(stored.certificate_pem.encode())
        der = certificate.public_bytes(serialization.Encoding.DER)
        signer = _Signer(key, (base64.b64encode(der).decode(),))
        with _signers_lock:
            # Rotations are rare and registries few: starting afresh now and then is cheap.
            if len(_signers) >= MAX_CACHED_SIGNERS:
                _signers.clear()
            _signers[ref] = signer
    return signer


# -- scopes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]
    resource_class: str = ""

    def __str__(self):
        kind = f"{self.type}({self.resource_class})" if self.resource_class else self.type
        return f"{kind}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: list[str]) -> list[Scope]:
    """Parse the ``scope`` parameters (each may hold several, space-separated, as old clients
    send them). A malformed scope refuses the request (InvalidRequest); a well-formed scope of a
    type or with actions Wharf does not know is kept, and simply granted nothing. Repeated
    resources are merged."""
    merged: dict[tuple[str, str, str], list[str]] = {}
    for value in values:
        for item in value.split():
            match = _SCOPE.fullmatch(item)
            if match is None:
                raise InvalidRequest(_("Malformed scope %(scope)r: expected type:name:actions.")
                                     % {"scope": item[:300]})
            kind, name = match["type"], match["name"]
            pattern = _REPOSITORY if kind == "repository" else _OTHER_NAME
            if len(name) > MAX_NAME or not pattern.fullmatch(name):
                raise InvalidRequest(_("Malformed scope %(scope)r: invalid resource name.")
                                     % {"scope": item[:300]})
            actions = merged.setdefault((kind, match["cls"] or "", name), [])
            actions.extend(action for action in match["actions"].split(",") if action not in actions)
            if len(merged) > MAX_SCOPES:
                raise InvalidRequest(_("At most %(max)d scopes can be asked for at once.")
                                     % {"max": MAX_SCOPES})
    return [Scope(kind, name, tuple(actions), cls) for (kind, cls, name), actions in merged.items()]


# -- compiled queries --------------------------------------------------------------------------
# Building and compiling the access rule's querysets costs several times more CPU than running
# them, and the token endpoint asks the same few shapes of question thousands of times a second.
# So each shape is built once per process by the same code (access.py), with unique placeholder
# values, compiled, and afterwards run with the request's values in the placeholders' places.
# A shape whose placeholders the ORM did not pass as plain parameters is never templated: it
# runs through the ORM every time, so the result is the same either way.


class _Placeholders(dict):
    """Placeholder values for the names a shape takes, unlikely to be anything real."""

    def number(self, name: str) -> int:
        return self.setdefault(name, -(2**52) - len(self))

    def text(self, name: str) -> str:
        return self.setdefault(name, f"\x00wharf-placeholder-{len(self)}\x00")


@dataclass(frozen=True)
class _Template:
    sql: str
    slots: tuple[str | None, ...]  # per parameter: the placeholder it holds, or None (a constant)
    constants: tuple

    def run(self, alias: str, values: dict) -> list[tuple]:
        params = [values[slot] if slot is not None else constant
                  for slot, constant in zip(self.slots, self.constants, strict=True)]
        with connections[alias].cursor() as cursor:
            cursor.execute(self.sql, params)
            return cursor.fetchall()


_templates: dict[tuple, _Template | None] = {}
# Off in tests that compare the two ways of running a shape.
USE_TEMPLATES = True


def _template(key: tuple, build) -> _Template | None:
    """The compiled template of shape ``key``; ``build(placeholders)`` returns its queryset."""
    alias = router.db_for_read(RegistrySpace)
    key = (alias, *key)
    if key in _templates:
        return _templates[key]
    placeholders = _Placeholders()
    queryset = build(placeholders)
    sql, params = queryset.query.get_compiler(using=alias).as_sql()
    by_value = {value: name for name, value in placeholders.items()}
    slots = []
    for param in params:
        hashable = isinstance(param, int | str) and not isinstance(param, bool)
        slots.append(by_value.get(param) if hashable else None)
    usable = set(placeholders) == {slot for slot in slots if slot} and not any(
        str(value) in sql for value in placeholders.values())
    template = _Template(sql, tuple(slots), tuple(params)) if usable else None
    if template is None:
        logger.warning("token service: query shape %s cannot be templated; using the ORM", key)
    _templates[key] = template
    return template


# -- principals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who asks: anonymous, a Wharf user (``login``: through a login command's credential),
    or a workspace's pull credential."""

    subject: str = ""
    user: object | None = None
    credential: PullCredential | None = None
    login: LoginCredential | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None and self.credential is None

    @property
    def workspace(self):
        return self.credential.workspace if self.credential is not None else None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and is_admin(self.user)


ANONYMOUS = Principal()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _credential(registry: Registry, username: str, password: str) -> PullCredential | None:
    """The workspace credential ``username`` of ``registry`` whose current secret, or previous
    one inside its overlap window, is ``password``."""
    if not username.startswith(CREDENTIAL_PREFIX):
        return None
    digest = hash_secret(password)
    credential = getattr(registry, "wharf_credential", _NOT_LOOKED_UP)
    if credential is _NOT_LOOKED_UP or (credential is not None and credential.username != username):
        credential = (PullCredential.objects.select_related("workspace").filter(registry=registry)
                      .filter(Q(username=username, secret_hash=digest)
                              | Q(previous_username=username, previous_secret_hash=digest,
                                  previous_valid_until__gt=Now()))
                      .first())
        if credential is not None:
            credential.wharf_matched_hash = (credential.secret_hash if credential.secret_hash == digest
                                             else credential.previous_secret_hash)
    if credential is None:
        return None
    # Found by the hash of what was sent, so timing tells nothing about stored secrets; the
    # comparison is constant-time anyway, in case a database compares loosely.
    matched = getattr(credential, "wharf_matched_hash", "")
    if not matched or not hmac.compare_digest(matched, digest):
        return None
    return credential


def _login_credential(registry: Registry, username: str, password: str) -> LoginCredential | None:
    """The login command credential ``username`` of ``registry`` whose secret is ``password``,
    while it has neither expired nor been revoked (the database's clock decides)."""
    if not username.startswith(LOGIN_PREFIX):
        return None
    digest = hash_secret(password)
    login = (LoginCredential.objects.select_related("user")
             .filter(secret_hash=digest, username=username, registry=registry, revoked__isnull=True,
                     expires__gt=Now()).first())
    if login is None or not hmac.compare_digest(login.secret_hash, digest) or not login.user.is_active:
        return None
    return login


def _api_token_user(username: str, password: str):
    from rest_framework.exceptions import AuthenticationFailed

    from portal.api.authentication import TokenAuthentication

    try:
        user, _token = TokenAuthentication().authenticate_key(password)
    except AuthenticationFailed:
        return None
    return user if user.get_username() == username else None


def authenticate(registry: Registry, username: str, password: str, request=None) -> Principal | None:
    """The principal behind Basic credentials, ANONYMOUS without any, None when they are wrong.

    Order: a workspace pull credential of *this* registry (a SHA-256 check), then a personal
    API token, then the user's password (slow by design, so it comes last). A user whose name
    happens to look like a credential's still logs in with their own password.
    """
    if not username and not password:
        return ANONYMOUS
    credential = _credential(registry, username, password)
    if credential is not None:
        return Principal(subject=username, credential=credential)
    login = _login_credential(registry, username, password)
    if login is not None:
        return Principal(subject=username, user=login.user, login=login)
    if username.startswith((CREDENTIAL_PREFIX, LOGIN_PREFIX)) and not User.objects.filter(
            username=username).exists():
        # A stale or mistyped workspace secret (a kubelet retrying after a rotation): refused
        # without the deliberately slow password hash Django would run for an unknown user, and
        # counted towards a lockout as a wrong password would be (authenticate() counts those).
        lockout.record_failure(request, username)
        return None
    user = _api_token_user(username, password)
    if user is None:
        user = password_authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        return None
    return Principal(subject=user.get_username(), user=user)


# -- the grant ---------------------------------------------------------------------------------


def _expand(asked: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    """``asked`` ∩ ``allowed``, where ``*`` asks for everything (and grants only ``allowed``)."""
    if "*" in asked:
        return list(allowed)
    return [action for action in allowed if action in asked]


def _manages(principal: Principal, registry: Registry) -> bool:
    """Pushes to, pulls from and lists the whole registry: the platform Admins. Only platform
    registries use the token service; a workspace's own registry never gets here."""
    return registry.scope == Registry.Scope.PLATFORM and principal.is_admin


def _pullable_spaces(principal: Principal, registry: Registry, names: set[str]) -> set[str]:
    """Which of the spaces ``names`` of ``registry`` the access rule lets ``principal`` pull."""
    workspace, user = principal.workspace, principal.user

    def query(registry, workspace, user, names):
        return (access.spaces_pullable_at_registry(registry, workspace=workspace, user=user)
                .filter(name__in=names).order_by().values_list("name", flat=True))

    names = sorted(names)
    kind = "user" if user is not None else "workspace" if workspace is not None else "anonymous"
    template = None
    if USE_TEMPLATES and len(names) <= MAX_TEMPLATED_NAMES:
        def build(placeholders):
            return query(
                Registry(pk=placeholders.number("registry")),
                Workspace(pk=placeholders.number("owner")) if kind == "workspace" else None,
                User(pk=placeholders.number("owner")) if kind == "user" else None,
                [placeholders.text(f"name{number}") for number in range(len(names))],
            )

        template = _template(("pullable", kind, len(names)), build)
    if template is None:
        return set(query(registry, workspace, user, names))
    values = {"registry": registry.pk, **{f"name{number}": name for number, name in enumerate(names)}}
    if kind != "anonymous":
        values["owner"] = (user or workspace).pk
    return {row[0] for row in template.run(router.db_for_read(RegistrySpace), values)}


def grant(principal: Principal, registry: Registry, requested: list[Scope]) -> list[dict]:
    """The ``access`` claim: each requested resource with the actions allowed now, omitting
    those with none. A partial grant is not an error (the registry refuses what is missing).

    A registry whose row does not (yet) say it uses the token service grants only to whoever
    manages it: it may already send its clients here while an Admin turns the setting on, and
    the connection check that comes with that asks for a token as the Admin.
    """
    manager = _manages(principal, registry)
    if not registry.token_service and not manager:
        return []
    repositories = [scope for scope in requested
                    if scope.type == "repository" and not scope.resource_class]
    pullable: set[str] = set()
    pushable: set[str] = set()
    if repositories and not manager:
        names = {space_of(scope.name) for scope in repositories}
        pullable = _pullable_spaces(principal, registry, names)
        if principal.login is not None and any(
                PUSH in scope.actions or "*" in scope.actions for scope in repositories):
            pushable = set(access.pushable_spaces(principal.user, registry)
                           .filter(name__in=sorted(names)).values_list("name", flat=True))
    granted = []
    for scope in requested:
        if scope in repositories:
            allowed: tuple[str, ...] = ()
            if manager or space_of(scope.name) in pushable:
                allowed = (PULL, PUSH)
            elif space_of(scope.name) in pullable:
                allowed = (PULL,)
            actions = _expand(scope.actions, allowed)
        elif (scope.type, scope.name) == CATALOG and not scope.resource_class and manager:
            actions = ["*"] if "*" in scope.actions else []
        else:
            actions = []
        if actions:
            granted.append({"type": scope.type, "name": scope.name, "actions": actions})
    return granted


# -- tokens ------------------------------------------------------------------------------------


def token_lifetime() -> int:
    return min(int(settings.WHARF_TOKEN_LIFETIME), MAX_LIFETIME)


def issue_token(registry: Registry, principal: Principal, access_claim: list[dict], *,
                now: dt.datetime | None = None) -> dict:
    """The token endpoint's answer: a JWT for ``registry`` carrying ``access_claim``."""
    signer = _signer(_active_key_ref(registry))
    now = now or dt.datetime.now(dt.UTC)
    issued = int(now.timestamp())
    lifetime = token_lifetime()
    claims = {
        "iss": settings.WHARF_TOKEN_ISSUER,
        "sub": principal.subject,
        # The id Wharf generated for the registry, never its editable name: a registry trusts
        # only tokens for the row it was configured with.
        "aud": registry.token_service_id,
        "exp": issued + lifetime,
        "nbf": issued,
        "iat": issued,
        "jti": uuid.uuid4().hex,
        "access": access_claim,
    }
    # docker-registry 2.8 finds the verifying key through x5c (checked against its
    # rootcertbundle); without it, and without a libtrust kid, it refuses the token.
    token = jwt.encode(claims, signer.key, algorithm="ES256", headers={"x5c": list(signer.x5c)})
    stamp = dt.datetime.fromtimestamp(issued, dt.UTC).isoformat().replace("+00:00", "Z")
    return {"token": token, "access_token": token, "expires_in": lifetime, "issued_at": stamp}


_REGISTRY_FIELDS = ("id", "name", "kind", "scope", "workspace_id", "token_service", "token_service_id")
# What a registry must be for its `service` to be answered at all: a platform Docker Registry.
# Whether it uses the token service already decides the grant, not the lookup (see grant()).
_TOKEN_REGISTRIES = {"kind__in": Registry.kinds_supporting("token_service"), "scope": Registry.Scope.PLATFORM}
# The credential columns each lookup matches on: its current secret, or the previous one
# inside the overlap window after a rotation.
_SECRETS = {
    "current": ("username", "secret_hash"),
    "previous": ("previous_username", "previous_secret_hash"),
}


def _partial(model, alias: str, data: dict):
    """A model instance from some of its fields (the others load on access, as with only())."""
    fields = [field.attname for field in model._meta.concrete_fields if field.attname in data]
    return model.from_db(alias, fields, [data[name] for name in fields])


def _lookup_query(service, username, secret_hash, *, secret: str | None):
    """The registry of ``service`` (``secret=None``), or the credential of that registry whose
    ``secret`` ("current" or "previous") has this username and hash, with its registry."""
    if secret is not None:
        username_field, hash_field = _SECRETS[secret]
        credentials = PullCredential.objects.filter(**{hash_field: secret_hash, username_field: username})
        if secret == "previous":
            # The database's clock, not a value compiled into the template once.
            credentials = credentials.filter(previous_valid_until__gt=Now())
        # By the secret's hash first: it is indexed and unique in practice, so the lookup stays
        # one index probe however many credentials there are.
        return (credentials
                .filter(registry__token_service_id=service,
                        **{f"registry__{key}": value for key, value in _TOKEN_REGISTRIES.items()})
                .annotate(**_active_key_subqueries("registry_id"),
                          # Whether any failed login by this username is on record (the lockout's
                          # first question), answered in the same round trip.
                          wharf_failures=Exists(AccessAttempt.objects.filter(username=username)))
                .order_by()
                .values_list("id", username_field, hash_field, "workspace_id",
                             *(f"registry__{name}" for name in _REGISTRY_FIELDS),
                             "wharf_key_id", "wharf_key_created", "wharf_failures")[:1])
    return (Registry.objects.filter(token_service_id=service, **_TOKEN_REGISTRIES)
            .annotate(**_active_key_subqueries("pk")).order_by()
            .values_list(*_REGISTRY_FIELDS, "wharf_key_id", "wharf_key_created")[:1])


def _lookup(service: str, username: str = "", secret_hash: str = "", *,
            secret: str | None = None) -> tuple | None:
    template = None
    if USE_TEMPLATES:
        template = _template(("lookup", secret), lambda placeholders: _lookup_query(
            placeholders.text("service"),
            placeholders.text("username") if secret else "",
            placeholders.text("secret_hash") if secret else "",
            secret=secret))
    if template is None:
        rows = list(_lookup_query(service, username, secret_hash, secret=secret))
    else:
        values = {"service": service}
        if secret:
            values.update(username=username, secret_hash=secret_hash)
        rows = template.run(router.db_for_read(Registry), values)
    return tuple(rows[0]) if rows else None


def token_registry(service: str, username: str = "", password: str = "") -> Registry:
    """The registry a token is asked for: the platform Docker Registry whose token service id
    is the ``service`` its auth.token configuration sends (never looked up by name).

    The same query brings the active signing key's reference and, for a ``ws-`` username with
    the right secret, that pull credential: with the grant's query, a workspace's pull costs two
    queries in all (one more with the previous secret of a rotation, inside its overlap
    window). The registry and credential carry only what the token service reads; anything
    else loads on access.
    """
    if not service:
        raise InvalidRequest(_("The service parameter is required."))
    if not _SERVICE.fullmatch(service):
        raise UnknownService(_("Unknown service %(service)r: no registry uses Wharf's token "
                               "service with that id.") % {"service": service[:100]})
    alias = router.db_for_read(Registry)
    credential = None
    row = None
    if username.startswith(CREDENTIAL_PREFIX):
        digest = hash_secret(password)
        row = (_lookup(service, username, digest, secret="current")
               or _lookup(service, username, digest, secret="previous"))
    if row is not None:
        (credential_id, credential_username_, matched_hash, workspace_id,
         *registry_values, key_id, key_created, failures_on_record) = row
        registry = _partial(Registry, alias, dict(zip(_REGISTRY_FIELDS, registry_values, strict=True)))
        credential = _partial(PullCredential, alias, {
            "id": credential_id, "username": credential_username_,
            "workspace_id": workspace_id, "registry_id": registry.pk})
        credential.wharf_matched_hash = matched_hash
        credential.wharf_failures_on_record = bool(failures_on_record)
        # The grant needs the workspace's id only; its name loads if anything asks.
        credential.workspace = _partial(Workspace, alias, {"id": workspace_id})
        credential.registry = registry
    else:
        row = _lookup(service)
        if row is None:
            raise UnknownService(_("Unknown service %(service)r: no registry uses Wharf's token "
                                   "service with that id.") % {"service": service[:100]})
        *registry_values, key_id, key_created = row
        registry = _partial(Registry, alias, dict(zip(_REGISTRY_FIELDS, registry_values, strict=True)))
    registry.wharf_credential = credential
    registry.wharf_active_key = (key_id, key_created) if key_id is not None else None
    return registry


def bundle_registry(service: str) -> Registry | None:
    """The registry whose certificate bundle ``?service=`` asks for, if it is one of Wharf's."""
    if not _SERVICE.fullmatch(service):
        return None
    return Registry.objects.filter(token_service_id=service, **_TOKEN_REGISTRIES).first()


# -- workspace pull credentials ----------------------------------------------------------------


def credential_username(workspace) -> str:
    return f"{CREDENTIAL_PREFIX}{workspace.name}"


def _require_token_registry(registry: Registry) -> None:
    if not registry.uses_token_service:
        raise ValueError(f"{registry} does not use Wharf's token service")


def mint_workspace_credential(workspace, registry: Registry, actor=None) -> tuple[str, str]:
    """Create, or replace at once, ``workspace``'s pull credential for a token-service registry;
    returns (username, secret). A replaced secret is refused from the next token request on
    (rotate_credential() keeps it working for an overlap window). The state is done at once:
    the registry asks Wharf on every pull, there is nothing to propagate."""
    credential, secret = _mint(workspace, registry, actor, keep_existing=False)
    return credential.username, secret


@transaction.atomic
def _mint(workspace, registry: Registry, actor, *, keep_existing: bool) -> tuple[PullCredential, str | None]:
    _require_token_registry(registry)
    # The row lock serialises two mints of one pair, so neither hands out a secret the other
    # has already replaced.
    credential, created = (PullCredential.objects.select_for_update(of=("self",))
                           .select_related("registry").get_or_create(workspace=workspace, registry=registry))
    if keep_existing and not created and credential.secret_hash:
        return credential, None
    secret = secrets.token_urlsafe(SECRET_BYTES)
    fresh = created or not credential.secret_hash
    credential.username = credential_username(workspace)
    credential.set_secret(secret)
    credential.clear_previous()
    credential.state = PullCredential.State.DONE
    credential.error = ""
    credential.reconciled = timezone.now()
    credential.save()
    audit.record(actor, "pull_credential.create" if fresh else "pull_credential.rotate",
                 credential, after={"username": credential.username, "registry": registry.name,
                                    "workspace": workspace.name})
    return credential, secret


def ensure_credentials(workspace, actor=None) -> list[PullCredential]:
    """``workspace``'s credential for every token-service registry it may pull from, minting
    the missing ones. Existing ones are kept as they are: they may already be in a cluster's
    pull secret. The secret of each is ``credential.get_secret()``."""
    registries = access.registries_pullable_by_workspace(workspace).filter(
        token_service=True, kind__in=Registry.kinds_supporting("token_service")).order_by("name")
    return [_mint(workspace, registry, actor, keep_existing=True)[0] for registry in registries]


@transaction.atomic
def rotate_credential(credential: PullCredential, actor, *, overlap: int, reason: str = "") -> str:
    """Give a token-service credential a new secret; returns it. The old secret keeps working
    for ``overlap`` seconds (0: refused at once), so namespaces can fetch the new one first. A
    second rotation inside the window ends the oldest secret at once: at most two work."""
    credential = (PullCredential.objects.select_for_update(of=("self",))
                  .select_related("registry", "workspace").get(pk=credential.pk))
    _require_token_registry(credential.registry)
    now = timezone.now()
    if overlap > 0 and credential.secret_hash:
        credential.previous_username = credential.username
        credential.previous_secret_hash = credential.secret_hash
        credential.previous_valid_until = now + dt.timedelta(seconds=overlap)
    else:
        credential.clear_previous()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    credential.username = credential_username(credential.workspace)
    credential.set_secret(secret)
    credential.state = PullCredential.State.DONE
    credential.error = ""
    credential.rotated = credential.reconciled = now
    credential.save()
    audit.record(actor, "pull_credential.rotate", credential, label=str(credential), after={
        "workspace": credential.workspace.name, "registry": credential.registry.name,
        "username": credential.username, "reason": reason,
        "previous_valid_until": credential.previous_valid_until.isoformat()
        if credential.previous_valid_until else None})
    return secret
