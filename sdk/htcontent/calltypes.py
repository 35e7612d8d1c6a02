"""Dispatch call types: an agency's own CAD call-type codes (``10-16``, ``DOMESTIC``...) mapped
to APCO incident types (``TSTOP``) or straight to settings (``traffic_stop``), resolved through
the API's call-type crosswalk (``/api/v1/call-types``), online or from a snapshot.

A mapping file is CSV or YAML (chosen by its suffix: ``.csv``; ``.yaml``/``.yml``)::

    call_type,maps_to            # CSV: one row per target; a call type may have several
    10-16,DVA
    10-16,DVNA
    10-38,TSTOP
    HOTEL-CHK,hotel

    "10-16": [DVA, DVNA]         # YAML: a code or a list of codes per call type
    "10-38": TSTOP
    HOTEL-CHK: hotel

Each target must be an APCO incident type code or a setting code (checked when the file is
read, so a typo is an error, not an empty list). YAML is read with PyYAML when it is installed
(every key and value as written); otherwise this module reads the flat form above (keys and
scalars or ``[lists]``, ``- item`` lines, ``#`` comments), which is all a mapping needs.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._errors import HTContentError
from ._records import VIA_CHOICES, VIA_TARGET_CODES

#: The list filter an agency's call types resolve through.
VIA = "apco_incident"


class CallTypeMap:
    """An agency's call types, each mapped to APCO codes and settings."""

    def __init__(self, mapping: dict[str, tuple[str, ...]]) -> None:
        self.mapping = mapping

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CallTypeMap:
        """Read a mapping file (CSV, or YAML by its suffix)."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise HTContentError(f"cannot read the call-type mapping {file}: {exc}") from exc
        except UnicodeDecodeError:
            raise HTContentError(f"the call-type mapping {file} is not UTF-8 text (save it "
                                 "as CSV UTF-8)") from None
        yaml = file.suffix.lower() in (".yaml", ".yml")
        raw = _yaml(text) if yaml else _csv(text)
        mapping: dict[str, tuple[str, ...]] = {}
        for key, value in raw.items():
            targets = [value] if isinstance(value, str) else value
            if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                raise HTContentError(f"call type {key!r} in {file}: map it to a code or a "
                                     "list of codes")
            cleaned = tuple(target.strip() for target in targets if target.strip())
            if not cleaned:
                raise HTContentError(f"call type {key!r} in {file} maps to nothing")
            unknown = [target for target in cleaned if not known(target)]
            if unknown:
                raise HTContentError(f"call type {key!r} in {file}: {', '.join(unknown)} is "
                                     "neither an APCO incident type code (TSTOP) nor a setting "
                                     "(traffic_stop)")
            mapping[str(key).strip()] = cleaned
        return cls(mapping)

    def targets(self, call_type: str) -> tuple[str, ...]:
        """What ``call_type`` maps to; HTContentError when the mapping does not name it."""
        found = self.mapping.get(call_type.strip())
        if found is None:
            raise HTContentError(f"call type {call_type!r} is not in the agency's mapping "
                                 f"({len(self.mapping)} call types)")
        return found


def is_setting(target: str) -> bool:
    """Whether ``target`` is a setting code (``traffic_stop``) rather than an APCO code."""
    return target in VIA_TARGET_CODES[VIA]


def known(target: str) -> bool:
    """Whether ``target`` is a setting code or an APCO incident type code."""
    return is_setting(target) or target in VIA_CHOICES[VIA]


def settings_for(targets: Iterable[str], crosswalk: Iterable[Any]) -> set[str]:
    """The settings ``targets`` (APCO codes and settings) stand for, APCO codes through the
    ``crosswalk`` (call-type records: ``apco_code``, ``settings``)."""
    targets = list(targets)
    settings = {target for target in targets if is_setting(target)}
    wanted = {target for target in targets if not is_setting(target)}
    if wanted:
        for call_type in crosswalk:
            if call_type.apco_code in wanted:
                settings.update(call_type.settings)
    return settings


def _csv(text: str) -> dict[str, list[str]]:
    """Rows of ``call_type,maps_to`` (more columns, such as a description, are ignored)."""
    rows = csv.reader(io.StringIO(text))
    out: dict[str, list[str]] = {}
    header_seen = False
    for number, row in enumerate(rows, 1):
        cells = [cell.strip() for cell in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if not header_seen and cells[0].lower() in ("call_type", "call type", "code"):
            header_seen = True
            continue  # the header
        header_seen = True
        if len(cells) < 2 or not cells[1]:
            raise HTContentError(f"line {number}: expected call_type,maps_to")
        out.setdefault(cells[0], []).append(cells[1])
    return out


_ITEM = re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^:#]+?))\s*:\s*(.*?)\s*$""")


def _yaml(text: str) -> dict[str, Any]:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return _flat_yaml(text)
    try:
        loaded = yaml.load(text, Loader=yaml.BaseLoader)  # every key and value a string
    except yaml.YAMLError as exc:
        raise HTContentError(f"the call-type mapping is not valid YAML: {exc}") from exc
    if not isinstance(loaded, dict):
        raise HTContentError("the call-type mapping must map call types to codes")
    return loaded


def _flat_yaml(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
        if not stripped.strip():
            continue
        if stripped.lstrip().startswith("- ") and current is not None:
            if not isinstance(out.get(current), list):
                raise HTContentError(f"line {number}: `- code` under a call type that maps "
                                     "to one code already")
            out[current].append(_scalar(stripped.lstrip()[2:]))
            continue
        match = _ITEM.match(stripped.strip())
        if match is None:
            raise HTContentError(f"line {number}: expected `call_type: code` or `- code`")
        key = next(group for group in match.groups()[:3] if group is not None)
        value = match.group(4)
        current = key
        if value.startswith("[") and value.endswith("]"):
            out[key] = [_scalar(part) for part in value[1:-1].split(",") if part.strip()]
        elif value:
            out[key] = _scalar(value)
        else:
            out[key] = []
    return out


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
