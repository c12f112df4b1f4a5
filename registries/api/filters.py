"""The filters of the registry lists, one FilterSet per list: the API's views and the pages
(registries/views.py, workspace_views.py, image_views.py) both filter through them, so a filter
means the same in both. ``q`` is the pages' search box; it means the same as ``name``."""

import django_filters
from django.utils.translation import gettext_lazy as _

from portal.inputs import IdFilter
from registries.models import Registry, RegistrySpace, Repository


def name_search():
    return django_filters.CharFilter(
        field_name="name", lookup_expr="icontains", max_length=100, label=_("Name")
    )


class RegistryFilter(django_filters.FilterSet):
    name = name_search()
    q = name_search()

    class Meta:
        model = Registry
        fields = ["name", "q"]


class SpaceFilter(django_filters.FilterSet):
    name = name_search()
    q = name_search()
    visibility = django_filters.ChoiceFilter(choices=RegistrySpace.Visibility.choices, label=_("Type"))

    class Meta:
        model = RegistrySpace
        fields = ["name", "q", "visibility"]


class RepositoryFilter(django_filters.FilterSet):
    """Images, Choose Image and the namespace images API: search in names, one registry."""

    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100, label=_("Name"))
    registry = IdFilter(field_name="space__registry_id", label=_("Registry id"))

    class Meta:
        model = Repository
        fields = ["q", "registry"]
