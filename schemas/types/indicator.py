"""Trafficking indicators: what an officer or call-taker may notice, by setting."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, post_load, pre_load

from ..apco import INCIDENT_TYPES
from ..base import RecordSchema
from ..fields import Code, Codes, Text
from ..registry import Filter, RecordType, Via, register


class IndicatorSchema(RecordSchema):
    TYPE = "indicator"
    COLLECTION = "indicators"

    statement = Text(required=True, max_length=500)
    category = Code("indicator_category", required=True)
    trafficking_types = Codes("trafficking_type")
    settings = Codes("setting")
    nibrs_offenses = Codes("nibrs_offense", metadata={
        "derived": True,
        "description": "Related NIBRS offense codes, derived from `trafficking_types` (sex: "
                       "64A, labor: 64B), for reference only: not a coding decision. Writers "
                       "leave it out (or send the derived codes)."})
    guidance = Text(max_length=1000)

    @pre_load
    def _nibrs_matches(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and "nibrs_offenses" in data:
            types = data.get("trafficking_types") or []
            given = data["nibrs_offenses"]
            if (isinstance(types, list) and isinstance(given, list)
                    and all(isinstance(t, str) for t in types)
                    and sorted(map(str, given)) != nibrs_for(types)):
                raise ValidationError(
                    "Derived from `trafficking_types` (sex: 64A, labor: 64B); leave it out, "
                    f"or send {nibrs_for(types)}.", "nibrs_offenses")
        return data

    @post_load
    def _store_no_derived_codes(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        # Derived when shown or indexed (``_derived``), never stored: one rule, one place.
        data.pop("nibrs_offenses", None)
        return data


#: The related NIBRS offense code of each trafficking type: the one place they are decided.
NIBRS_BY_TRAFFICKING_TYPE = {"sex": "64A", "labor": "64B"}


def nibrs_for(trafficking_types: list[Any]) -> list[str]:
    """The related NIBRS offense codes of an indicator's trafficking types, in code order."""
    return sorted({NIBRS_BY_TRAFFICKING_TYPE[t] for t in trafficking_types
                   if isinstance(t, str) and t in NIBRS_BY_TRAFFICKING_TYPE})




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


def _derived(content: dict[str, Any]) -> dict[str, Any]:
    return {**content, "nibrs_offenses": nibrs_for(content.get("trafficking_types", []))}


INDICATOR = register(RecordType(
    schema=IndicatorSchema,
    label="statement",
    filters=(Filter("category", "category", "indicator_category"),
             Filter("setting", "settings", "setting"),
             Filter("trafficking_type", "trafficking_types", "trafficking_type"),
             Filter("nibrs", "nibrs_offenses", "nibrs_offense")),
    list_guidance=INDICATOR_GUIDANCE,
    derive=_derived,
    order=20,
    via=(Via("apco_incident", through="call_type", match="apco_code", codes="settings",
             filter="setting", choices=tuple(INCIDENT_TYPES),
             description="Indicators of the settings these APCO incident types (`TSTOP`...) "
                         "map to in the call-type crosswalk (`/api/v1/call-types`); none "
                         "when no call type maps one."),),
))
