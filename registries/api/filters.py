import django_filters
from django.utils.translation import gettext_lazy as _

from registries.models import Registry, RegistrySpace


class RegistryFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=100, label=_("Name"))

    class Meta:
        model = Registry
        fields = ["name"]


class SpaceFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=100, label=_("Name"))
    visibility = django_filters.ChoiceFilter(choices=RegistrySpace.Visibility.choices,
                                             label=_("Type"))

    class Meta:
        model = RegistrySpace
        fields = ["name", "visibility"]
