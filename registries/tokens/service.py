"""Which registry a token request is for: the one whose token service id is the ``service``
asked for.

The id is random, set once by Wharf and never given to another registry, so a registry
configured with it trusts tokens for that row only, whatever is renamed or removed later. Only
platform Docker Registries use the token service. The same query brings the active signing key's
reference and, for a ``ws-`` username with the right secret, that pull credential (compiled
once per process, see compiled.py).
"""

from __future__ import annotations

import re

from axes.models import AccessAttempt
from django.db import router
from django.db.models import Exists, Model, QuerySet
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from registries.models import PullCredential, Registry
from registries.tokens import compiled
from registries.tokens.credentials import CREDENTIAL_PREFIX, hash_secret
from registries.tokens.errors import InvalidRequest, UnknownService
from registries.tokens.keys import active_key_subqueries
from workspaces.models import Workspace

# The services Wharf hands out: generated ids (wharf-<hex>) and, for registries older than those,
# the name they had then (a DNS label). Anything else names no registry of Wharf's and is refused
# before it reaches the database, where a NUL byte, say, would be an error rather than a miss.
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")

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


def _partial[M: Model](model: type[M], alias: str, data: dict) -> M:
    """A model instance from some of its fields (the others load on access, as with only())."""
    fields = [field.attname for field in model._meta.concrete_fields if field.attname in data]
    return model.from_db(alias, fields, [data[name] for name in fields])


def _lookup_query(service, username, secret_hash, *, secret: str | None) -> QuerySet:
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
        return (
            credentials.filter(
                registry__token_service_id=service,
                **{f"registry__{key}": value for key, value in _TOKEN_REGISTRIES.items()},
            )
            .annotate(
                **active_key_subqueries("registry_id"),
                # Whether any failed login by this username is on record (the lockout's
                # first question), answered in the same round trip.
                wharf_failures=Exists(AccessAttempt.objects.filter(username=username)),
            )
            .order_by()
            .values_list(
                "id",
                username_field,
                hash_field,
                "workspace_id",
                *(f"registry__{name}" for name in _REGISTRY_FIELDS),
                "wharf_key_id",
                "wharf_key_created",
                "wharf_failures",
            )[:1]
        )
    return (
        Registry.objects.filter(token_service_id=service, **_TOKEN_REGISTRIES)
        .annotate(**active_key_subqueries("pk"))
        .order_by()
        .values_list(*_REGISTRY_FIELDS, "wharf_key_id", "wharf_key_created")[:1]
    )


def _lookup(
    service: str, username: str = "", secret_hash: str = "", *, secret: str | None = None
) -> tuple | None:
    template = None
    if compiled.USE_TEMPLATES:
        template = compiled.template(
            ("lookup", secret),
            lambda placeholders: _lookup_query(
                placeholders.text("service"),
                placeholders.text("username") if secret else "",
                placeholders.text("secret_hash") if secret else "",
                secret=secret,
            ),
        )
    if template is None:
        rows = list(_lookup_query(service, username, secret_hash, secret=secret))
    else:
        values = {"service": service}
        if secret:
            values.update(username=username, secret_hash=secret_hash)
        rows = template.run(router.db_for_read(Registry), values)
    return tuple(rows[0]) if rows else None


def _unknown_service(service: str) -> UnknownService:
    return UnknownService(
        _("Unknown service %(service)r: no registry uses Wharf's token service with that id.")
        % {"service": service[:100]}
    )


def _credential_row(service: str, username: str, password: str) -> tuple | None:
    """The lookup's row for a ``ws-`` username whose current secret, or previous one inside
    its overlap window, is ``password``; None for anyone else."""
    if not username.startswith(CREDENTIAL_PREFIX):
        return None
    digest = hash_secret(password)
    return _lookup(service, username, digest, secret="current") or _lookup(
        service, username, digest, secret="previous"
    )


def _credential_from_row(row: tuple, alias: str) -> PullCredential:
    """The credential a lookup found, with its registry and the hash it matched on; it carries
    only what the token service reads (anything else loads on access)."""
    (
        credential_id,
        username,
        matched_hash,
        workspace_id,
        *registry_values,
        key_id,
        key_created,
        failures_on_record,
    ) = row
    registry = _partial(Registry, alias, dict(zip(_REGISTRY_FIELDS, registry_values, strict=True)))
    registry.wharf_active_key = (key_id, key_created) if key_id is not None else None
    credential = _partial(
        PullCredential,
        alias,
        {"id": credential_id, "username": username, "workspace_id": workspace_id, "registry_id": registry.pk},
    )
    credential.wharf_matched_hash = matched_hash
    credential.wharf_failures_on_record = bool(failures_on_record)
    # The grant needs the workspace's id only; its name loads if anything asks.
    credential.workspace = _partial(Workspace, alias, {"id": workspace_id})
    credential.registry = registry
    return credential


def _registry_from_row(row: tuple, alias: str) -> Registry:
    *registry_values, key_id, key_created = row
    registry = _partial(Registry, alias, dict(zip(_REGISTRY_FIELDS, registry_values, strict=True)))
    registry.wharf_active_key = (key_id, key_created) if key_id is not None else None
    return registry


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
        raise _unknown_service(service)
    alias = router.db_for_read(Registry)
    row = _credential_row(service, username, password)
    if row is not None:
        credential = _credential_from_row(row, alias)
        registry = credential.registry
    else:
        row = _lookup(service)
        if row is None:
            raise _unknown_service(service)
        credential = None
        registry = _registry_from_row(row, alias)
    registry.wharf_credential = credential
    return registry


def bundle_registry(service: str) -> Registry | None:
    """The registry whose certificate bundle ``?service=`` asks for, if it is one of Wharf's."""
    if not _SERVICE.fullmatch(service):
        return None
    return Registry.objects.filter(token_service_id=service, **_TOKEN_REGISTRIES).first()
