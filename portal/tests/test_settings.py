import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from portal import crypto
from portal.env import env_bool, env_int, env_list, parse_database_url

ROOT = Path(__file__).resolve().parents[2]


def start_settings(**env):
    """Import the settings in a fresh interpreter, as a server would at start."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "WHARF_ENCRYPTION_KEYS", "DATABASE_URL", "WHARF_TESTING"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import portal.settings"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = start_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_refuses_to_start_without_encryption_keys_in_production():
    result = start_settings(DEBUG="0", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "WHARF_ENCRYPTION_KEYS must be set" in result.stderr


def test_bad_encryption_key_is_named_at_start():
    result = start_settings(DEBUG="1", WHARF_ENCRYPTION_KEYS="not-a-key")
    assert "WHARF_ENCRYPTION_KEYS" in result.stderr


def test_bad_boolean_is_named_at_start():
    result = start_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_bad_database_url_is_named_at_start():
    result = start_settings(DEBUG="1", DATABASE_URL="mysql://x/y")
    assert result.returncode != 0
    assert "DATABASE_URL must start with sqlite:// or postgres://" in result.stderr


def test_debug_starts_with_the_development_key():
    assert start_settings(DEBUG="1").returncode == 0


def test_production_starts_with_all_variables_set():
    result = start_settings(
        DEBUG="0", SECRET_KEY="x" * 50, WHARF_ENCRYPTION_KEYS=Fernet.generate_key().decode()
    )
    assert result.returncode == 0, result.stderr


def test_env_helpers_read_typed_values(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    monkeypatch.setenv("COUNT", "7")
    monkeypatch.setenv("HOSTS", "a.example.com, b.example.com,,")
    assert env_bool("FLAG") is True
    assert env_int("COUNT", 1) == 7
    assert env_list("HOSTS") == ["a.example.com", "b.example.com"]
    assert env_bool("UNSET_FLAG", True) is True
    monkeypatch.setenv("COUNT", "seven")
    with pytest.raises(ImproperlyConfigured, match="COUNT must be a whole number"):
        env_int("COUNT", 1)


def test_database_url_forms():
    assert parse_database_url("sqlite:///wharf.sqlite3")["NAME"] == "wharf.sqlite3"
    assert parse_database_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    pg = parse_database_url("postgres://wharf:s%40cret@db.internal:6543/wharf")
    assert (pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]) == (
        "wharf",
        "s@cret",
        "db.internal",
        "6543",
        "wharf",
    )
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        parse_database_url("postgres://db.internal/")


def test_rotation_decrypts_old_secrets_and_reencrypts_under_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WHARF_ENCRYPTION_KEYS = [old]
    stored = crypto.encrypt("s3cret")
    settings.WHARF_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(stored) == "s3cret"
    rotated = crypto.rotate(stored)
    settings.WHARF_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "s3cret"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored)


# Finding 16: production defaults that an operator opts into ---------------------------------

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "ci-check-deploy-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG",
    "ALLOWED_HOSTS": "wharf.example.com",
}


def production_settings(*names, **env):
    """The named settings as a production start (DEBUG off, not under pytest) computes them."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "WHARF_ENCRYPTION_KEYS",
            "DATABASE_URL",
            "WHARF_TESTING",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
            "SECURE_PROXY_SSL_HEADER",
            "SECURE_SSL_REDIRECT",
        }
    }
    clean.update(PRODUCTION, WHARF_ENCRYPTION_KEYS=Fernet.generate_key().decode(), WHARF_TESTING="0", **env)
    code = (
        "import json, portal.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {list(names)!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_finding_16_hsts_subdomains_and_preload_are_off_unless_the_operator_opts_in():
    defaults = production_settings(
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    )
    assert defaults == {
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
    }
    opted_in = production_settings(
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="1",
        SECURE_HSTS_PRELOAD="1",
    )
    assert opted_in == {"SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_HSTS_PRELOAD": True}


def test_finding_16_the_proxy_https_header_is_trusted_only_when_configured():
    configured = production_settings(
        "SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto=https"
    )
    assert configured == {"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]}
    bad = start_settings(
        **PRODUCTION,
        WHARF_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    assert bad.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER must look like X-Forwarded-Proto=https" in bad.stderr


def test_finding_16_without_the_proxy_setting_a_forwarded_proto_header_is_not_believed(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = None
    response = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200


def test_finding_16_hsts_header_carries_only_what_was_opted_into(client, settings, db):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    settings.SECURE_HSTS_PRELOAD = False
    response = client.get("/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=3600"


def test_finding_16_check_deploy_is_clean_with_the_production_defaults():
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "DATABASE_URL",
            "WHARF_TESTING",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS",
            "SECURE_HSTS_PRELOAD",
            "SECURE_PROXY_SSL_HEADER",
            "SECURE_SSL_REDIRECT",
        }
    }
    clean.update(PRODUCTION, WHARF_ENCRYPTION_KEYS=Fernet.generate_key().decode(), WHARF_TESTING="0")
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd="/tmp",
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
