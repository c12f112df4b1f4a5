from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# RFC 1123 label, as Kubernetes names namespaces.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

dns_label_validator = RegexValidator(
    DNS_LABEL_PATTERN,
    _("Use at most 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit."),
    code="dns_label",
)


def dns_label_condition(field: str) -> Q:
    return Q(**{f"{field}__regex": DNS_LABEL_PATTERN})


# The longest name anyone logs in with: Django's usernames (150); workspace credentials
# (``ws-`` and a 63-character name) are shorter.
MAX_LOGIN_NAME = 150


def is_plausible_login_name(name: str) -> bool:
    """Whether ``name`` could be a user's or a workspace credential's: not too long, and no
    control characters (PostgreSQL cannot even compare a string holding NUL, so such a name
    must never reach a query)."""
    return 0 < len(name) <= MAX_LOGIN_NAME and not any(ord(char) < 32 or ord(char) == 127 for char in name)
