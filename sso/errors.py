"""Why a sign-in was refused: a sentence for the person, a reason for the log."""

from django.utils.translation import gettext_lazy as _


class SignInFailed(Exception):
    """A refused sign-in. ``message`` is shown; ``reason`` is logged and may name details
    (URLs, claim names) that are of no use to the person but essential to the operator.
    Neither ever contains a token or a secret."""

    status = 400
    message = _("The sign-in could not be completed. Please try again.")

    def __init__(self, reason: str, message=None):
        super().__init__(reason)
        self.reason = reason
        if message is not None:
            self.message = message


class ProviderUnavailable(SignInFailed):
    status = 502
    message = _(
        "The identity provider could not be reached or gave an answer Wharf cannot use. "
        "Please try again later; if it persists, tell your platform team."
    )


class WrongIssuer(SignInFailed):
    status = 502
    message = _(
        "The identity provider does not identify itself as the issuer Wharf is configured "
        "for. Tell your platform team."
    )


class CallbackMismatch(SignInFailed):
    status = 400
    message = _(
        "This sign-in answer does not belong to a sign-in started in this browser, or it "
        "was used already. Please start again."
    )


class TokenRejected(SignInFailed):
    status = 401
    message = _("The identity provider's token could not be verified, so you were not signed in.")


class ClaimsRefused(SignInFailed):
    status = 403
    message = _(
        "Your account at the identity provider carries no group information Wharf can read, "
        "so Wharf cannot tell your roles. Ask your platform team to add the group claim."
    )


class AccountDisabled(SignInFailed):
    status = 403
    message = _("Your Wharf account is deactivated. Ask a platform Admin.")
