"""Shared view helpers for htmx: event responses and the page/fragment choice."""

import json

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers


def render_page(request, template: str, context: dict, *, fragment: str | None = None, status: int = 200):
    """Full page on a normal request, ``template#fragment`` when htmx asks for it."""
    name = f"{template}#{fragment}" if fragment and request.htmx and not request.htmx.boosted else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def trigger(events: dict, *, status: int = 204) -> HttpResponse:
    """An answer to a modal POST: no content, only events (close the modal, toast, refresh)."""
    response = HttpResponse(status=status)
    response["HX-Trigger"] = json.dumps(events)
    return response


def toast_events(message: str, *extra: str, close_modal: bool = True) -> dict:
    events = {"showToast": {"message": str(message)}}
    if close_modal:
        events["closeModal"] = True
    for name in extra:
        events[name] = True
    return events
