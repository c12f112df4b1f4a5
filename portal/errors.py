"""Errors every app's services raise; imports no app, so any layer can catch them."""


class ServiceError(Exception):
    """A refusal with a message for a person (and optionally the field it concerns)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
