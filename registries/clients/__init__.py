from .base import (
    AddressPolicy,
    AddressRefused,
    AuthenticationFailed,
    BadAnswer,
    CheckResult,
    Conflict,
    Connection,
    Deadline,
    Forbidden,
    LayerInfo,
    NotFound,
    PlatformLayers,
    RateLimited,
    RegistryClient,
    RegistryError,
    RegistryTimeout,
    RepositoryInfo,
    ScanOverview,
    SpaceInfo,
    TagInfo,
    TLSFailure,
    Unreachable,
    Unsupported,
    space_of,
)


def client_for(kind: str, connection: Connection) -> RegistryClient:
    from .distribution import DistributionClient
    from .harbor import HarborClient

    clients: dict[str, type[RegistryClient]] = {"harbor": HarborClient, "distribution": DistributionClient}
    try:
        return clients[kind](connection)
    except KeyError:
        raise Unsupported(f"Unknown registry kind {kind!r}.") from None


__all__ = [
    "AddressPolicy",
    "AddressRefused",
    "AuthenticationFailed",
    "BadAnswer",
    "CheckResult",
    "Conflict",
    "Connection",
    "Deadline",
    "Forbidden",
    "LayerInfo",
    "NotFound",
    "PlatformLayers",
    "RateLimited",
    "RegistryClient",
    "RegistryError",
    "RegistryTimeout",
    "RepositoryInfo",
    "ScanOverview",
    "SpaceInfo",
    "TagInfo",
    "TLSFailure",
    "Unreachable",
    "Unsupported",
    "client_for",
    "space_of",
]
