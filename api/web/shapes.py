"""Record and parameter shapes as OpenAPI components, through apispec's marshmallow plugin:
fields and nested shapes are apispec's; translatable text (whose form depends on whether it is
read or written) is an attribute function of ours, and records wrap the converted fields."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from marshmallow import Schema, fields, missing

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
    CommaList,
)
from schemas.records import RecordSchema
from schemas.registry import REGISTRY
from schemas.render import ALL_LANGUAGES

REF = "#/components/schemas/"


def component_name(schema_cls: type[Schema]) -> str:
    return schema_cls.__name__.removesuffix("Schema")


def _namer(suffix: str) -> Any:
    """apispec's schema name resolver for one mode (``Channel``, ``ChannelInput``)."""
    return lambda schema: component_name(resolve_schema_cls(schema)) + suffix


def _unique_items(self: Any, field: fields.Field, **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: our ``unique`` validator is JSON Schema's ``uniqueItems``."""
    return {"uniqueItems": True} if unique in field.validators else {}


def _no_default(self: Any, field: fields.Field, ret: dict[str, Any],
                **kwargs: Any) -> dict[str, Any]:
    """apispec attribute function: shapes leave defaults out (parameters say theirs)."""
    ret.pop("default", None)
    return {}


def _translations(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["en"],
            "properties": {lang: value for lang in LANGUAGES},
            "additionalProperties": False,
            "description": "Text by language; English is required."}


def _text(mode: str) -> Any:
    """apispec attribute function for translatable text (a field only this API has): in
    responses a string (a list of strings for ``TextList``) in one language, or an object by
    language with ``lang=*``; written (``mode`` "input"), always the object."""

    def text(self: Any, field: fields.Field, ret: dict[str, Any],
             **kwargs: Any) -> dict[str, Any]:
        if not isinstance(field, Text):
            return {}
        value: dict[str, Any] = {"type": "string", "minLength": 1,
                                 "maxLength": field.max_length, "pattern": TEXT_PATTERN}
        component = "TextTranslations"
        if isinstance(field, TextList):
            value = {"type": "array", "items": value, "maxItems": field.max_items}
            component = "TextListTranslations"
        description = ret.get("description")
        ret.clear()
        out = (_translations(value) if mode == "input" else
               {"anyOf": [value, {"$ref": REF + component}]})
        if description:
            out["description"] = description
        return out

    return text


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _merged(schema: dict[str, Any]) -> dict[str, Any]:
    """The form of one field in an RFC 7396 merge patch: an object (text by language) is
    merged member by member, so none of its members need be sent, and those not required may
    be ``null`` (removed); anything else is replaced whole."""
    if schema.get("type") != "object" or "properties" not in schema:
        return schema
    kept = set(schema.get("required", ()))
    out = {k: v for k, v in schema.items() if k != "required"}
    out["properties"] = {n: _merged(v) if n in kept else _nullable(_merged(v))
                         for n, v in schema["properties"].items()}
    if kept:
        out["description"] = (f"{schema.get('description', '')} Merged by member: send only "
                              "what changes; `null` removes one.").strip()
    return out


class Converter:
    """marshmallow shapes to OpenAPI components through apispec's marshmallow plugin (OpenAPI
    3.1: JSON Schema 2020-12), one per mode: ``output`` (what responses show) and ``input``
    (the multilingual form editors write), whose nested shapes are components named by mode
    (``Channel``, ``ChannelInput``). What is ours: translatable text (an attribute function
    above), and the record components, which wrap the converted fields."""

    MODES = {"output": "", "input": "Input"}

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}
        self.plugins: dict[str, MarshmallowPlugin] = {}
        self.specs: dict[str, APISpec] = {}
        for mode, suffix in self.MODES.items():
            plugin = MarshmallowPlugin(schema_name_resolver=_namer(suffix))
            self.specs[mode] = APISpec("HT Content API", "1", "3.1.0", plugins=[plugin])
            assert plugin.converter is not None
            for function in (_unique_items, _text(mode), _no_default):
                plugin.converter.add_attribute_function(function)
            self.plugins[mode] = plugin

    def field(self, field: fields.Field, mode: str = "output") -> dict[str, Any]:
        """JSON Schema of one field; ``mode`` "input" is the multilingual form clients write.
        Nested shapes become components (see :meth:`shapes`)."""
        converter = self.plugins[mode].converter
        assert converter is not None
        return converter.field2property(field)  # type: ignore[no-any-return]

    def component(self, schema_cls: type[Schema], mode: str = "output") -> str:
        """A whole marshmallow schema as a component (through apispec); its name."""
        name = component_name(schema_cls) + self.MODES[mode]
        spec = self.specs[mode]
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema_cls)
        return name

    def shapes(self) -> dict[str, Any]:
        """Every component: the nested shapes apispec registered, and the records."""
        out = dict(self.components)
        for spec in self.specs.values():
            out.update(spec.to_dict().get("components", {}).get("schemas", {}))
        channel = out.get("ChannelInput")
        if channel is not None:  # which value each kind of channel takes
            channel["oneOf"] = [
                {"properties": {"kind": {"enum": list(kinds)}, "value": {"pattern": pattern}}}
                for kinds, pattern in ((("voice", "text", "tty", "video"), PHONE_PATTERN),
                                       (("email",), EMAIL_PATTERN),
                                       (("web", "chat"), URL_PATTERN))]
            channel["description"] = ("`value` is an E.164 number or short code for voice, "
                                      "text, tty and video; an address for email; an http(s) "
                                      "URL for web and chat.")
        return out

    def record_input(self, schema_cls: type[RecordSchema], kind: str = "Input") -> str:
        """A record as editors write it: ``Input`` (POST), ``Replacement`` (PUT, the id is in
        the URL) or ``Patch`` (PATCH, an RFC 7396 merge patch)."""
        name = component_name(schema_cls) + kind
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
            component["properties"] = {n: _nullable(_merged(schema))
                                       for n, schema in properties.items()}
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
        name = component_name(schema_cls)
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
            param: dict[str, Any] = {"name": field.data_key or name, "in": "query",
                                     "required": field.required}
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


def article(noun: str) -> str:
    """``noun`` with its indefinite article: "an indicator", "a hotline"."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun
