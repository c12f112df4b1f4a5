"""Personal API tokens: issue, revoke, and the hashing both sides agree on.

The key itself is never stored: only its SHA-256, so a leaked database does not leak usable
keys. A plain (unsalted) hash is enough because keys are long random strings, not passwords,
and it lets authentication find the token with one indexed lookup.
"""

import hashlib
import secrets

from django.db import transaction

from portal import audit
from portal.models import ApiToken

# 30 random bytes -> a 40-character url-safe key.
KEY_BYTES = 30
PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue(user, name: str, expires=None) -> tuple[ApiToken, str]:
    """Create a token and return it with its key: the only moment the key exists in clear."""
    key = secrets.token_urlsafe(KEY_BYTES)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, key_prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key), expires=expires
        )
        audit.record(
            user,
            "api_token.create",
            token,
            after={
                "name": name,
                "prefix": token.key_prefix,
                "expires": expires.isoformat() if expires else None,
            },
        )
    return token, key


def revoke(token: ApiToken, actor) -> None:
    with transaction.atomic():
        audit.record(
            actor, "api_token.revoke", token, before={"name": token.name, "prefix": token.key_prefix}
        )
        token.delete()
