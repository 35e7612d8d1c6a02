"""Field types shared by every record schema: ids, translatable text, vocabulary codes."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, fields, validate

from .vocabularies import codes

#: Languages a record's text may be written in; English is required, the first is the fallback.
LANGUAGES: tuple[str, ...] = ("en", "es")
DEFAULT_LANGUAGE = "en"

# Patterns are published in openapi.yaml as they are, so they use only syntax that Python and
# ECMAScript (JSON Schema) read alike, and the server matches them against the whole value.
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
ID_RE = re.compile(ID_PATTERN)
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
PHONE_PATTERN = r"^(\+[1-9][0-9]{6,14}|[0-9]{3,6})$"
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}$"
URL_PATTERN = r"^https?://([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(:[0-9]{1,5})?(/[!-~]*)?$"
#: Text: no control characters (tab and line breaks allowed), and at least one character that is
#: neither a control character nor white space (by Python's and ECMAScript's rules alike).
_NOT_CONTROL = "[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*"
_VISIBLE = ("[^\\x00-\\x20\\x7f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f"
            "\\u205f\\u3000\\ufeff]")
TEXT_PATTERN = f"^{_NOT_CONTROL}{_VISIBLE}{_NOT_CONTROL}$"
TEXT_RE = re.compile(TEXT_PATTERN)


class FullMatch(validate.Regexp):
    """Like ``validate.Regexp``, but the whole value must match (no trailing newline slips by)."""

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def is_id(value: str) -> bool:
    return ID_RE.fullmatch(value) is not None


def Id(**kwargs: Any) -> fields.String:  # noqa: N802 - reads like a field class
    """A record id: a stable slug."""
    return fields.String(validate=FullMatch(ID_PATTERN, error="Not a valid id: "
                                                  "lower-case letters, digits and hyphens, "
                                                  "2 to 64 characters."), **kwargs)


class References(fields.List):
    """Ids of other records, each unique; a write naming a record that does not exist is
    refused (the registry lists these fields: :attr:`schemas.registry.RecordType.references`)."""

    def __init__(self, max_items: int, **kwargs: Any) -> None:
        super().__init__(Id(), load_default=list,
                         validate=[validate.Length(max=max_items), unique], **kwargs)


def Url(**kwargs: Any) -> fields.String:  # noqa: N802
    """An http(s) URL (checked by a pattern that openapi.yaml publishes as is)."""
    return fields.String(validate=[validate.Length(max=2000),
                                   FullMatch(URL_PATTERN, error="Not an http(s) URL.")], **kwargs)


def Line(min_length: int = 1, max_length: int = 300, **kwargs: Any) -> fields.String:  # noqa: N802
    """A short plain string: not blank, no control characters."""
    return fields.String(validate=[
        validate.Length(min_length, max_length),
        FullMatch(TEXT_PATTERN, error="Must not be blank or hold control characters."),
    ], **kwargs)


def Code(vocabulary: str, metadata: dict[str, Any] | None = None,  # noqa: N802
         **kwargs: Any) -> fields.String:
    """One code of a controlled vocabulary."""
    allowed = codes(vocabulary)
    field = fields.String(
        validate=validate.OneOf(allowed, error="Must be one of: {choices}."),
        metadata={"vocabulary": vocabulary, **(metadata or {})},
        **kwargs,
    )
    return field


def Codes(vocabulary: str, metadata: dict[str, Any] | None = None,  # noqa: N802
          **kwargs: Any) -> fields.List:
    """A list of distinct codes of a controlled vocabulary."""
    allowed = codes(vocabulary)
    return fields.List(
        Code(vocabulary),
        validate=[validate.Length(max=len(allowed)), unique],
        metadata={"vocabulary": vocabulary, **(metadata or {})},
        load_default=list,
        **kwargs,
    )


def unique(values: list[Any]) -> None:
    """Refuse a list that names the same value twice."""
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise ValidationError(f"Duplicate value: {value!r}.")
        seen.append(value)


class Text(fields.Field):
    """Translatable text, written as ``{"en": "...", "es": "..."}`` (English required).

    Responses in one language carry the string itself; ``lang=*`` carries the object.
    """

    def __init__(self, *, max_length: int = 2000, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length

    def _check_item(self, value: Any, lang: str) -> Any:
        if not isinstance(value, str):
            raise ValidationError(f"'{lang}': must be a string.")
        if TEXT_RE.fullmatch(value) is None:
            raise ValidationError(f"'{lang}': must not be blank or hold control characters.")
        value = value.strip()
        if len(value) > self.max_length:
            raise ValidationError(f"'{lang}': longer than {self.max_length} characters.")
        return value

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(
                'Must be an object mapping language codes to text, e.g. {"en": "...", "es": "..."}.'
            )
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise ValidationError(
                f"Unsupported language(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(LANGUAGES)}."
            )
        if DEFAULT_LANGUAGE not in value:
            raise ValidationError(f"The English text ('{DEFAULT_LANGUAGE}') is required.")
        return {lang: self._check_item(value[lang], lang) for lang in LANGUAGES if lang in value}

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class TextList(Text):
    """A translatable list of short texts, written as ``{"en": ["..."], "es": ["..."]}``."""

    def __init__(self, *, max_items: int = 30, max_length: int = 500, **kwargs: Any) -> None:
        super().__init__(max_length=max_length, **kwargs)
        self.max_items = max_items

    def _check_item(self, value: Any, lang: str) -> Any:
        if not isinstance(value, list):
            raise ValidationError(f"'{lang}': must be a list of strings.")
        if len(value) > self.max_items:
            raise ValidationError(f"'{lang}': more than {self.max_items} items.")
        return [super(TextList, self)._check_item(item, lang) for item in value]
