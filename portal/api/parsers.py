"""JSON request bodies with a nesting limit.

Python's json module parses nested arrays recursively, so a body of 100,000 ``[`` raises
RecursionError (a 500) instead of a parse error. Wharf's API bodies are at most a few levels
deep; anything deeper than MAX_DEPTH is refused as a 400, like any other malformed JSON.
"""

import codecs
import json

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

MAX_DEPTH = 32


def nesting_depth(value) -> int:
    """How deep lists and dicts nest in a parsed value (iteratively: no recursion to exhaust)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in item)
    return deepest


def loads(text: str):
    """json.loads with the nesting limit: ValueError for anything that is not acceptable JSON.

    Python's decoder stops at its recursion limit with RecursionError; that and anything
    parsed but deeper than MAX_DEPTH are refused alike.
    """
    too_deep = _("JSON nested deeper than %(max)d levels is not accepted.") % {"max": MAX_DEPTH}
    try:
        value = json.loads(text, parse_constant=strict_constant)
    except RecursionError:
        raise ValueError(too_deep) from None
    if nesting_depth(value) > MAX_DEPTH:
        raise ValueError(too_deep)
    return value


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with the nesting limit; every other error stays DRF's 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read() if stream is not None else ""
            return loads(text)
        except ValueError as error:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": error}) from None
