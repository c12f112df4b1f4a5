from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# RFC 1123 label, as Kubernetes names namespaces.
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

dns_label_validator = RegexValidator(
    DNS_LABEL_PATTERN,
    _(
        "Use at most 63 lowercase letters, digits and hyphens, starting and ending with a "
        "letter or digit."
    ),
    code="dns_label",
)


def dns_label_condition(field: str) -> Q:
    return Q(**{f"{field}__regex": DNS_LABEL_PATTERN})
