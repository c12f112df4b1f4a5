"""Small typed readers for settings from the environment.

Each fails at start with a message naming the variable, so a typo never turns into a
silently different configuration.
"""

import ipaddress
import os
import re
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or networks (``10.0.0.5,10.1.0.0/16``)."""
    networks = env_list(name)
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} entries must be addresses or networks like 10.0.0.5 or 10.0.0.0/24; got {network!r}."
            ) from None
    return networks


def parse_database_url(url: str, *, name: str = "DATABASE_URL") -> dict:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``postgres://user:pw@host:port/db``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if not path:
            raise ImproperlyConfigured(f"{name} names no SQLite file: {url!r}.")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    if parts.scheme in {"postgres", "postgresql", "pgsql"}:
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name} names no database: use postgres://user@host/NAME.")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name} has a port that is not a number.") from None
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"{name} must start with sqlite:// or postgres://; got scheme {parts.scheme!r}."
    )


_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+", re.ASCII)


def parse_proxy_ssl_header(raw: str, *, name: str = "SECURE_PROXY_SSL_HEADER") -> tuple[str, str] | None:
    """``X-Forwarded-Proto=https`` -> Django's ``("HTTP_X_FORWARDED_PROTO", "https")``; "" -> None."""
    raw = raw.strip()
    if not raw:
        return None
    header, sep, value = raw.partition("=")
    header, value = header.strip(), value.strip()
    if not sep or not _HEADER_NAME.fullmatch(header) or not value:
        raise ImproperlyConfigured(
            f"{name} must look like X-Forwarded-Proto=https (header=value); got {raw!r}."
        )
    return "HTTP_" + header.upper().replace("-", "_"), value
