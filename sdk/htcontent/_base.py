"""What the generated record classes (``_records.py``) are built on."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, TypeVar

Text = str | dict[str, str]
TextList = list[str] | dict[str, list[str]]
M = TypeVar("M", bound="Model")
#: Each class's field names, worked out once per class.
_FIELD_NAMES: dict[type, frozenset[str]] = {}


class Model:
    """``from_dict`` for a frozen dataclass: lists become tuples, nested objects (``NESTED``:
    field name to class) their dataclasses; unknown fields are left out (a record keeps the
    whole response in ``raw``)."""

    NESTED: ClassVar[dict[str, Any]] = {}

    @classmethod
    def from_dict(cls: type[M], data: dict[str, Any]) -> M:
        """Build from a response's JSON object."""
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = frozenset(
                f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        values: dict[str, Any] = {}
        for name, value in data.items():
            if name not in names or name == "raw":
                continue
            nested = cls.NESTED.get(name)
            if nested is not None and isinstance(value, list):
                value = tuple(nested.from_dict(item) for item in value)
            elif isinstance(value, list):
                value = tuple(value)
            values[name] = value
        if "raw" in names:
            values["raw"] = data
        return cls(**values)
