"""``GET /api/v1/review`` (write scope): the records someone should check now, oldest first,
each with its reasons (:mod:`api.services.review`); and the contract of the check an editor
records (``POST /api/v1/{collection}/{id}/verification``, :func:`api.web.editing.verify`)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource

from api.services import review
from api.storage import clock, db, proposals, store
from api.web.auth import require
from api.web.contract import (
    CONDITIONAL,
    ID_PARAM,
    IF_MATCH,
    KEY,
    WRITES,
    Contract,
    body_of,
    get_op,
    not_modified_response,
    ok,
    operation,
    page_of,
    problems,
    saved,
)
from api.web.http import paged_json, parse_args, record_url
from api.web.shapes import article, component_name
from schemas.base import CheckSchema
from schemas.fields import ID_PATTERN
from schemas.params import ReviewArgs
from schemas.records import SCHEMAS

ns = Namespace("review", path="/review", description="What to check next")


def _item(due: review.Due, label: str) -> dict[str, Any]:
    return {"id": due.record_id, "type": due.record_type, "label": label,
            "verification_status": due.verification_status, "verified_on": due.verified_on,
            "review_due": due.review_due, "reasons": list(due.reasons),
            "link": record_url(SCHEMAS[due.record_type].COLLECTION, due.record_id)}


@ns.route("", endpoint="review")
class Review(Resource):
    def get(self) -> Response:
        viewer = require("write")
        args = parse_args(ReviewArgs)
        session = db.session()
        seq, at = store.state(session)
        today = clock.utcnow().date()

        def page() -> tuple[list[Any], int, int, str | None]:
            due = review.queue(session, viewer.visibilities, today,
                               proposals.pending_records(session))
            after = tuple(args["cursor"][2:].split(".", 1)) if args.get("cursor") else None
            rest = [item for item in due if after is None or item.position > after]
            shown = rest[:args["limit"]]
            next_cursor = "r.{}.{}".format(*shown[-1].position) \
                if len(rest) > args["limit"] else None
            labels = review.labels(session, shown)
            return ([_item(item, labels.get(item.record_id, "")) for item in shown], len(due),
                    args["limit"], next_cursor)

        # The queue changes with the data and with the day.
        return paged_json((seq, today.isoformat(), *proposals.state(session)), at, page,
                          viewer)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The review queue and the verification of each collection, for ``openapi.yaml``."""
    conv, components_schemas, paths = doc.conv, doc.schemas, doc.paths
    doc.tags.append({"name": "review", "description": "What editors should check next."})
    components_schemas["ReviewList"] = page_of({
        "type": "object",
        "required": ["id", "type", "label", "verification_status", "verified_on",
                     "review_due", "reasons", "link"],
        "properties": {
            "id": {"type": "string", "pattern": ID_PATTERN},
            "type": {"type": "string", "enum": list(SCHEMAS)},
            "label": {"type": "string", "description": "Its name, title or statement (en)."},
            "verification_status": {"type": "string",
                                    "enum": ["verified", "unverified", "disputed"]},
            "verified_on": {"type": ["string", "null"], "format": "date"},
            "review_due": {"type": ["string", "null"], "format": "date"},
            "reasons": {"type": "array", "minItems": 1, "uniqueItems": True,
                        "items": {"type": "string", "enum": list(review.REASONS)},
                        "description": "Why it is listed: " + "; ".join(
                            f"`{code}`: {text}" for code, text in review.REASONS.items())},
            "link": {"type": "string", "format": "uri"},
        },
        "additionalProperties": False,
    })
    paths["/api/v1/review"] = get_op(
        "listReview", "The review queue", "review",
        conv.parameters(ReviewArgs) + CONDITIONAL[:1],
        {"200": ok("ReviewList", "Records to check, oldest first.", language=False,
                   paged=True),
         "304": not_modified_response(), **problems("BadRequest", "Forbidden")},
        description="Every published record whose check ran out (`review_due` today or "
                    "past), never checked, unverified, disputed, or with a change waiting "
                    "for approval; never checked first, then by `review_due`. Needs the "
                    "`write` scope; restricted records need `read:restricted` too. `flask "
                    "--app api review` prints the same list.", security=KEY)
    check = conv.component(CheckSchema)
    for record_type, schema_cls in SCHEMAS.items():
        name, label = component_name(schema_cls), record_type.replace("_", " ")
        collection = schema_cls.COLLECTION
        paths[f"/api/v1/{collection}/{{record_id}}/verification"] = {"post": operation(
            f"verify{name}", f"Record a check of {article(label)}", collection,
            [ID_PARAM, IF_MATCH],
            {"200": saved(f"{name}Item", "Checked: a new version with `verified_on` today "
                                         "and the status the check found."),
             **problems(*WRITES, "NotFound", "Conflict", "PreconditionFailed",
                        "PreconditionRequired")},
            description="What a check found (`verified`, `unverified`, `disputed`), how "
                        "(\"called the number\"), from where and a note. The check is kept "
                        "in the audit trail (`changes.check`), also when the record already "
                        "said so. Only a published record is checked (409 otherwise). Needs "
                        "the `write` scope.",
            body=body_of(check), security=KEY)}
