from django.conf import settings

from sso import conf


def sign_in(request):
    """What the login page offers: the provider's button, the local form, or both."""
    return {
        "oidc_enabled": conf.enabled(),
        "oidc_provider_name": settings.WHARF_OIDC_PROVIDER_NAME,
        "local_login_enabled": settings.WHARF_LOCAL_LOGIN,
    }
