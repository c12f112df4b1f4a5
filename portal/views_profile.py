"""The profile page: who you are, and your personal API tokens."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from portal.api import tokens
from portal.models import ApiToken

EXPIRY_CHOICES = [
    ("", gettext_lazy("Never")),
    ("30", gettext_lazy("In 30 days")),
    ("90", gettext_lazy("In 90 days")),
    ("365", gettext_lazy("In a year")),
]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. “CI pipeline”."),
    )
    expires_in = forms.TypedChoiceField(
        label=gettext_lazy("Expires"), choices=EXPIRY_CHOICES, coerce=int, empty_value=None, required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        # Tokens are told apart by name when revoking; two of the same name invite mistakes.
        if ApiToken.objects.filter(user=self.user, name=name).exists():
            raise forms.ValidationError(_("You already have a token with this name."))
        return name


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = TokenCreateForm(request.POST or None, user=request.user)
    new_token = new_key = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in"]
        expires = timezone.now() + timedelta(days=days) if days else None
        new_token, new_key = tokens.issue(request.user, form.cleaned_data["name"], expires)
        form = TokenCreateForm(user=request.user)
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user),
        "new_token": new_token,
        "new_key": new_key,
    }
    response = render(request, "portal/profile.html", context)
    if new_key:
        # The key is in this page and nowhere else: keep it out of every cache.
        add_never_cache_headers(response)
    return response


@login_required
@require_POST
def revoke_token(request, pk):
    # Someone else's token is outside this user's scope: 404, as if it did not exist.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.revoke(token, request.user)
    messages.success(request, _("Revoked API token %(name)s.") % {"name": token.name})
    return redirect("profile")
