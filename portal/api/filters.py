import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from portal.inputs import BoundedIsoDateTimeFilter
from portal.models import AuditEvent


class PeriodForm(forms.Form):
    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("The end of the period is before its start."))
        return data


class AuditEventFilter(django_filters.FilterSet):
    """The Audit Log page's filters, with the same meaning."""

    actor = django_filters.CharFilter(field_name="actor_name", lookup_expr="icontains",
                                      max_length=150, label=_("Actor"))
    action = django_filters.CharFilter(field_name="action", max_length=64, label=_("Action"))
    target = django_filters.CharFilter(field_name="target_label", lookup_expr="icontains",
                                       max_length=255, label=_("Target"))
    since = BoundedIsoDateTimeFilter(field_name="created", lookup_expr="gte", label=_("From"))
    until = BoundedIsoDateTimeFilter(field_name="created", lookup_expr="lte", label=_("To"))

    class Meta:
        model = AuditEvent
        form = PeriodForm
        fields = ["actor", "action", "target", "since", "until"]
