"""Builds ``openapi.yaml`` (OpenAPI 3.1) from the code: record shapes from the marshmallow schemas,
parameters from the query-argument schemas, vocabularies from the one vocabulary table.

``flask --app api openapi`` writes the file; a test fails when the committed file differs, so the
contract and the code cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields, missing

from api.web.http import IF_MATCH_PATTERN
from api.web.meta import API_VERSION, DOC_ASSETS
from schemas.fields import (
    EMAIL_PATTERN,
    ID_PATTERN,
    LANGUAGES,
    PHONE_PATTERN,
    TEXT_PATTERN,
    URL_PATTERN,
    Text,
    TextList,
    unique,
)
from schemas.params import (
    AUDIT_ACTIONS,
    LIST_ARGS,
    RECORD_ARGS,
    AuditArgs,
    ChangesArgs,
    CommaList,
    ExportArgs,
    HsdsArgs,
    RevisionArgs,
    SearchArgs,
)
from schemas.records import SCHEMAS, ChannelSchema, RecordSchema
from schemas.registry import REGISTRY
from schemas.render import ALL_LANGUAGES

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
REF = "#/components/schemas/"


def _component_name(schema_cls: type[Schema]) -> str:
    return schema_cls.__name__.removesuffix("Schema")


def _unique_items(self: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: our ``unique`` validator is JSON Schema's ``uniqueItems``."""
    return {"uniqueItems": True} if unique in field.validators else {}


def _field_converter() -> Any:
    """apispec's marshmallow field converter (OpenAPI 3.1: JSON Schema 2020-12)."""
    plugin = MarshmallowPlugin()
    APISpec("HT Content API", API_VERSION, "3.1.0", plugins=[plugin])
    converter = plugin.converter
    assert converter is not None
    converter.add_attribute_function(_unique_items)
    return converter


class Converter:
    """marshmallow shapes to OpenAPI components: each field through apispec's marshmallow
    plugin, except what only this API has (translatable text, whose form depends on the mode,
    and nested shapes, named by mode)."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self.fields = _field_converter()

    def field(self, field: fields.Field, mode: str = "output") -> dict[str, Any]:
        """JSON Schema of one field; ``mode`` "input" is the multilingual form clients write."""
        out: dict[str, Any]
        if isinstance(field, TextList):
            item = {"type": "string", "minLength": 1, "maxLength": field.max_length,
                    "pattern": TEXT_PATTERN}
            items = {"type": "array", "items": item, "maxItems": field.max_items}
            out = (self._translations(items, field) if mode == "input" else
                   {"anyOf": [items, {"$ref": REF + "TextListTranslations"}]})
        elif isinstance(field, Text):
            text = {"type": "string", "minLength": 1, "maxLength": field.max_length,
                    "pattern": TEXT_PATTERN}
            out = (self._translations(text, field) if mode == "input" else
                   {"anyOf": [text, {"$ref": REF + "TextTranslations"}]})
        elif isinstance(field, fields.Nested):
            out = {"$ref": REF + self.schema(type(field.schema), mode)}
        else:
            out = self.fields.field2property(field)
            out.pop("default", None)  # parameters say their defaults (see parameters())
            if isinstance(field, fields.List) and isinstance(field.inner, (fields.Nested, Text)):
                out["items"] = self.field(field.inner, mode)
            return out
        description = field.metadata.get("description")
        if description:
            out["description"] = description
        return out

    @staticmethod
    def _translations(value: dict[str, Any], field: fields.Field) -> dict[str, Any]:
        return {"type": "object", "required": ["en"],
                "properties": {lang: value for lang in LANGUAGES},
                "additionalProperties": False,
                "description": "Text by language; English is required."}

    def schema(self, schema_cls: type[Schema], mode: str = "output") -> str:
        """Register a nested schema (Source, Channel, Form) as a component; return its name."""
        name = _component_name(schema_cls) + ("Input" if mode == "input" else "")
        if name not in self.components:
            self.components[name] = {}  # reserve against recursion
            declared = schema_cls._declared_fields
            component: dict[str, Any] = {
                "type": "object",
                "properties": {n: self.field(f, mode) for n, f in declared.items()},
                "additionalProperties": False,
            }
            required = [n for n, f in declared.items() if f.required]
            if mode == "input" and required:
                component["required"] = required
            if mode == "input" and schema_cls is ChannelSchema:
                component["oneOf"] = [
                    {"properties": {"kind": {"enum": list(kinds)},
                                    "value": {"pattern": pattern}}}
                    for kinds, pattern in ((("voice", "text", "tty", "video"), PHONE_PATTERN),
                                           (("email",), EMAIL_PATTERN),
                                           (("web", "chat"), URL_PATTERN))]
                component["description"] = ("`value` is an E.164 number or short code for "
                                            "voice, text, tty and video; an address for email; an "
                                            "http(s) URL for web and chat.")
            self.components[name] = component
        return name

    def record_input(self, schema_cls: type[RecordSchema], kind: str = "Input") -> str:
        """A record as editors write it: ``Input`` (POST), ``Replacement`` (PUT, the id is in
        the URL) or ``Patch`` (PATCH, an RFC 7396 merge patch)."""
        name = _component_name(schema_cls) + kind
        patch = kind == "Patch"
        properties = {n: self.field(f, "input") for n, f in schema_cls._declared_fields.items()}
        properties["type"] = {"const": schema_cls.TYPE}
        if kind != "Input":
            del properties["id"]
        component: dict[str, Any] = {"type": "object", "properties": properties,
                                     "additionalProperties": False}
        if patch:
            component["description"] = ("An RFC 7396 merge patch of the multilingual form: "
                                        "fields to change; `null` removes an optional field.")
            component["properties"] = {
                n: {"anyOf": [schema, {"type": "null"}]} for n, schema in properties.items()}
        else:
            component["required"] = [n for n, f in schema_cls._declared_fields.items()
                                     if f.required and n in properties]
            noun = article(schema_cls.TYPE.replace("_", " ")).capitalize()
            component["description"] = (f"{noun} in the "
                                        "multilingual form (`lang=*`).")
        self.components[name] = component
        return name

    def record(self, schema_cls: type[RecordSchema]) -> str:
        """A record as responses show it: one language, or every language with ``lang=*``."""
        name = _component_name(schema_cls)
        properties: dict[str, Any] = {
            "id": {"type": "string", "pattern": ID_PATTERN},
            "type": {"const": schema_cls.TYPE},
            "version": {"type": "integer", "minimum": 0,
                        "description": "1 at first publication, +1 on every published change "
                                       "(0: a draft never published)."},
            "status": {"type": "string", "enum": ["draft", "published", "retired"]},
            "visibility": {"type": "string", "enum": ["public", "law_enforcement"]},
            "lang": {"type": "string", "enum": [*LANGUAGES, ALL_LANGUAGES],
                     "description": "The language of this response's text (`*`: all)."},
            "available_langs": {"type": "array", "items": {"type": "string", "enum": LANGUAGES}},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "retired_at": {"type": "string", "format": "date-time"},
            "review_due": {"type": ["string", "null"], "format": "date",
                           "description": f"`verified_on` plus "
                                          f"{REGISTRY[schema_cls.TYPE].review_days} days: "
                                          "when the record should be checked again (null: "
                                          "never checked, due now)."},
        }
        for field_name, field in schema_cls._declared_fields.items():
            if field_name not in properties:
                properties[field_name] = self.field(field)
        self.components[name] = {
            "type": "object",
            "description": f"{article(schema_cls.TYPE.replace('_', ' ')).capitalize()} "
                           "record. Translatable text is a "
                           "string in one language, or an object by language with `lang=*`. "
                           "With `fields=`, only the fields asked for (and id, type, version) "
                           "come.",
            "required": ["id", "type", "version"],
            "properties": properties,
            "additionalProperties": False,
        }
        return name

    def parameters(self, args: type[Schema]) -> list[dict[str, Any]]:
        out = []
        for name, field in args._declared_fields.items():
            schema = self.field(field)
            param: dict[str, Any] = {"name": name, "in": "query", "required": field.required}
            if isinstance(field, CommaList):
                schema = {"type": "array", "minItems": 1,
                          "items": {"type": "string", "enum": list(field.choices)}}
                param.update(style="form", explode=False)
            description = schema.pop("description", None)
            if description:
                param["description"] = description
            if field.load_default is not missing and not callable(field.load_default):
                schema["default"] = field.load_default
            param["schema"] = schema
            out.append(param)
        return out


# --------------------------------------------------------------------------------- responses

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


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in ("X-Request-ID", *names)}


def _problem(description: str, *extra_headers: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _headers(*extra_headers),
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


def _ok(schema_ref: str, description: str, *, language: bool = True,
        paged: bool = False) -> dict[str, Any]:
    names = ["ETag", "Cache-Control", "Vary", "Last-Modified"]
    if language:
        names.append("Content-Language")
    headers = _headers(*names)
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        headers[name] = {"$ref": f"#/components/headers/{name}"}
    if paged:
        headers["Link"] = {"$ref": "#/components/headers/Link"}
    return {"description": description, "headers": headers,
            "content": {"application/json": {"schema": {"$ref": REF + schema_ref}}}}


def _not_modified() -> dict[str, Any]:
    # A 304 carries the validators and caching headers, not representation metadata
    # (RFC 9110 section 15.4.5): no Last-Modified or Content-Language.
    return {"description": "The client's copy (`If-None-Match`) is current.",
            "headers": _headers("ETag", "Cache-Control", "Vary")}


STATUS_OF = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404",
             "MethodNotAllowed": "405", "Conflict": "409", "Gone": "410",
             "PreconditionFailed": "412", "PayloadTooLarge": "413", "UriTooLong": "414",
             "UnsupportedMediaType": "415", "UnprocessableEntity": "422",
             "PreconditionRequired": "428", "TooManyRequests": "429", "HeadersTooLarge": "431",
             "ServerError": "500", "Unavailable": "503"}


def _errors(*names: str) -> dict[str, Any]:
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


def article(noun: str) -> str:
    """``noun`` with its indefinite article: "an indicator", "a hotline"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _operation(op_id: str, summary: str, tag: str, params: list[dict[str, Any]],
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


def _op(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"get": _operation(*args, **kwargs)}


def _body(schema_ref: str, media_types: tuple[str, ...] = ("application/json",)) -> dict:
    return {"required": True,
            "content": {media: {"schema": {"$ref": REF + schema_ref}} for media in media_types}}


def _saved(schema_ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "headers": _headers("ETag", "Location"),
            "content": {"application/json": {"schema": {"$ref": REF + schema_ref}}}}


IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
            "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
            "description": "The ETag of the record as you last read it (any language); "
                           "`*` skips the check."}
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                   "description": "Retries with the same key and body replay the first "
                                  "response; the same key with another body is 422."}


def _meta_page() -> dict[str, Any]:
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


def _links() -> dict[str, Any]:
    return {"type": "object", "required": ["self", "next"],
            "properties": {"self": {"type": "string", "format": "uri"},
                           "next": {"type": ["string", "null"], "format": "uri"}},
            "additionalProperties": False}


def build() -> dict[str, Any]:
    """The whole OpenAPI document."""
    conv = Converter()
    components_schemas: dict[str, Any] = {
        "TextTranslations": {
            "type": "object", "required": ["en"],
            "properties": {lang: {"type": "string"} for lang in LANGUAGES},
            "additionalProperties": False,
            "description": "Text in each language (`lang=*`); English is always present.",
        },
        "TextListTranslations": {
            "type": "object", "required": ["en"],
            "properties": {lang: {"type": "array", "items": {"type": "string"}}
                           for lang in LANGUAGES},
            "additionalProperties": False,
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status", "detail", "instance", "request_id"],
            "properties": {
                "type": {"type": "string", "format": "uri-reference"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "request_id": {"type": "string"},
                "errors": {"type": "object",
                           "description": "Messages by parameter or field.",
                           "additionalProperties": True},
                "retired_at": {"type": "string", "format": "date-time"},
            },
            "additionalProperties": False,
        },
        "PageMeta": _meta_page(),
        "PageLinks": _links(),
    }
    paths: dict[str, Any] = {}
    tags = []

    paths["/api/v1"] = _op("getIndex", "The API index", "meta", [], {
        "200": _ok("Index", "Links to every collection and to the docs.", language=False),
        "304": _not_modified(),
        **_errors("BadRequest"),
    }, description="The API's name and version, and a link to every collection, the search, "
                   "the vocabularies, the change feed, the export and the docs: start here.")
    components_schemas["Index"] = {
        "type": "object", "required": ["name", "version", "api", "links"],
        "properties": {
            "name": {"type": "string"}, "version": {"type": "string"},
            "api": {"const": "v1"},
            "links": {"type": "object", "additionalProperties": {"type": "string",
                                                                 "format": "uri"}},
        },
        "additionalProperties": False,
    }

    for record_type, schema_cls in SCHEMAS.items():
        label = record_type.replace("_", " ")
        name = conv.record(schema_cls)
        collection = schema_cls.COLLECTION
        tags.append({"name": collection, "description": f"{name} records."})
        components_schemas[f"{name}List"] = {
            "type": "object", "required": ["data", "meta", "links"],
            "properties": {
                "data": {"type": "array", "items": {"$ref": REF + name}},
                "meta": {"$ref": REF + "PageMeta"},
                "links": {"$ref": REF + "PageLinks"},
            },
            "additionalProperties": False,
        }
        components_schemas[f"{name}Item"] = {
            "type": "object", "required": ["data"],
            "properties": {"data": {"$ref": REF + name}},
            "additionalProperties": False,
        }
        input_name = conv.record_input(schema_cls)
        patch_name = conv.record_input(schema_cls, "Patch")
        replacement_name = conv.record_input(schema_cls, "Replacement")
        writes = ("UnprocessableEntity", "UnsupportedMediaType", "PayloadTooLarge", "Forbidden",
                  "BadRequest")
        paths[f"/api/v1/{collection}"] = {
            "get": _operation(
                f"list{name}s", f"List {collection}", collection,
                conv.parameters(LIST_ARGS[record_type]) + CONDITIONAL,
                {"200": _ok(f"{name}List", "One page of records.", paged=True),
                 "304": _not_modified(), **_errors("BadRequest")},
                description="Filters combine with AND; the comma-separated values of one filter "
                            "with OR. Pages follow `links.next` (also in `Link`)."),
            "post": _operation(
                f"create{name}", f"Create {article(label)}", collection,
                [IDEMPOTENCY_KEY],
                {"201": _saved(f"{name}Item", "Created; `Location` is its address."),
                 **_errors(*writes, "Conflict")},
                description="Needs the `write` scope. `status: draft` keeps it out of every "
                            "read until published.",
                body=_body(input_name), security=KEY),
        }
        id_param = {"name": "record_id", "in": "path", "required": True,
                    "schema": {"type": "string", "pattern": ID_PATTERN},
                    "description": "The record's id."}
        update_errors = _errors(*writes, "NotFound", "Conflict", "PreconditionFailed",
                                "PreconditionRequired")
        def links(*operations: str, name: str = name) -> dict[str, Any]:
            """Follow-up operations on the record a response shows (stateful testing)."""
            out = {}
            for operation in operations:
                parameters = {"record_id": "$response.body#/data/id"}
                if operation != "get":
                    parameters["header.If-Match"] = "$response.header.ETag"
                out[f"{operation.title()}{name}"] = {"operationId": f"{operation}{name}",
                                                     "parameters": parameters}
            return out

        export = REGISTRY[record_type].csv
        if export is not None:
            paths[f"/api/v1/{collection}"]["get"]["responses"]["200"]["content"]["text/csv"] = {
                "schema": {"type": "string",
                           "description": f"With `format=csv`: {export.shape}, UTF-8 with a "
                                          "byte order mark; cells a spreadsheet would read as "
                                          "formulas start with `'`."}}
        paths[f"/api/v1/{collection}/{{record_id}}/revisions"] = _op(
            f"list{name}Revisions", f"The versions of {article(label)}",
            collection, [id_param, *CONDITIONAL[:1]],
            {"200": _ok("RevisionList", "Every published version, oldest first.",
                        language=False),
             "304": _not_modified(), **_errors("BadRequest", "NotFound")},
            description="Retired records keep their history.")
        paths[f"/api/v1/{collection}/{{record_id}}/revisions/{{version}}"] = _op(
            f"get{name}Revision", f"{article(label).capitalize()} as published at a version",
            collection,
            [id_param, {"name": "version", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}},
             *conv.parameters(RevisionArgs), *CONDITIONAL],
            {"200": _ok(f"{name}Item", "The record exactly as it was published then."),
             "304": _not_modified(), **_errors("BadRequest", "NotFound")},
            description="What an officer saw then: an RMS cites id and version.")
        paths[f"/api/v1/{collection}"]["post"]["responses"]["201"]["links"] = links(
            "get", "patch", "replace", "retire")
        paths[f"/api/v1/{collection}/{{record_id}}"] = {
            "get": _operation(
                f"get{name}", f"One {record_type.replace('_', ' ')}", collection,
                [id_param, *conv.parameters(RECORD_ARGS[record_type]), *CONDITIONAL],
                {"200": {**_ok(f"{name}Item", "The record."),
                         "links": links("patch", "replace", "retire")},
                 "304": _not_modified(), **_errors("BadRequest", "NotFound", "Gone")},
                description=f"The current version of {article(label)}, in the language asked "
                            "(`lang=*`: every language; `fields=`: only some fields). A "
                            "retired record is 410 with `retired_at`; a record you may not "
                            "see, or a draft, is 404."),
            "put": _operation(
                f"replace{name}", f"Replace {article(label)}", collection,
                [id_param, IF_MATCH],
                {"200": {**_saved(f"{name}Item", "Saved."), "links": links("get", "retire")},
                 **update_errors},
                description="The whole record, multilingual form. Needs the `write` scope.",
                body=_body(replacement_name), security=KEY),
            "patch": _operation(
                f"patch{name}", f"Change fields of {article(label)}",
                collection, [id_param, IF_MATCH],
                {"200": {**_saved(f"{name}Item", "Saved."), "links": links("get", "patch")},
                 **update_errors},
                description="An RFC 7396 merge patch. Needs the `write` scope.",
                body=_body(patch_name, ("application/merge-patch+json", "application/json")),
                security=KEY),
            "delete": _operation(
                f"retire{name}", f"Retire {article(label)}", collection,
                [id_param, IF_MATCH],
                {"204": {"description": "Retired: reads answer 410 from now on; every version "
                                        "stays in the history.", "headers": _headers("ETag")},
                 **_errors("BadRequest", "Forbidden", "NotFound", "Gone", "PreconditionFailed",
                           "PreconditionRequired")},
                description="A tombstone, not a hard delete. Needs the `write` scope.",
                security=KEY),
        }

    components_schemas["SearchResults"] = {
        "type": "object", "required": ["data", "meta", "links"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["type", "id", "version", "label", "snippet", "score", "link"],
                "properties": {
                    "type": {"type": "string", "enum": list(SCHEMAS)},
                    "id": {"type": "string", "pattern": ID_PATTERN},
                    "version": {"type": "integer", "minimum": 1},
                    "label": {"type": "string"},
                    "snippet": {"type": "string"},
                    "score": {"type": "number", "description": "Higher is more relevant."},
                    "link": {"type": "string", "format": "uri"},
                },
                "additionalProperties": False,
            }},
            "meta": {"$ref": REF + "PageMeta"},
            "links": {"$ref": REF + "PageLinks"},
        },
        "additionalProperties": False,
    }
    paths["/api/v1/search"] = _op(
        "search", "Search every record type", "search",
        conv.parameters(SearchArgs) + CONDITIONAL,
        {"200": _ok("SearchResults", "Hits, most relevant first."), "304": _not_modified(),
         **_errors("BadRequest")},
        description="English and Spanish text are both searched; `lang` picks the language of "
                    "labels and snippets.",
    )

    components_schemas["Vocabularies"] = {
        "type": "object", "required": ["data"],
        "properties": {"data": {"type": "array", "items": {
            "type": "object", "required": ["name", "description", "filters", "fields", "terms"],
            "properties": {
                "name": {"type": "string"},
                "description": {"$ref": REF + "TextTranslations"},
                "filters": {"type": "array", "items": {"type": "string"},
                            "description": "List filters (query parameters) taking these codes."},
                "fields": {"type": "array", "items": {"type": "string"},
                           "description": "Record fields (`type.field`) holding these codes."},
                "terms": {"type": "array", "items": {
                    "type": "object", "required": ["code", "labels", "counts"],
                    "properties": {
                        "code": {"type": "string"},
                        "labels": {"$ref": REF + "TextTranslations"},
                        "counts": {"type": "object",
                                   "additionalProperties": {"type": "integer", "minimum": 0},
                                   "description": "Visible records carrying the code, by type."},
                    },
                    "additionalProperties": False,
                }},
            },
            "additionalProperties": False,
        }}},
        "additionalProperties": False,
    }
    paths["/api/v1/vocabularies"] = _op(
        "listVocabularies", "Every controlled vocabulary", "vocabularies", CONDITIONAL[:1],
        {"200": _ok("Vocabularies", "Codes with English and Spanish labels.", language=False),
         "304": _not_modified(), **_errors("BadRequest")},
        description="Every controlled vocabulary: its codes with English and Spanish labels, "
                    "the list filters and record fields that take them, and how many visible "
                    "records carry each code, so a CAD or RMS can build its pick-lists.",
    )

    components_schemas["AuditList"] = {
        "type": "object", "required": ["data", "meta", "links"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "at", "actor", "action", "type", "record_id", "version",
                             "status", "changes", "request_id"],
                "properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "string", "format": "date-time"},
                    "actor": {"type": "string", "description": "The key's name."},
                    "action": {"type": "string", "enum": list(AUDIT_ACTIONS)},
                    "type": {"type": "string", "enum": list(SCHEMAS)},
                    "record_id": {"type": "string"},
                    "version": {"type": "integer", "minimum": 0},
                    "status": {"type": "string", "enum": ["draft", "published", "retired"]},
                    "changes": {"type": "object", "description": "By field: `from` and `to`.",
                                "additionalProperties": {
                                    "type": "object", "required": ["from", "to"],
                                    "properties": {"from": {}, "to": {}},
                                    "additionalProperties": False}},
                    "request_id": {"type": "string"},
                },
                "additionalProperties": False,
            }},
            "meta": {"$ref": REF + "PageMeta"},
            "links": {"$ref": REF + "PageLinks"},
        },
        "additionalProperties": False,
    }
    components_schemas["RevisionList"] = {
        "type": "object", "required": ["data", "meta"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object",
                "required": ["version", "status", "visibility", "published_at", "link"],
                "properties": {
                    "version": {"type": "integer", "minimum": 1},
                    "status": {"type": "string", "enum": ["published", "retired"]},
                    "visibility": {"type": "string", "enum": ["public", "law_enforcement"]},
                    "published_at": {"type": "string", "format": "date-time"},
                    "link": {"type": "string", "format": "uri"},
                },
                "additionalProperties": False}},
            "meta": {"type": "object", "required": ["count", "current_version"],
                     "properties": {"count": {"type": "integer", "minimum": 0},
                                    "current_version": {"type": "integer", "minimum": 0}},
                     "additionalProperties": False},
        },
        "additionalProperties": False,
    }
    any_record = {"oneOf": [{"$ref": REF + _component_name(schema_cls)}
                            for schema_cls in SCHEMAS.values()]}
    components_schemas["ChangeFeed"] = {
        "type": "object", "required": ["data", "meta", "links"],
        "properties": {
            "data": {"type": "array", "items": {
                "type": "object", "required": ["seq", "op", "type", "id", "version", "record"],
                "properties": {
                    "seq": {"type": "integer", "minimum": 1},
                    "op": {"type": "string", "enum": ["upsert", "delete"]},
                    "type": {"type": "string", "enum": list(SCHEMAS)},
                    "id": {"type": "string", "pattern": ID_PATTERN},
                    "version": {"type": "integer", "minimum": 1},
                    "record": {"anyOf": [any_record, {"type": "null"}],
                               "description": "The record as published (null for deletes)."},
                },
                "additionalProperties": False}},
            "meta": {"type": "object", "required": ["next_token", "has_more"],
                     "properties": {"next_token": {"type": "string"},
                                    "has_more": {"type": "boolean"}},
                     "additionalProperties": False},
            "links": {"$ref": REF + "PageLinks"},
        },
        "additionalProperties": False,
    }
    paths["/api/v1/changes"] = _op(
        "listChanges", "What changed since a token", "sync",
        conv.parameters(ChangesArgs) + CONDITIONAL,
        {"200": _ok("ChangeFeed", "Changes in order; keep `meta.next_token` for next time.",
                    paged=True),
         "304": _not_modified(), **_errors("BadRequest")},
        description="Replaying the feed from any token reproduces what the caller can read: "
                    "a retirement, a return to draft or a loss of visibility comes as `delete`.")
    export_meta = {"type": "object", "required": ["sync_token", "lang", "count"],
                   "properties": {"sync_token": {"type": "string"},
                                  "lang": {"type": "string"},
                                  "count": {"type": "integer", "minimum": 0}},
                   "additionalProperties": False}
    components_schemas["Export"] = {
        "type": "object", "required": ["data", "meta"],
        "properties": {"data": {"type": "array", "items": any_record}, "meta": export_meta},
        "additionalProperties": False,
    }
    export_ok = _ok("Export", "Every visible record, with the token to continue with "
                              "/changes.")
    export_ok["content"]["application/x-ndjson"] = {
        "schema": {"type": "string", "description": "With `format=ndjson`: a line "
                                                    "`{\"meta\": ...}`, then a record a line."}}
    paths["/api/v1/export"] = _op(
        "export", "Every record, in one go", "sync", conv.parameters(ExportArgs) + CONDITIONAL,
        {"200": export_ok, "304": _not_modified(), **_errors("BadRequest")},
        description="Every record you may see, as JSON or NDJSON, with the `sync_token` to "
                    "continue from with `/changes`: the first step of a mirror.")

    components_schemas["HsdsOrganizations"] = {
        "type": "object",
        "description": "Open Referral HSDS 3.0: a page of organizations (with their services "
                       "and phones), each valid against HSDS `compiled_organization.json`.",
        "required": ["total_items", "total_pages", "page_number", "size", "first_page",
                     "last_page", "empty", "contents"],
        "properties": {
            "total_items": {"type": "integer", "minimum": 0},
            "total_pages": {"type": "integer", "minimum": 1},
            "page_number": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 0},
            "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
            "empty": {"type": "boolean"},
            "contents": {"type": "array", "items": {
                "type": "object", "required": ["id", "name", "description", "services"],
                "properties": {"id": {"type": "string", "format": "uuid"},
                               "name": {"type": "string"}, "description": {"type": "string"},
                               "services": {"type": "array", "items": {"type": "object"}}}}},
        },
        "additionalProperties": False,
    }
    paths["/api/v1/export/hsds"] = _op(
        "exportHsds", "Hotlines as Open Referral HSDS 3.0", "sync",
        conv.parameters(HsdsArgs) + CONDITIONAL,
        {"200": _ok("HsdsOrganizations", "Organizations with their services and phones."),
         "304": _not_modified(), **_errors("BadRequest")},
        description="For directories that ingest HSDS. Ids are stable UUIDs derived from ours.")

    paths["/api/v1/audit"] = _op(
        "listAudit", "The audit trail", "audit", conv.parameters(AuditArgs) + CONDITIONAL[:1],
        {"200": _ok("AuditList", "Writes, newest first.", language=False, paged=True),
         "304": _not_modified(), **_errors("BadRequest", "Forbidden")},
        description="Who changed which record, when, to which version, and what changed. "
                    "Needs the `admin` scope.", security=KEY)

    components_schemas["Health"] = {
        "type": "object", "required": ["status"],
        "properties": {"status": {"type": "string"}, "database": {"type": "string"}},
        "additionalProperties": False,
    }
    health_ok = {"description": "OK.",
                 "headers": _headers("ETag", "Cache-Control", "Last-Modified"),
                 "content": {"application/json": {"schema": {"$ref": REF + "Health"}}}}
    paths["/healthz"] = _op("healthz", "Alive", "operations", [], {
        "200": health_ok, **_errors("BadRequest")},
        description="200 while the process answers; it does not touch the database.")
    paths["/readyz"] = _op("readyz", "Ready (database reachable)", "operations", [], {
        "200": health_ok, **_errors("BadRequest")},
        description="200 when the database answers, else 503: for load balancers.")
    paths["/metrics"] = _op("metrics", "Prometheus metrics", "operations", [], {
        "200": {"description": "Request counts and latency histograms by route and status.",
                "headers": _headers("ETag", "Cache-Control", "Last-Modified"),
                "content": {"text/plain": {"schema": {"type": "string"}}}},
        **_errors("BadRequest")},
        description="Prometheus text format: requests, latency and cache outcomes by route "
                    "and status, summed over every worker.")
    paths["/api/v1/openapi.json"] = _op("getContract", "This contract, as JSON", "meta", [], {
        "200": {"description": "The OpenAPI document.",
                "headers": _headers("ETag", "Cache-Control", "Last-Modified"),
                "content": {"application/json": {"schema": {"type": "object"}}}},
        "304": {"description": "Unchanged.", "headers": _headers("ETag")},
        **_errors("BadRequest")},
        description="`openapi.yaml` as JSON: what client generators and the docs page read.")
    paths["/api/v1/docs"] = _op("getDocs", "Interactive documentation", "meta", [], {
        "200": {"description": "An HTML page rendering this contract (no external assets).",
                "headers": _headers("ETag", "Cache-Control", "Last-Modified"),
                "content": {"text/html": {"schema":
                                                                      {"type": "string"}}}},
        "304": {"description": "Unchanged.", "headers": _headers("ETag")},
        **_errors("BadRequest")},
        description="A page that renders this contract and lets you try each operation; it "
                    "loads nothing from other sites.")
    paths["/api/v1/docs/assets/{name}"] = _op(
        "getDocsAsset", "A file of the documentation page", "meta",
        [{"name": "name", "in": "path", "required": True,
          "schema": {"type": "string", "enum": sorted(DOC_ASSETS)}}], {
            "200": {"description": "The file.",
                    "headers": _headers("ETag", "Cache-Control", "Last-Modified"),
                    "content": {"text/css": {"schema": {"type": "string"}},
                                "text/javascript": {"schema": {"type": "string"}}}},
            "304": {"description": "Unchanged.", "headers": _headers("ETag")},
            **_errors("BadRequest", "NotFound")},
        description="The documentation page's scripts and styles, served from this API.")

    components_schemas.update(conv.components)
    headers = dict(HEADERS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "HT Content API",
            "version": API_VERSION,
            "summary": "Law-enforcement anti-human-trafficking content as versioned, sourced "
                       "records, in English and Spanish.",
            "description": (
                "Resources, trafficking indicators, immigration relief options and hotlines "
                "for dispatch (CAD) and records (RMS) systems, partner websites and editors.\n\n"
                "Every GET answers with a strong `ETag` (send it back in `If-None-Match` for a "
                "304), `Last-Modified`, `Cache-Control` and `X-Request-ID`. Every error is an "
                "RFC 9457 `application/problem+json` document. Text comes in the language of "
                "`lang` (or `Accept-Language`), falling back to English per field; `lang=*` "
                "returns every language."),
            "license": {"name": "MIT", "identifier": "MIT"},
            "contact": {"name": "HT Content API maintainers"},
        },
        "servers": [{"url": "/", "description": "This API, where this document is served."}],
        "tags": [{"name": "meta"}, *tags, {"name": "search"}, {"name": "vocabularies"},
                 {"name": "sync"}, {"name": "audit"}, {"name": "operations"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components_schemas.items())),
            "responses": PROBLEMS,
            "headers": headers,
            "securitySchemes": {
                "bearerKey": {"type": "http", "scheme": "bearer",
                              "description": "An API key: `Authorization: Bearer htc_...`."},
                "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                              "description": "The same key in `X-API-Key`."},
            },
        },
    }


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no anchors or aliases, tuples as lists."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(tuple, lambda dumper, data: dumper.represent_list(list(data)))


def render_yaml() -> str:
    header = ("# The HT Content API contract. Generated from the code by `flask --app api openapi`;"
              "\n# do not edit by hand (a test fails when this file and the code disagree).\n")
    return header + yaml.dump(build(), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=100)

