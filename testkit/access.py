"""``assert_access``: who gets which status from one URL, as a table.

    assert_access(client, url, {ADMIN: 200, WS_VIEWER: 200, OUTSIDER: 404, ANONYMOUS: 302})

Every persona is asked in turn (logged in as it, or as nobody for ``anonymous``), and every
mismatch is reported at once, so a failing matrix shows its whole shape, not its first cell.
"""

from __future__ import annotations

from testkit.personas import ANONYMOUS, user_for


def _label(persona) -> str:
    if persona is None or persona == ANONYMOUS:
        return ANONYMOUS
    return persona if isinstance(persona, str) else f"user {persona.get_username()}"


def _where(response) -> str:
    location = response.headers.get("Location") if hasattr(response, "headers") else None
    return f" (to {location})" if location else ""


def assert_access(client, url, expected: dict, method="get", data=None, **extra):
    """Request ``url`` with ``method`` as each persona of ``expected`` and compare the statuses.

    ``expected`` maps a persona (a name from ``testkit.personas``, a User, or None for the
    anonymous visitor) to the status it must get. A named persona's user is the one its fixture
    made, else a new one. ``client`` is a Django or REST framework test client (a new Django
    client when None); it is logged out at the end. ``data`` and ``extra`` (headers, ``format``)
    go with every request. Personas are asked in the dict's order: put those a write is refused
    to before the one it succeeds for.
    """
    if client is None:
        from django.test import Client

        client = Client()
    send = getattr(client, method.lower())
    mismatches, answers = [], []
    for persona, status in expected.items():
        user = user_for(persona) if isinstance(persona, str) else persona
        client.logout()
        if user is not None:
            client.force_login(user)
        response = send(url, data, **extra) if data is not None else send(url, **extra)
        answers.append(f"{_label(persona)}={response.status_code}")
        if response.status_code != status:
            mismatches.append(
                f"  {_label(persona)}: expected {status}, got {response.status_code}{_where(response)}"
            )
    client.logout()
    if mismatches:
        raise AssertionError(
            f"{method.upper()} {url}: {len(mismatches)} of {len(expected)} personas "
            f"got another status\n" + "\n".join(mismatches) + f"\n  (all answers: {', '.join(answers)})"
        )


def api_as(persona):
    """A REST framework client authenticated as ``persona`` (a name from ``testkit.personas`` or
    a User), without a session: what an API caller with valid credentials sends."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user_for(persona) if isinstance(persona, str) else persona)
    return client
