"""The API schema documents every status an operation can answer.

drf-spectacular documents what a view declares (200/201 and the 400s written next to them).
The rest follow from how every operation of this API works, so this hook adds them to each:

- 400: field errors (``{field: [message]}``), a malformed body, a query parameter given twice
  or a page number that is not one (portal.api.pagination, portal.middleware);
- 401: no or bad credentials (every operation needs a user);
- 403: the user's role does not allow it (or a session request without its CSRF token);
- 404: an object outside the user's scope, or a page past the end;
- 406: an Accept header that asks for no format the operation answers in;
- 415: a body in a format the operation does not parse (operations that take a body);
- 429: too many failed sign-ins from this client (portal/lockout.py), with ``Retry-After``.

Errors are always JSON, whatever format the successful answer has (the manifest's YAML).

Request bodies are documented as JSON. The API also reads the same fields form-encoded
(every value a string, "" for none), a convenience for scripts that is not the contract.
"""

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
    "description": "What went wrong, in one sentence.",
}
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {},
    "description": "Messages per field ({field: [message]}), non_field_errors for the request as a "
    "whole, or detail for a body that could not be parsed.",
}

STANDARD = {
    "400": ("FieldErrors", "Bad input: messages per field, or detail."),
    "401": ("Error", "Authentication credentials were not provided or are not valid."),
    "403": ("Error", "The user may not do this."),
    "404": ("Error", "Not found, or outside the user's scope; or a page past the end."),
    "406": ("Error", "No acceptable format in the Accept header."),
    "429": ("Error", "Locked out after too many failed sign-ins; Retry-After says for how long."),
}
WITH_BODY = {"415": ("Error", "Unsupported media type of the request body.")}


def _json(name: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def document_errors(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("FieldErrors", FIELD_ERRORS)
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            body = operation.get("requestBody", {}).get("content")
            if body and "application/json" in body:
                operation["requestBody"]["content"] = {"application/json": body["application/json"]}
            responses = operation.setdefault("responses", {})
            extra = {**STANDARD, **(WITH_BODY if "requestBody" in operation else {})}
            for status, (schema, description) in extra.items():
                documented = responses.setdefault(status, {"description": description})
                documented["content"] = _json(schema)
                if not documented.get("description"):
                    documented["description"] = description
    return result
