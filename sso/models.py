from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class OidcIdentity(models.Model):
    """Who a user is at an OpenID provider: (issuer, sub), never the e-mail address.

    E-mail addresses can be changed or reused at many providers; the pair (iss, sub) is the one
    identifier OpenID Connect promises is stable and unique for a person.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="oidc_identities",
        verbose_name=_("user"),
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    # True while the platform Admin role comes from the provider's admin group, so a later
    # sign-in without the group takes it away again; an Admin made in Wharf keeps the role.
    admin_from_provider = models.BooleanField(_("Admin from provider"), default=False)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    last_sign_in = models.DateTimeField(_("last sign-in"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique_subject"),
        ]
        verbose_name = _("OpenID Connect identity")
        verbose_name_plural = _("OpenID Connect identities")

    def __str__(self):
        return gettext("%(subject)s at %(issuer)s") % {"subject": self.subject, "issuer": self.issuer}
