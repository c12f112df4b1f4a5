"""What the token-service snippet on a registry's page needs from settings and the database."""

from urllib.parse import urlencode

from django import template
from django.conf import settings

from registries import tokens

register = template.Library()

# Where the snippet suggests keeping the bundle; any path the registry can read will do.
BUNDLE_PATH = "/etc/docker/registry/wharf-token-certificates.pem"


@register.simple_tag
def token_service_config(registry) -> dict:
    base = settings.WHARF_PUBLIC_URL
    return {
        "realm": f"{base}/auth/token",
        "service": registry.token_service_id,
        "issuer": settings.WHARF_TOKEN_ISSUER,
        "rootcertbundle": BUNDLE_PATH,
        "bundle_url": f"{base}/auth/certificates.pem?{urlencode({'service': registry.token_service_id})}",
        "has_key": tokens.active_signing_key(registry) is not None,
    }
