"""What the contract is written with: shapes from marshmallow schemas (through apispec's
marshmallow plugin), shared headers and problem responses, and operation builders.

Each view module declares its own operations with its views (a ``contract(doc)`` function);
:mod:`api.web.openapi` gathers them into ``openapi.yaml``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from api.web.http import IF_MATCH_PATTERN
from api.web.shapes import REF, Converter
from schemas.fields import (
    ID_PATTERN,
)


def _header(description: str, schema: dict[str, Any] | None = None,
            required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required,
            "schema": schema or {"type": "string"}}


HEADERS = {
    "X-Request-ID": _header("Identifies this request in our logs; echoed when the client sends "
                            "a valid one."),
    "ETag": _header("Strong validator of this representation."),
    "Last-Modified": _header("When the content last changed (HTTP date)."),
    "Cache-Control": _header("`public, max-age=N` for anonymous reads; `no-store` for health "
                             "checks."),
    "Vary": _header("`Accept-Language, Authorization`."),
    "Content-Language": _header("The language of the text: `en`, `es`, or `en, es` for `lang=*`."),
    "Link": _header('`<url>; rel="next"` when there is a next page.', required=False),
    "Allow": _header("The methods this path allows."),
    "Retry-After": _header("Seconds to wait before retrying."),
    "Location": _header("The record's address."),
    "WWW-Authenticate": _header('`Bearer realm="htcontent"`.'),
    "RateLimit-Limit": _header("Requests allowed in the current window.", required=False),
    "RateLimit-Remaining": _header("Requests left in the current window.", required=False),
    "RateLimit-Reset": _header("Seconds until the window resets.", required=False),
}


def headers_of(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("X-Request-ID", *names)}


def _problem(description: str, *extra_headers: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": headers_of(*extra_headers),
        "content": {"application/problem+json": {"schema": {"$ref": REF + "Problem"}}},
    }


PROBLEMS = {
    "BadRequest": _problem("Invalid query parameters; `errors` names each one."),
    "NotFound": _problem("No such resource (or not visible to this caller)."),
    "Gone": _problem("The record was retired; `retired_at` says when."),
    "MethodNotAllowed": _problem("The method is not allowed on this path.", "Allow"),
    "UriTooLong": _problem("The URL is longer than 8192 characters."),
    "HeadersTooLarge": _problem("A request header is longer than 8192 characters."),
    "Unauthorized": _problem("The API key is wrong, revoked or malformed, or a key is needed.",
                             "WWW-Authenticate"),
    "Forbidden": _problem("The API key lacks the scope this needs."),
    "Conflict": _problem("The id is taken (by this or another collection)."),
    "PreconditionFailed": _problem("If-Match does not name the record's current revision."),
    "PayloadTooLarge": _problem("The body is larger than 1 MiB."),
    "UnsupportedMediaType": _problem("The body is not JSON (or merge-patch JSON for PATCH)."),
    "UnprocessableEntity": _problem("The record is not valid; `errors` says why, by field."),
    "PreconditionRequired": _problem("Updates need If-Match with the record's current ETag."),
    "TooManyRequests": _problem("A rate limit was reached; wait Retry-After seconds.",
                                "Retry-After"),
    "ServerError": _problem("Unexpected error; quote `request_id` when reporting it."),
    "Unavailable": _problem("The database cannot be reached; retry after a few seconds.",
                            "Retry-After"),
}


def ok(schema_ref: str, description: str, *, language: bool = True,
        paged: bool = False) -> dict[str, Any]:
    names = ["ETag", "Cache-Control", "Vary", "Last-Modified"]
    if language:
        names.append("Content-Language")
    headers = headers_of(*names)
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        headers[name] = {"$ref": f"#/components/headers/{name}"}
    if paged:
        headers["Link"] = {"$ref": "#/components/headers/Link"}
    return {"description": description, "headers": headers,
            "content": {"application/json": {"schema": {"$ref": REF + schema_ref}}}}


def not_modified_response() -> dict[str, Any]:
    # A 304 carries the validators and caching headers, not representation metadata
    # (RFC 9110 section 15.4.5): no Last-Modified or Content-Language.
    return {"description": "The client's copy (`If-None-Match`) is current.",
            "headers": headers_of("ETag", "Cache-Control", "Vary")}


STATUS_OF = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404",
             "MethodNotAllowed": "405", "Conflict": "409", "Gone": "410",
             "PreconditionFailed": "412", "PayloadTooLarge": "413", "UriTooLong": "414",
             "UnsupportedMediaType": "415", "UnprocessableEntity": "422",
             "PreconditionRequired": "428", "TooManyRequests": "429", "HeadersTooLarge": "431",
             "ServerError": "500", "Unavailable": "503"}


def problems(*names: str) -> dict[str, Any]:
    """Problem responses: those named, plus those any operation can answer."""
    every = ("Unauthorized", "MethodNotAllowed", "UriTooLong", "TooManyRequests",
             "HeadersTooLarge", "ServerError", "Unavailable")
    chosen = {STATUS_OF[n]: n for n in (*names, *every)}
    return {status: {"$ref": f"#/components/responses/{chosen[status]}"}
            for status in sorted(chosen)}


CONDITIONAL = [
    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "An ETag from an earlier response: 304 when still current."},
    {"name": "Accept-Language", "in": "header", "required": False, "schema": {"type": "string"},
     "description": "Preferred languages when `lang` is not given (en, es)."},
]


OPTIONAL_KEY: list[dict[str, list[str]]] = [{}, {"bearerKey": []}, {"headerKey": []}]
KEY: list[dict[str, list[str]]] = [{"bearerKey": []}, {"headerKey": []}]


def operation(op_id: str, summary: str, tag: str, params: list[dict[str, Any]],
               responses: dict[str, Any], description: str = "",
               body: dict[str, Any] | None = None,
               security: list[dict[str, list[str]]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [tag]}
    if description:
        op["description"] = description
    op["security"] = security if security is not None else OPTIONAL_KEY
    op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    op["responses"] = responses
    return op


def get_op(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"get": operation(*args, **kwargs)}


def body_of(schema_ref: str, media_types: tuple[str, ...] = ("application/json",)) -> dict:
    return {"required": True,
            "content": {media: {"schema": {"$ref": REF + schema_ref}} for media in media_types}}


def saved(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "headers": headers_of("ETag", "Location"),
            "content": {"application/json": {"schema": {"$ref": REF + schema_ref}}}}


IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
            "description": "The ETag of the record as you last read it (any language); "
                           "`*` skips the check."}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                   "description": "Retries with the same key and body replay the first "
                                  "response; the same key with another body is 422."}


def meta_page() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["total", "count", "limit", "next_cursor"],
        "properties": {
            "total": {"type": "integer", "minimum": 0,
                      "description": "Matching records across all pages."},
            "count": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1},
            "next_cursor": {"type": ["string", "null"]},
            "guidance": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"$ref": REF + "TextTranslations"}]},
                "description": "Indicator lists only: what to keep in mind when using the "
                               "indicators (no single one proves trafficking; do not confront; "
                               "call 911 in immediate danger), in the response's language "
                               "(objects by language with `lang=*`).",
            },
        },
        "additionalProperties": False,
    }


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    """A page of a list: ``data`` (items shaped as ``item``), ``meta`` and ``links``."""
    return {"type": "object", "required": ["data", "meta", "links"],
            "properties": {"data": {"type": "array", "items": item},
                           "meta": {"$ref": REF + "PageMeta"},
                           "links": {"$ref": REF + "PageLinks"}},
            "additionalProperties": False}


def page_links() -> dict[str, Any]:
    return {"type": "object", "required": ["self", "next"],
            "properties": {"self": {"type": "string", "format": "uri"},
                           "next": {"type": ["string", "null"], "format": "uri"}},
            "additionalProperties": False}



@dataclasses.dataclass
class Contract:
    """The document being built: what each view module's ``contract(doc)`` adds to."""

    conv: Converter = dataclasses.field(default_factory=lambda: Converter())
    schemas: dict[str, Any] = dataclasses.field(default_factory=dict)
    paths: dict[str, Any] = dataclasses.field(default_factory=dict)
    tags: list[dict[str, str]] = dataclasses.field(default_factory=list)


WRITES = ("UnprocessableEntity", "UnsupportedMediaType", "PayloadTooLarge", "Forbidden",
          "BadRequest")
ID_PARAM = {"name": "record_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": ID_PATTERN},
            "description": "The record's id."}


def follow_ups(name: str, *operations: str) -> dict[str, Any]:
    """Links to follow-up operations on the record a response shows (stateful testing)."""
    out = {}
    for operation in operations:
        parameters = {"record_id": "$response.body#/data/id"}
        if operation != "get":
            parameters["header.If-Match"] = "$response.header.ETag"
        out[f"{operation.title()}{name}"] = {"operationId": f"{operation}{name}",
                                             "parameters": parameters}
    return out
