"""The token service's refusals of a whole request: each carries the HTTP status and the code of
the Docker registry's error shape that the endpoint answers with (registries/tokens/views.py)."""

from django.utils.translation import gettext as _


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
        super().__init__(
            503,
            "UNAVAILABLE",
            _(
                "No key signs this registry's tokens yet: run manage.py token_keys --rotate "
                "--registry with the registry's name."
            ),
        )
