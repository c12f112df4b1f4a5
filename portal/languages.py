"""The language a page is in: the signed-in person's own choice, else the browser's.

LocaleMiddleware picks the cookie's or Accept-Language's language. For a signed-in person the
choice they made with the top bar's switch wins on every device: it is stored on the account
(``UserPreference``), copied into the session at sign-in, and read from the session on each
request, so a page costs no extra query and a GET writes nothing.
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation

SESSION_KEY = "wharf_language"


def is_supported(language: str | None) -> bool:
    return bool(language) and language in dict(settings.LANGUAGES)


def remember_in_session(request, language: str) -> None:
    if hasattr(request, "session"):
        request.session[SESSION_KEY] = language


@receiver(user_logged_in, dispatch_uid="wharf-language-at-sign-in")
def apply_preference_at_sign_in(sender, request, user, **kwargs):
    from portal.models import UserPreference

    if request is None or not hasattr(request, "session"):
        return
    language = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    if is_supported(language):
        remember_in_session(request, language)
        translation.activate(language)
        request.LANGUAGE_CODE = language


class UserLanguageMiddleware:
    """After authentication: a signed-in person's stored language overrides the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = request.session.get(SESSION_KEY)
            if is_supported(language):
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
