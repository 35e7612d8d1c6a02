"""``/api/v1/proposals``: writes that wait for a second person (:mod:`schemas.approval`):
list, read (with the JSON Patch against the record's current version), approve, reject."""

from __future__ import annotations

from typing import Any

import jsonpatch
from flask import Response, request
from flask_restx import Namespace, Resource
from marshmallow import ValidationError

from api.storage import clock, db, proposals, store
from api.storage.models import Proposal, Record
from api.web.auth import current_viewer, require
from api.web.contract import (
    CONDITIONAL,
    KEY,
    Contract,
    body_of,
    get_op,
    headers_of,
    not_modified_response,
    ok,
    operation,
    page_of,
    problems,
)
from api.web.errors import Problem, request_id
from api.web.http import (
    no_store_json,
    not_found,
    paged_json,
    parse_args,
    record_url,
    write_conflicts,
)
from schemas.approval import REASONS, RejectionSchema
from schemas.fields import ID_PATTERN
from schemas.params import PROPOSAL_STATUSES, NoArgs, ProposalArgs
from schemas.records import SCHEMAS
from schemas.render import ALL_LANGUAGES, available_languages, render

ns = Namespace("proposals", path="/proposals", description="Writes waiting for approval")
ID = "<int(min=1, max=2147483647):proposal_id>"


def proposal_url(proposal_id: int) -> str:
    return f"{request.host_url.rstrip('/')}/api/v1/proposals/{proposal_id}"


def document(shown: proposals.Shown) -> dict[str, Any]:
    """A proposal as the API shows it; ``patch`` (RFC 6902) turns the record as it is now
    (``lang=*``) into what approving it would publish, while it waits."""
    proposal, record = shown.proposal, shown.record
    patch = None
    if shown.status in (proposals.PENDING, proposals.OUTDATED):
        patch = jsonpatch.make_patch(_rendered(record, record.content),
                                     _rendered(record, proposal.content)).patch
    return {
        "id": proposal.id, "type": proposal.record_type, "record_id": proposal.record_id,
        "action": proposal.action, "status": shown.status, "reasons": proposal.reasons,
        "proposed_by": proposal.proposed_by, "proposed_at": clock.rfc3339(proposal.proposed_at),
        "base_version": proposal.base_version, "decided_by": proposal.decided_by,
        "decided_at": clock.rfc3339(proposal.decided_at) if proposal.decided_at else None,
        "note": proposal.note, "published_version": proposal.published_version,
        "patch": patch, "link": proposal_url(proposal.id),
        "record": record_url(SCHEMAS[proposal.record_type].COLLECTION, proposal.record_id),
    }


def _rendered(record: Record, content: dict[str, Any]) -> dict[str, Any]:
    """``content`` as the record would show it in every language (today's system fields)."""
    system = {**store.system_fields(record), "status": content.get("status", record.status),
              "visibility": content.get("visibility", record.visibility),
              "available_langs": available_languages(record.type, content)}
    return render(record.type, content, system, ALL_LANGUAGES)


def accepted(proposal: Proposal, record: Record) -> Response:
    """The ``202 Accepted`` a write that needs a second person answers."""
    response = _answer(proposals.Shown(proposal, record), 202)
    response.headers["Location"] = proposal_url(proposal.id)
    return response


def _answer(shown: proposals.Shown, status: int = 200) -> Response:
    return no_store_json(document(shown), status)


def _reviewer() -> Any:
    """Who may read proposals: a key with the ``write`` or the ``approve`` scope."""
    viewer = current_viewer()
    if not viewer.keyed or not viewer.scopes & {"write", "approve"}:
        require("approve")  # 401 without a key, else 403 naming the scope
    return viewer


def _visible(proposal_id: int) -> proposals.Shown:
    shown = proposals.get(db.session(), proposal_id)
    visibilities = current_viewer().visibilities
    if (shown is None or shown.record.visibility not in visibilities
            or shown.proposal.content.get("visibility", "public") not in visibilities):
        raise not_found("proposal")  # what it shows, now or once approved, is not for this key
    return shown


@ns.route("", endpoint="proposals")
class Proposals(Resource):
    def get(self) -> Response:
        viewer = _reviewer()
        args = parse_args(ProposalArgs)
        session = db.session()
        after = int(args["cursor"][2:]) if args.get("cursor") else 0
        _, at = store.state(session)

        def page() -> tuple[list[Any], int, int, str | None]:
            found, total = proposals.page(session, viewer.visibilities,
                                          status=args.get("status"),
                                          record_id=args.get("record_id"), after=after,
                                          limit=args["limit"] + 1)
            next_cursor = f"p.{found[args['limit'] - 1].proposal.id}" \
                if len(found) > args["limit"] else None
            return ([document(shown) for shown in found[:args["limit"]]], total, args["limit"],
                    next_cursor)

        # Proposals change without a change to any record: their own state is in the ETag.
        return paged_json(proposals.state(session), at, page, viewer)


@ns.route(f"/{ID}", endpoint="proposal")
class OneProposal(Resource):
    def get(self, proposal_id: int) -> Response:
        _reviewer()
        parse_args(NoArgs)
        return _answer(_visible(proposal_id))


def _decide(proposal_id: int, approve: bool, note: str | None) -> Response:
    viewer = require("approve")
    _visible(proposal_id)
    with write_conflicts():
        shown = proposals.decide(db.session(), proposal_id, approve, actor=viewer.name or "",
                                 note=note, request_id=request_id(), now=clock.utcnow())
    db.session().commit()
    return _answer(shown)


@ns.route(f"/{ID}/approve", endpoint="proposal_approve")
class Approve(Resource):
    def post(self, proposal_id: int) -> Response:
        return _decide(proposal_id, True, None)


@ns.route(f"/{ID}/reject", endpoint="proposal_reject")
class Reject(Resource):
    def post(self, proposal_id: int) -> Response:
        require("approve")
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Problem(422, "Send {\"reason\": \"...\"} as JSON.", slug="invalid-record",
                          title="Invalid rejection", errors={"reason": ["Missing."]})
        try:
            reason = RejectionSchema().load(body)["reason"]
        except ValidationError as exc:
            raise Problem(422, "The rejection needs a reason.", slug="invalid-record",
                          title="Invalid rejection", errors=exc.normalized_messages()) from exc
        return _decide(proposal_id, False, reason)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The proposals' operations and shapes, for ``openapi.yaml``."""
    conv, paths = doc.conv, doc.paths
    doc.tags.append({"name": "proposals",
                     "description": "Writes that wait for a second person's approval."})
    doc.schemas["Proposal"] = {
        "type": "object",
        "required": ["id", "type", "record_id", "action", "status", "reasons", "proposed_by",
                     "proposed_at", "base_version", "decided_by", "decided_at", "note",
                     "published_version", "patch", "link", "record"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "type": {"type": "string", "enum": list(SCHEMAS)},
            "record_id": {"type": "string", "pattern": ID_PATTERN},
            "action": {"type": "string", "enum": ["replace", "patch", "retire"]},
            "status": {"type": "string", "enum": list(PROPOSAL_STATUSES),
                       "description": "`outdated`: pending, but the record changed since; "
                                      "it cannot be approved (propose again)."},
            "reasons": {"type": "array", "items": {"type": "string", "enum": list(REASONS)},
                        "description": "Why it waits: " + "; ".join(
                            f"`{code}`: {text}" for code, text in REASONS.items())},
            "proposed_by": {"type": "string"},
            "proposed_at": {"type": "string", "format": "date-time"},
            "base_version": {"type": "integer", "minimum": 0},
            "decided_by": {"type": ["string", "null"]},
            "decided_at": {"type": ["string", "null"], "format": "date-time"},
            "note": {"type": ["string", "null"], "description": "Why it was rejected."},
            "published_version": {"type": ["integer", "null"]},
            "patch": {"anyOf": [{"$ref": "#/components/schemas/JsonPatch"}, {"type": "null"}],
                      "description": "While it waits: what approving it would change in the "
                                     "record as it is now (`lang=*`)."},
            "link": {"type": "string", "format": "uri"},
            "record": {"type": "string", "format": "uri"},
        },
        "additionalProperties": False,
    }
    doc.schemas["ProposalItem"] = {"type": "object", "required": ["data"],
                                   "properties": {"data": {"$ref": "#/components/schemas/"
                                                                   "Proposal"}},
                                   "additionalProperties": False}
    doc.schemas["ProposalList"] = page_of({"$ref": "#/components/schemas/Proposal"})
    rejection = conv.component(RejectionSchema)
    decided = {"description": "Decided.", "headers": headers_of(),
               "content": {"application/json": {"schema": {
                   "$ref": "#/components/schemas/ProposalItem"}}}}
    id_param = {"name": "proposal_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}
    paths["/api/v1/proposals"] = get_op(
        "listProposals", "Proposals", "proposals",
        conv.parameters(ProposalArgs) + CONDITIONAL[:1],
        {"200": ok("ProposalList", "Proposals, oldest first.", language=False, paged=True),
         "304": not_modified_response(), **problems("BadRequest", "Forbidden")},
        description="Writes that wait for a second person: changes to a published record's "
                    "contact channels, a restricted record made public, a hotline taken off "
                    "the screens. Needs the `write` or the `approve` scope.", security=KEY)
    paths["/api/v1/proposals/{proposal_id}"] = get_op(
        "getProposal", "One proposal", "proposals", [id_param],
        {"200": {**decided, "description": "The proposal, with its patch while it waits."},
         **problems("BadRequest", "Forbidden", "NotFound")},
        description="Needs the `write` or the `approve` scope.", security=KEY)
    paths["/api/v1/proposals/{proposal_id}/approve"] = {"post": operation(
        "approveProposal", "Approve a proposal", "proposals", [id_param],
        {"200": {**decided, "description": "Approved and published (`published_version`)."},
         **problems("Forbidden", "NotFound", "Conflict")},
        description="Publishes what was proposed. Needs the `approve` scope and another key "
                    "name than the proposer's (403 otherwise); 409 when it was decided "
                    "already or the record changed since it was proposed (propose again).",
        security=KEY)}
    paths["/api/v1/proposals/{proposal_id}/reject"] = {"post": operation(
        "rejectProposal", "Reject a proposal", "proposals", [id_param],
        {"200": {**decided, "description": "Rejected: nothing is published."},
         **problems("Forbidden", "NotFound", "Conflict", "UnprocessableEntity")},
        description="With a reason. Needs the `approve` scope and another key name than the "
                    "proposer's; 409 when it was decided already.",
        body=body_of(rejection), security=KEY)}
