"""The guidance a list carries beside its records (``meta.guidance``), from its type's
declaration (an indicator list: no single indicator proves trafficking...)."""

from __future__ import annotations

from typing import Any

from .fields import DEFAULT_LANGUAGE
from .records import REGISTRY  # (importing records registers every type)


def guidance_for(record_type: str, lang: str) -> list[Any] | None:
    """A list's guidance in ``lang`` (``*``: every language), or None when its type has none."""
    texts = REGISTRY[record_type].list_guidance
    if texts is None:
        return None
    if lang == "*":
        return [dict(text) for text in texts]
    return [text.get(lang) or text[DEFAULT_LANGUAGE] for text in texts]
