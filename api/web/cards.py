"""``/api/v1/cards``: printable cards (PDF) from the live records: the indicators of any filter
the indicator list takes, with the caveats and the hotlines to call; and the hotlines alone.
Cached, revalidated and 304'd like every read (:func:`api.web.http.cached_response`)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource

from api.services import cards
from api.storage import db, lists, store
from api.web.auth import current_viewer
from api.web.contract import CONDITIONAL, Contract, get_op, headers_of, not_modified_response
from api.web.contract import problems as problem_responses
from api.web.errors import Problem
from api.web.http import cached_response, negotiate_language, parse_args
from schemas.guidance import guidance_for
from schemas.params import FILTERS, card_args_schema
from schemas.registry import REGISTRY
from schemas.render import ALL_LANGUAGES, render
from schemas.vocabularies import VOCABULARIES

ns = Namespace("cards", path="/cards", description="Printable cards (PDF)")
INDICATOR_CARD_ARGS = card_args_schema("indicator")
HOTLINE_CARD_ARGS = card_args_schema("hotline")
#: Hotlines an indicator card lists: where to report and where victims get help.
CARD_PURPOSES = ("report_tip", "victim_help")


def _rendered(record_type: str, args: dict[str, Any], lang: str,
              at_most: int | None = None) -> list[dict[str, Any]]:
    """Every visible record of ``record_type`` that ``args`` (its filters) select, rendered;
    a 400 when they are more than ``at_most`` (what one card lists)."""
    query = {**args, "cursor": None, "limit": at_most or 1_000_000, "sort": "id", "q": None,
             "updated_since": None}
    page = lists.list_records(db.session(), record_type, query, current_viewer())
    if at_most is not None and page.total > at_most:
        raise _too_many(record_type, page.total)
    return [render(record_type, row.content, store.system_fields(row), lang)
            for row in page.rows]


def _pdf(build: Any, lang: str, filename: str) -> Response:
    seq, at = store.state(db.session())
    response = cached_response(seq, at, lang, lambda: build(seq, at), "application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _language(args: dict[str, Any]) -> str:
    lang = negotiate_language(args.get("lang"))
    return "en" if lang == ALL_LANGUAGES else lang


def _title(base: str, record_type: str, args: dict[str, Any], lang: str) -> str:
    """``base``, then what the card is for: the terms of the filters asked for (a setting, a
    purpose...) and the call types, by name in ``lang`` (a call type by the crosswalk record
    of its APCO code, else the code)."""
    chosen = []
    for flt in FILTERS[record_type]:
        labels = {term.code: getattr(term, lang) for term in VOCABULARIES[flt.vocabulary]}
        chosen += [labels.get(code, code) for code in args.get(flt.param) or ()]
    if args.get("apco_incident"):
        named = {record["apco_code"]: record["name"] for record in _rendered(
            "call_type", {}, lang) if record.get("name")}
        chosen += [named.get(code, code) for code in args["apco_incident"]]
    return f"{base}: {', '.join(chosen)}" if chosen else base


def _too_many(record_type: str, total: int) -> Problem:
    """The 400 of a card whose filters select more records than a card lists."""
    names = [flt.param for flt in FILTERS[record_type]]
    names += [via.param for via in REGISTRY[record_type].via]
    collection = REGISTRY[record_type].collection
    return Problem(400, f"{total} {collection} match: a card lists at most "
                        f"{cards.MAX_RECORDS}; narrow it with a filter ({', '.join(names)}).",
                   slug="invalid-parameters", title="Invalid query parameters",
                   errors={names[0]: [f"{total} {collection} match; at most "
                                      f"{cards.MAX_RECORDS} fit a card."]})


def _filters(args: dict[str, Any]) -> dict[str, Any]:
    """The list filters of a card's query."""
    return {name: value for name, value in args.items() if name not in ("lang", "size")}


@ns.route("/indicators.pdf", endpoint="card_indicators")
class IndicatorCard(Resource):
    def get(self) -> Response:
        args = parse_args(INDICATOR_CARD_ARGS)
        lang = _language(args)
        filters = _filters(args)

        def build(seq: int, at: Any) -> bytes:
            indicators = _rendered("indicator", filters, lang, cards.MAX_RECORDS)
            hotlines = [hotline for hotline in cards.callable_hotlines(
                _rendered("hotline", {}, lang)) if hotline.get("purpose") in CARD_PURPOSES]
            return cards.render(cards.Card(
                title=_title(cards.WORDS[lang]["indicators"], "indicator", args, lang),
                indicators=indicators, caveats=list(guidance_for("indicator", lang) or []),
                hotlines=hotlines, lang=lang, size=args["size"], version=f"c.{seq}", at=at))

        return _pdf(build, lang, f"indicators-{lang}-{args['size']}.pdf")


@ns.route("/hotlines.pdf", endpoint="card_hotlines")
class HotlineCard(Resource):
    def get(self) -> Response:
        args = parse_args(HOTLINE_CARD_ARGS)
        lang = _language(args)
        filters = _filters(args)

        def build(seq: int, at: Any) -> bytes:
            hotlines = cards.callable_hotlines(_rendered("hotline", filters, lang,
                                                         cards.MAX_RECORDS))
            return cards.render(cards.Card(
                title=_title(cards.WORDS[lang]["hotlines"], "hotline", args, lang),
                indicators=None, caveats=[], hotlines=hotlines, lang=lang, size=args["size"],
                version=f"c.{seq}", at=at))

        return _pdf(build, lang, f"hotlines-{lang}-{args['size']}.pdf")


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The cards' operations, for ``openapi.yaml``."""
    conv, paths = doc.conv, doc.paths
    doc.tags.append({"name": "cards", "description": "Printable cards (PDF) from the live "
                                                     "records."})
    pdf = {"description": "The card (PDF: real text, the font embedded, tagged for screen "
                          "readers).",
           "headers": headers_of("ETag", "Cache-Control", "Vary", "Last-Modified"),
           "content": {"application/pdf": {"schema": {"type": "string",
                                                      "format": "binary"}}}}
    for path, op_id, summary, args, description in (
            ("indicators.pdf", "indicatorCard", "An indicator card", INDICATOR_CARD_ARGS,
             "The indicators any filter of the indicator list selects (a setting, a "
             "category, an APCO incident type...; at most 200, else 400), the caveats "
             "to keep in mind, and the verified hotlines to call, each number with a QR code "
             "of its `tel:` URI; each record's version, `verified_on` and the sources in "
             "small print. The same bytes for one content version."),
            ("hotlines.pdf", "hotlineCard", "A hotline card", HOTLINE_CARD_ARGS,
             "Every verified hotline you may read with a number to call or text (any filter "
             "of the hotline list: a purpose, an audience, a channel; at most 200, else "
             "400), each "
             "number with its hours, TTY and languages and a QR code of its `tel:` "
             "(or `sms:`) URI. Unverified numbers are left off.")):
        paths[f"/api/v1/cards/{path}"] = get_op(
            op_id, summary, "cards", conv.parameters(args) + CONDITIONAL,
            {"200": pdf, "304": not_modified_response(), **problem_responses("BadRequest")},
            description=description)
