"""``GET /api/v1/audit`` (admin scope): every write, newest first, with filters and paging."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource
from sqlalchemy import func, select

from api.storage import clock, db
from api.storage.models import AuditEntry
from api.web.auth import require
from api.web.contract import (
    CONDITIONAL,
    KEY,
    Contract,
    get_op,
    not_modified_response,
    ok,
    page_of,
    problems,
)
from api.web.http import paged_json, parse_args
from schemas.params import AUDIT_ACTIONS, AuditArgs
from schemas.records import SCHEMAS

ns = Namespace("audit", path="/audit", description="The audit trail of every write")


def _entry(row: AuditEntry) -> dict[str, Any]:
    return {"id": row.id, "at": clock.rfc3339(row.at), "actor": row.actor, "action": row.action,
            "type": row.record_type, "record_id": row.record_id, "version": row.version,
            "status": row.status, "changes": row.changes, "request_id": row.request_id}


@ns.route("", endpoint="audit")
class Audit(Resource):
    def get(self) -> Response:
        viewer = require("admin")
        args = parse_args(AuditArgs)
        conditions = []
        if args.get("record_id"):
            conditions.append(AuditEntry.record_id == args["record_id"])
        if args.get("type"):
            conditions.append(AuditEntry.record_type == args["type"])
        if args.get("actor"):
            conditions.append(AuditEntry.actor == args["actor"])
        if args.get("action"):
            conditions.append(AuditEntry.action == args["action"])
        if args.get("since"):
            conditions.append(AuditEntry.at >= clock.as_utc(args["since"]))
        if args.get("until"):
            conditions.append(AuditEntry.at < clock.as_utc(args["until"]))
        session = db.session()
        latest = session.execute(select(AuditEntry.id, AuditEntry.at)
                                 .order_by(AuditEntry.id.desc()).limit(1)).first()

        def page() -> tuple[list[Any], int, int, str | None]:
            total = session.scalar(select(func.count()).select_from(AuditEntry)
                                   .where(*conditions))
            query = select(AuditEntry).where(*conditions)
            if args.get("cursor"):
                query = query.where(AuditEntry.id < int(args["cursor"].split(".")[1]))
            rows = list(session.scalars(query.order_by(AuditEntry.id.desc())
                                        .limit(args["limit"] + 1)))
            next_cursor = None
            if len(rows) > args["limit"]:
                rows = rows[: args["limit"]]
                next_cursor = f"a.{rows[-1].id}"
            return [_entry(row) for row in rows], total or 0, args["limit"], next_cursor

        return paged_json(latest[0] if latest else 0, latest[1] if latest else None, page,
                          viewer)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The audit operation and its shape, for ``openapi.yaml``."""
    conv, components_schemas, paths = doc.conv, doc.schemas, doc.paths
    components_schemas["AuditList"] = page_of({
        "type": "object",
        "required": ["id", "at", "actor", "action", "type", "record_id", "version",
                     "status", "changes", "request_id"],
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "actor": {"type": "string", "description": "The key's name."},
            "action": {"type": "string", "enum": list(AUDIT_ACTIONS)},
            "type": {"type": "string", "enum": list(SCHEMAS)},
            "record_id": {"type": "string"},
            "version": {"type": "integer", "minimum": 0},
            "status": {"type": "string", "enum": ["draft", "published", "retired"]},
            "changes": {"type": "object", "description": "By field: `from` and `to`.",
                        "additionalProperties": {
                            "type": "object", "required": ["from", "to"],
                            "properties": {"from": {}, "to": {}},
                            "additionalProperties": False}},
            "request_id": {"type": "string"},
        },
        "additionalProperties": False,
    })
    paths["/api/v1/audit"] = get_op(
        "listAudit", "The audit trail", "audit", conv.parameters(AuditArgs) + CONDITIONAL[:1],
        {"200": ok("AuditList", "Writes, newest first.", language=False, paged=True),
         "304": not_modified_response(), **problems("BadRequest", "Forbidden")},
        description="Who changed which record, when, to which version, and what changed. "
                    "Needs the `admin` scope.", security=KEY)
