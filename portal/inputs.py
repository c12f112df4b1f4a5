"""Strict readers for the numbers, ids, dates and search terms clients send.

Python's ``int()`` reads ``"١"`` (an Arabic-Indic digit) or ``"１"`` as 1, and Django's and
DRF's integer fields also read ``"1.0"`` and ``1.0`` as 1, so a value typed in another script
or as a float silently names object 1. Every number a client sends, on the pages and in the
API, goes through these: a JSON integer or a string of ASCII digits, nothing else.

Dates: PostgreSQL keeps time-zone offsets only up to ±15:59 and Python's datetime only years
1 to 9999, so a filter ``2026-01-01T00:00+20:00`` or ``0001-01-01T00:00+01:00`` has to be
refused as bad input before the database (or the UTC conversion) fails on it.
"""

import re
from datetime import UTC, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# Primary keys are 64-bit (BigAutoField): anything larger names nothing and would overflow.
MAX_ID = 2**63 - 1
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+", re.ASCII)
# Longer than any 64-bit number: refuse before converting (int() of a huge string is slow).
_MAX_DIGITS = 20


def whole_number(value) -> int:
    """``value`` as an int if it is an integer (not a bool) or ASCII digits; else ValueError."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip(" \t\r\n")
        if len(text) <= _MAX_DIGITS and _WHOLE_NUMBER.fullmatch(text):
            return int(text)
    raise ValueError(f"not a whole number: {value!r}")


def id_or_none(value) -> int | None:
    """An object id (1 to MAX_ID) from a query string or form value, or None for anything else."""
    try:
        number = whole_number(value)
    except ValueError:
        return None
    return number if 1 <= number <= MAX_ID else None


class WholeNumberField(serializers.IntegerField):
    """DRF: a JSON integer or ASCII digits; 1.0, true, "1.5" and "١" are invalid."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("min_value", -MAX_ID)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and len(data) > self.MAX_STRING_LENGTH:
            self.fail("max_string_length")
        try:
            return whole_number(data)
        except ValueError:
            self.fail("invalid")


def id_serializer_field(**kwargs) -> WholeNumberField:
    return WholeNumberField(min_value=1, max_value=MAX_ID, **kwargs)


class WholeNumberFormField(forms.IntegerField):
    """Django forms: ASCII digits only (forms.IntegerField reads "1.0" and "١" as 1)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_ID)
        kwargs.setdefault("min_value", -MAX_ID)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return whole_number(value)
        except ValueError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class IdChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose submitted value must be an id in ASCII digits.

    ModelChoiceField hands the raw value to the database lookup, which runs int() on it.
    """

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if id_or_none(value) is None:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        return super().to_python(value)


class IdFilter(django_filters.Filter):
    """An exact id in a filter: a whole number from 1 to MAX_ID."""

    field_class = WholeNumberFormField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


# Dates -------------------------------------------------------------------------------------

MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)


def bounded_datetime(value):
    """An aware datetime in UTC, or ValidationError for offsets or dates the database refuses."""
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValidationError(_("Time-zone offsets range from -15:59 to +15:59."), code="offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(_("Enter a date between the years 1 and 9999."), code="range") from None


class BoundedDateTimeField(forms.DateTimeField):
    """A form's date and time, refused cleanly when the database could not store it."""

    def to_python(self, value):
        return bounded_datetime(super().to_python(value))


class BoundedIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        return bounded_datetime(super().to_python(value))


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-time filter with the same limits as BoundedDateTimeField."""

    field_class = BoundedIsoDateTimeField


# Search terms ------------------------------------------------------------------------------


class SearchForm(forms.Form):
    """A search box: at most 100 characters, no NUL (PostgreSQL refuses NUL in text)."""

    q = forms.CharField(required=False, max_length=100)


def search_term(data) -> str:
    """The cleaned ``q`` of a page's query string; "" when it is missing or not acceptable."""
    form = SearchForm(data)
    return form.cleaned_data["q"].strip() if form.is_valid() else ""
