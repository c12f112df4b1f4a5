from contextlib import contextmanager

from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from portal.errors import ServiceError


def service_error_detail(error: ServiceError) -> dict:
    return {error.field or api_settings.NON_FIELD_ERRORS_KEY: [error.message]}


@contextmanager
def service_errors():
    """Turn a service's refusal into a 400 with the message on its field (as the pages do)."""
    try:
        yield
    except ServiceError as error:
        raise ValidationError(service_error_detail(error)) from None
