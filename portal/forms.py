from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _

from portal import audit_sentences, lockout
from portal.inputs import BoundedDateTimeField


class LoginForm(AuthenticationForm):
    """Django's login form, saying so when a lockout, not a typo, refused the login."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if lockout.locked_out(self.request):
                raise ValidationError(lockout.message(self.request), code="locked_out") from None
            raise

    @property
    def is_locked_out(self) -> bool:
        return self.has_error(NON_FIELD_ERRORS, "locked_out")


class AuditFilterForm(forms.Form):
    words = forms.CharField(
        label=_("Words"), required=False, max_length=100, help_text=_("e.g. bound, payments, team-a")
    )
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False)
    target = forms.CharField(label=_("Target"), required=False, max_length=255)
    since = BoundedDateTimeField(
        label=_("From"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = BoundedDateTimeField(
        label=_("To"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The values stay the action codes (the API's too); people read and pick the words.
        self.fields["action"].choices = [("", _("Any"))] + audit_sentences.choices()

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the period is before its start."))
        return data
