"""The content check: rules a record's content must keep beyond its schema, because a dispatcher
reads it to a caller (``flask --app api content check``; the seed loader refuses seed files that
break one).

Each rule is a function of every record at once (some look across records) giving
:class:`Finding` s. The rules:

- a record marked ``verified`` whose own notes call it unverified;
- an organization that is not a short name (a history belongs in the notes);
- a Spanish text identical to its English one (translate it, or leave it out: readers in Spanish
  are then shown the English, marked ``lang: en``);
- a phone number whose ``display`` and E.164 ``value`` differ;
- a hotline without a source;
- a restricted record referenced by a public one (readers of the public one would follow a link
  they may not read).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .base import verification_status_of
from .fields import Text
from .records import SCHEMAS
from .registry import REGISTRY

#: Words by which notes call a record unverified (English and Spanish).
UNVERIFIED_WORDS = re.compile(
    r"\b(unverified|not (?:been |yet )?verified|could not (?:be )?verif|no verificad|sin verificar"
    r")", re.IGNORECASE)
#: The longest organization name, and what makes one a sentence rather than a name.
MAX_ORGANIZATION = 120
SENTENCE = re.compile(r"[;:]|\b[a-z]{3,}\. |\b(since|formerly|until|operated by|from \d{4}|"
                      r"desde|anteriormente|hasta|operad[oa] por)\b", re.IGNORECASE)
PHONE_KINDS = ("voice", "text", "tty", "video")
#: A number spelled with keypad letters: "1-866-DHS-2-ICE" (upper case, digits, separators).
SPELLED = re.compile(r"(?=(?:[^0-9A-Z]*[0-9A-Z]){7})(?=.*[0-9])[0-9A-Z][0-9A-Z .-]*")
#: Letters on a phone keypad (vanity numbers such as 1-866-DHS-2-ICE).
KEYPAD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "22233344455566677778889999")


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule: which record, which field, and what to do."""

    record_id: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.record_id}: {self.field}: {self.message}"


Records = list[tuple[str, dict[str, Any]]]


def check(records: Iterable[tuple[str, dict[str, Any]]]) -> list[Finding]:
    """Every rule over ``records`` (``(type, content)`` in the multilingual form), sorted."""
    listed = list(records)
    return sorted(finding for rule in RULES for finding in rule(listed))


def verified_but_notes_say_not(records: Records) -> Iterable[Finding]:
    for _, content in records:
        if verification_status_of(content) != "verified":
            continue
        for language, text in _texts(content.get("notes")):
            if UNVERIFIED_WORDS.search(text):
                yield Finding(content["id"], "verification_status",
                              f"marked verified, but its notes ({language}) call it "
                              "unverified: mark it unverified, or correct the notes")
                break


def organization_not_a_name(records: Records) -> Iterable[Finding]:
    for _, content in records:
        for language, text in _texts(content.get("organization")):
            if len(text) > MAX_ORGANIZATION or SENTENCE.search(text):
                yield Finding(content["id"], "organization",
                              f"({language}) is not a short name: put the history in the "
                              "notes")


def untranslated_spanish(records: Records) -> Iterable[Finding]:
    for record_type, content in records:
        yield from _same_in_spanish(content["id"], SCHEMAS[record_type], content, "")


def _same_in_spanish(record_id: str, schema: Any, value: dict[str, Any],
                     path: str) -> Iterable[Finding]:
    for name, declared in schema._declared_fields.items():
        item = value.get(name)
        if isinstance(declared, Text) and isinstance(item, dict):
            if "es" in item and item["es"] == item.get("en"):
                yield Finding(record_id, path + name,
                              "Spanish is the same as English: translate it, or leave it out")
        nested = getattr(getattr(declared, "inner", declared), "schema", None)
        if nested is not None and isinstance(item, list):
            for number, element in enumerate(item):
                if isinstance(element, dict):
                    yield from _same_in_spanish(record_id, type(nested), element,
                                                f"{path}{name}[{number}].")


def phone_display_differs(records: Records) -> Iterable[Finding]:
    for _, content in records:
        for number, channel in enumerate(content.get("channels") or []):
            display, value = channel.get("display"), channel.get("value", "")
            if channel.get("kind") not in PHONE_KINDS or not display:
                continue
            dialed = re.sub(r"\D", "", value)
            # The number (an area code in parentheses is part of it), and any spelled-out
            # form in parentheses, "1-866-DHS-2-ICE"; other notes in parentheses ("TTY") aside
            notes = [inner for inner in re.findall(r"\(([^()]*)\)", display)
                     if re.search(r"[A-Za-z]", inner)]
            dialable = display
            for note in notes:
                dialable = dialable.replace(f"({note})", "")
            forms = [dialable, *(note for note in notes if SPELLED.fullmatch(note))]
            for form in forms:
                shown = re.sub(r"\D", "", form.upper().translate(KEYPAD))
                if shown != dialed and not (value.startswith("+1") and shown == dialed[1:]):
                    yield Finding(content["id"], f"channels[{number}].display",
                                  f"{form.strip()!r} does not dial {value}: make them the same "
                                  "number")


def hotline_without_source(records: Records) -> Iterable[Finding]:
    for record_type, content in records:
        if record_type == "hotline" and not content.get("sources"):
            yield Finding(content["id"], "sources", "a hotline needs a source for its numbers")


def restricted_referenced_by_public(records: Records) -> Iterable[Finding]:
    restricted = {content["id"] for _, content in records
                  if content.get("visibility") == "law_enforcement"}
    for record_type, content in records:
        if content.get("visibility", "public") != "public":
            continue
        for name in REGISTRY[record_type].references:
            for target in content.get(name) or []:
                if target in restricted:
                    yield Finding(content["id"], name,
                                  f"public, but names {target!r}, which only law enforcement "
                                  "may read: drop the reference, or restrict this record")


def _texts(value: Any) -> Iterable[tuple[str, str]]:
    """(language, text) of a translatable value (a plain string counts as English)."""
    if isinstance(value, str):
        yield "en", value
    elif isinstance(value, dict):
        yield from ((language, text) for language, text in value.items()
                    if isinstance(text, str))


RULES: tuple[Callable[[Records], Iterable[Finding]], ...] = (
    verified_but_notes_say_not, organization_not_a_name, untranslated_spanish,
    phone_display_differs, hotline_without_source, restricted_referenced_by_public)
