"""Signing keys: the ES256 keys that sign registry tokens, the certificates registries trust
(their rootcertbundle), and the signing of a token itself.

Each registry integrated since signing keys became per registry has its own key and trusts only
its certificates (``/auth/certificates.pem?service=<id>``), so a token signed for one registry
is refused by every other; older registries share the key they were set up with. The decrypted
signing key is kept per process, keyed by the key's id and creation time.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from portal import crypto
from registries.models import Registry, TokenSigningKey
from registries.tokens.errors import NoSigningKey

if TYPE_CHECKING:
    from registries.tokens.principals import Principal

SIGNER_COMMON_NAME = "wharf-token-signer"
# Registries check the certificate's validity on every token; rotation, not expiry, is how a
# key is replaced, so the certificate outlives any sensible rotation schedule.
CERTIFICATE_VALIDITY = dt.timedelta(days=3650)
MAX_LIFETIME = 300


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
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def keys_of(registry: Registry | None) -> QuerySet[TokenSigningKey]:
    """The keys that sign for ``registry``: its own, or (None) the shared ones."""
    return (
        TokenSigningKey.objects.filter(registry=registry)
        if registry is not None
        else TokenSigningKey.objects.filter(registry__isnull=True)
    )


def create_signing_key(registry: Registry | None = None) -> TokenSigningKey:
    """A new key that signs for ``registry`` from now on, or a new shared key (the caller
    retires the previous one, if any)."""
    key_pem, certificate_pem = _new_key_and_certificate()
    return TokenSigningKey.objects.create(
        private_key_encrypted=crypto.encrypt(key_pem), certificate_pem=certificate_pem, registry=registry
    )


def _signing_keys_for(registry: Registry) -> QuerySet[TokenSigningKey]:
    """The active keys that may sign for ``registry``, the one that does first: its own, else
    the shared one (registries integrated before each got its own key trust that one)."""
    return TokenSigningKey.objects.filter(
        Q(registry=registry) | Q(registry__isnull=True), retired__isnull=True
    ).order_by(F("registry").asc(nulls_last=True), "-created", "-id")


def active_signing_key(registry: Registry | None = None) -> TokenSigningKey | None:
    """The key that signs for ``registry`` (None: the shared key)."""
    if registry is None:
        return keys_of(None).filter(retired__isnull=True).first()
    return _signing_keys_for(registry).first()


@transaction.atomic
def rotate_signing_key(registry: Registry | None = None) -> TokenSigningKey:
    """Sign for ``registry`` (None: the registries using the shared key) with a new key from
    now on. The old ones stay in the bundle (retired), so tokens they signed stay valid until
    they expire; registries accept the new key's tokens once they have been given the new
    bundle (docker-registry reads it when it starts). A registry still on the shared key gets
    its own this way."""
    # Locking the active keys makes two concurrent rotations leave exactly one key active.
    active = list(keys_of(registry).select_for_update().filter(retired__isnull=True))
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
    keys = keys_of(registry) if registry is not None and keys_of(registry).exists() else keys_of(None)
    return "".join(
        pem if pem.endswith("\n") else pem + "\n" for pem in keys.values_list("certificate_pem", flat=True)
    )


# -- the active key, found along with the registry ---------------------------------------------


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


def active_key_subqueries(registry_column: str) -> dict[str, Subquery]:
    """Annotations carrying the (id, creation time) of the key that signs for the registry in
    ``registry_column`` along with another query, so finding out which key signs costs no round
    trip of its own."""
    active = TokenSigningKey.objects.filter(
        Q(registry=OuterRef(registry_column)) | Q(registry__isnull=True), retired__isnull=True
    ).order_by(F("registry").asc(nulls_last=True), "-created", "-id")
    return {
        "wharf_key_id": Subquery(active.values("pk")[:1]),
        "wharf_key_created": Subquery(active.values("created")[:1]),
    }


def _active_key_ref(registry: Registry) -> tuple[int, dt.datetime] | None:
    ref = getattr(registry, "wharf_active_key", _NOT_LOOKED_UP)
    if ref is _NOT_LOOKED_UP:
        ref = _signing_keys_for(registry).values_list("pk", "created").first()
    return ref


def _load_signer(key_id: int) -> _Signer:
    """The stored key ``key_id``, decrypted, with the certificate chain tokens carry (x5c)."""
    stored = TokenSigningKey.objects.get(pk=key_id)
    key = serialization.load_pem_private_key(
        crypto.decrypt(stored.private_key_encrypted).encode(), password=None
    )
    certificate = x509.load_pem_x509_certificate(stored.certificate_pem.encode())
    der = certificate.public_bytes(serialization.Encoding.DER)
    return _Signer(key, (base64.b64encode(der).decode(),))


def _signer(ref: tuple[int, dt.datetime] | None) -> _Signer:
    """The active key, decrypted and parsed once per process.

    Keyed by id *and* creation time: ids can be reused (a test database rolled back, a restored
    backup), and signing with a stale key would make every token fail at the registry.
    """
    if ref is None or ref[0] is None:
        raise NoSigningKey()
    signer = _signers.get(ref)
    if signer is None:
        signer = _load_signer(ref[0])
        with _signers_lock:
            # Rotations are rare and registries few: starting afresh now and then is cheap.
            if len(_signers) >= MAX_CACHED_SIGNERS:
                _signers.clear()
            _signers[ref] = signer
    return signer


# -- tokens ------------------------------------------------------------------------------------


def token_lifetime() -> int:
    return min(int(settings.WHARF_TOKEN_LIFETIME), MAX_LIFETIME)


def issue_token(
    registry: Registry,
    principal: Principal,
    access_claim: list[dict[str, Any]],
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
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
