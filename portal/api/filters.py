import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from portal import audit_sentences
from portal.inputs import BoundedIsoDateTimeFilter
from portal.models import AuditEvent


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter's backend, refusing typed filters given without a value.

    ``?until=`` or ``?workspace=`` would otherwise mean "no filter", so a client that failed to
    fill in a value gets everything instead of an error. Text filters (``name=``) may be empty.
    """

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        params = request.query_params
        blank = {
            name: [_("Give a value, or leave the parameter out.")]
            for name, filter_ in filterset.filters.items()
            if not isinstance(filter_, django_filters.CharFilter) and params.get(name) == ""
        }
        if blank:
            raise ValidationError(blank)
        return filterset


class PeriodForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the period is before its start."))
        return data


class AuditEventFilter(django_filters.FilterSet):
    """The Audit Log's filters, for the API and the page (portal/views.py audit_log, whose form
    portal.forms.AuditFilterForm only shows and checks them)."""

    words = django_filters.CharFilter(method="filter_words", max_length=100, label=_("Words"))
    actor = django_filters.CharFilter(
        field_name="actor_name", lookup_expr="icontains", max_length=150, label=_("Actor")
    )
    action = django_filters.CharFilter(field_name="action", max_length=64, label=_("Action"))
    target = django_filters.CharFilter(
        field_name="target_label", lookup_expr="icontains", max_length=255, label=_("Target")
    )
    since = BoundedIsoDateTimeFilter(field_name="created", lookup_expr="gte", label=_("From"))
    until = BoundedIsoDateTimeFilter(field_name="created", lookup_expr="lte", label=_("To"))

    class Meta:
        model = AuditEvent
        form = PeriodForm
        fields = ["words", "actor", "action", "target", "since", "until"]

    def filter_words(self, queryset, name, value):
        # Each word must be in the event's sentence (its action's words), its target or its
        # actor: "bound payments" finds the bindings of payments.
        for word in value.split():
            queryset = queryset.filter(
                Q(action__in=audit_sentences.codes_matching(word))
                | Q(target_label__icontains=word)
                | Q(actor_name__icontains=word)
                | Q(before__icontains=word)
                | Q(after__icontains=word)
            )
        return queryset


def cleaned(filters: django_filters.FilterSet, name: str, default=""):
    """The value a page's filter form shows again: as the FilterSet read it, or ``default`` when
    it was missing or refused (a refused value filters nothing, on the pages and in the API)."""
    filters.is_valid()
    value = filters.form.cleaned_data.get(name)
    return default if value in (None, "") else value
