"""What every indicator list must say beside its indicators, in English and Spanish.

The DHS guidance behind the indicators, which no single record carries: it travels in each
indicator list's ``meta.guidance`` and wherever indicators are shown (the SDK's command line).
"""

from __future__ import annotations

from typing import Any

from .fields import DEFAULT_LANGUAGE

INDICATOR_GUIDANCE: tuple[dict[str, str], ...] = (
    {"en": "No single indicator proves trafficking, and many victims show few of them.",
     "es": "Ningún indicador por sí solo demuestra que hay trata de personas, y muchas víctimas "
           "presentan pocos de ellos."},
    {"en": "Do not confront a suspected trafficker or reveal your suspicion to a possible "
           "victim.",
     "es": "No confronte a un presunto tratante ni revele sus sospechas a una posible víctima."},
    {"en": "Call 911 when someone is in immediate danger.",
     "es": "Llame al 911 cuando alguien corra peligro inmediato."},
)

#: Guidance per record type: the lists of these types carry it in ``meta.guidance``.
LIST_GUIDANCE: dict[str, tuple[dict[str, str], ...]] = {"indicator": INDICATOR_GUIDANCE}


def guidance_for(record_type: str, lang: str) -> list[Any] | None:
    """A list's guidance in ``lang`` (``*``: every language), or None when its type has none."""
    texts = LIST_GUIDANCE.get(record_type)
    if texts is None:
        return None
    if lang == "*":
        return [dict(text) for text in texts]
    return [text.get(lang) or text[DEFAULT_LANGUAGE] for text in texts]
