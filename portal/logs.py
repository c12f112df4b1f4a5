"""Logging helpers: every record carries the request id (the one audit events and the
``X-Request-ID`` header carry), and ``WHARF_LOG_FORMAT=json`` writes one JSON object a line
(python-json-logger) for log collectors."""

import logging

from portal import audit


class RequestIdFilter(logging.Filter):
    """Adds ``request_id``: the current request's, or "" outside a request (workers, commands)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = audit.current_request_id.get()
        return True
