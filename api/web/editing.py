"""Editorial writes: create (POST), replace (PUT), merge-patch (PATCH) and retire (DELETE).

Bodies are in the multilingual (``lang=*``) form and validated by the same marshmallow schemas
that validate the seed files. Updates need ``If-Match``; creations honour ``Idempotency-Key``.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

import orjson
from flask import Response, request
from marshmallow import ValidationError
from sqlalchemy import select

from api.storage import clock, db, proposals, publish, store
from api.storage.models import IdempotencyRecord, Record
from api.web import proposals as web_proposals
from api.web.auth import require
from api.web.errors import Problem, request_id
from api.web.http import IF_MATCH_RE, etag_for, json_object, revisions_in, write_conflicts
from schemas import approval
from schemas.base import CheckSchema
from schemas.records import SCHEMAS, SYSTEM_FIELDS, load_content
from schemas.registry import REGISTRY
from schemas.render import ALL_LANGUAGES, render

READ_ONLY = set(SYSTEM_FIELDS) - {"id", "type", "status", "visibility"} | {"revision"}
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
JSON_TYPES = ("application/json",)
PATCH_TYPES = ("application/merge-patch+json", "application/json")


def unprocessable(errors: dict[str, Any], detail: str | None = None) -> Problem:
    names = ", ".join(sorted(map(str, errors)))
    return Problem(422, detail or f"The record is not valid: {names}.", slug="invalid-record",
                   title="Invalid record", errors=errors)


def _validate(record_type: str, body: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {name: ["Read-only: set by the server."]
                              for name in sorted(READ_ONLY & set(body))}
    clean = {k: v for k, v in body.items() if k not in READ_ONLY}
    try:
        content = load_content(record_type, clean)
    except ValidationError as exc:
        messages = exc.normalized_messages()
        errors.update(messages if isinstance(messages, dict) else {"_schema": messages})
        raise unprocessable(errors) from exc
    if errors:
        raise unprocessable(errors)
    missing = _unknown_references(record_type, content)
    if missing:
        raise unprocessable(missing)
    return content


def _unknown_references(record_type: str, content: dict[str, Any]) -> dict[str, Any]:
    names = REGISTRY[record_type].references
    wanted = {target for name in names for target in content.get(name, [])}
    if not wanted:
        return {}
    known = set(db.session().scalars(select(Record.id).where(Record.id.in_(wanted))))
    errors = {}
    for name in names:
        unknown = [target for target in content.get(name, []) if target not in known]
        if unknown:
            errors[name] = [f"No record has the id {target!r}." for target in unknown]
    return errors


def _expected_revision() -> int:
    header = request.headers.get("If-Match")
    if header is None:
        raise Problem(428, "Send the record's current ETag in If-Match (GET it first).",
                      slug="precondition-required", title="Precondition required")
    if IF_MATCH_RE.fullmatch(header) is None:
        raise Problem(400, 'If-Match must be "*" or entity tags, e.g. If-Match: "r3-...".',
                      slug="invalid-parameters", title="Invalid header",
                      errors={"If-Match": ["Not an entity tag."]})
    revisions = revisions_in(header)
    return -1 if revisions == set() else (min(revisions) if revisions else 0)


def _check_revision(record: Record | None, expected: int) -> None:
    """``expected`` is a revision from If-Match; 0 means ``*`` (any), -1 nothing usable."""
    if record is None:
        return
    if expected == 0:
        return
    if expected != record.revision:
        raise Problem(412, "The record has changed since you read it: GET it again, reapply "
                           "your change, and send the new ETag in If-Match.",
                      slug="precondition-failed", title="Precondition failed")


def _saved_response(record_type: str, record: Record, status: int) -> Response:
    body = {"data": render(record_type, record.content, store.system_fields(record),
                           ALL_LANGUAGES)}
    response = Response(orjson.dumps(body), status=status, mimetype="application/json")
    response.headers["ETag"] = _record_etag(record)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Location"] = (f"{request.host_url.rstrip('/')}/api/v1/"
                                    f"{SCHEMAS[record_type].COLLECTION}/{record.id}")
    return response


def _record_etag(record: Record) -> str:
    return etag_for(record.revision, ALL_LANGUAGES, store.Viewer(), revision=record.revision)


def _save(record_type: str, content: dict[str, Any], action: str, **guards: Any) -> Any:
    viewer = require("write")
    with write_conflicts():
        return publish.save(db.session(), record_type, content, actor=viewer.name or "",
                            action=action, request_id=request_id(), **guards)


def create(record_type: str) -> Response:
    """POST /api/v1/{collection}: 201 with Location and ETag; retries with the same
    Idempotency-Key and body replay the first response."""
    viewer = require("write")
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise Problem(400, "Idempotency-Key must be 1-255 visible ASCII characters.",
                      slug="invalid-parameters", title="Invalid header",
                      errors={"Idempotency-Key": ["1-255 visible ASCII characters."]})
    body = json_object(JSON_TYPES)
    session = db.session()
    if key is not None:
        fingerprint = request.path.encode() + b"\n" + request.get_data()
        request_hash = hashlib.sha256(fingerprint).hexdigest()
        publish.lock_writes(session)
        earlier = session.get(IdempotencyRecord, (viewer.name, key))
        if earlier is not None:
            session.rollback()
            if earlier.request_hash != request_hash:
                raise Problem(422, "This Idempotency-Key was used with a different request.",
                              slug="idempotency-key-reused", title="Idempotency key reused")
            replay = Response(earlier.body, status=earlier.status, mimetype="application/json")
            for name, value in earlier.headers.items():
                replay.headers[name] = value
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
    content = _validate(record_type, body)
    result = _save(record_type, content, "create", must_exist=False)
    response = _saved_response(record_type, result.record, 201)
    if key is not None:
        session.add(IdempotencyRecord(
            actor=viewer.name, key=key, request_hash=request_hash, status=201,
            headers={name: response.headers[name] for name in ("ETag", "Location")},
            body=response.get_data(as_text=True), created_at=clock.utcnow()))
    session.commit()
    return response


def _current(record_type: str, record_id: str) -> Record:
    viewer = require("write")
    record = store.get_record(db.session(), record_id, record_type)
    if record is None or record.visibility not in viewer.visibilities:
        raise Problem(404, f"No {record_type.replace('_', ' ')} has the id {record_id!r}.",
                      slug="not-found", title="Not found")
    return record


def _proposed(record_type: str, record: Record, content: dict[str, Any],
              action: str) -> Response | None:
    """A write that needs a second person (:mod:`schemas.approval`) filed as a proposal: its
    ``202 Accepted``; None when this key may write it alone."""
    reasons = approval.reasons_for(record_type, proposals.on_screens(db.session(), record),
                                   content)
    if not reasons:
        return None
    viewer = require("write")
    proposal = proposals.propose(db.session(), record, content, action, reasons,
                                 actor=viewer.name or "", request_id=request_id(),
                                 now=clock.utcnow())
    db.session().commit()
    return web_proposals.accepted(proposal, record)


def replace(record_type: str, record_id: str) -> Response:
    """PUT /api/v1/{collection}/{id}: the whole record, in the multilingual form."""
    require("write")
    expected = _expected_revision()
    body = json_object(JSON_TYPES)
    if body.get("id", record_id) != record_id:
        raise unprocessable({"id": ["Differs from the id in the URL; ids never change."]})
    record = _current(record_type, record_id)
    content = _validate(record_type, {**body, "id": record_id})  # 422 before 412
    _check_revision(record, expected)
    proposed = _proposed(record_type, record, content, "replace")
    if proposed is not None:
        return proposed
    result = _save(record_type, content, "replace", must_exist=True,
                   expected_revision=expected or None)
    db.session().commit()
    return _saved_response(record_type, result.record, 200)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def patch(record_type: str, record_id: str) -> Response:
    """PATCH /api/v1/{collection}/{id}: an RFC 7396 merge patch of the multilingual form."""
    require("write")
    expected = _expected_revision()
    changes = json_object(PATCH_TYPES)
    record = _current(record_type, record_id)
    if "id" in changes and changes["id"] != record_id:
        raise unprocessable({"id": ["Ids never change."]})
    writable = set(SCHEMAS[record_type]._declared_fields)
    strays = {name: ["Read-only: set by the server."] if name in READ_ONLY else ["Unknown field."]
              for name in changes if name not in writable}
    if strays:  # even `null` (a removal) must name a field that exists
        raise unprocessable(strays)
    derived = {name for name, field in SCHEMAS[record_type]._declared_fields.items()
               if field.metadata.get("derived")}
    current = {k: v for k, v in record.content.items() if k not in derived}
    merged = merge_patch({**current, "status": record.status}, changes)
    content = _validate(record_type, {**merged, "id": record_id})  # 422 before 412
    _check_revision(record, expected)
    proposed = _proposed(record_type, record, content, "patch")
    if proposed is not None:
        return proposed
    result = _save(record_type, content, "patch", must_exist=True,
                   expected_revision=record.revision)
    db.session().commit()
    return _saved_response(record_type, result.record, 200)


def retire(record_type: str, record_id: str) -> Response:
    """DELETE /api/v1/{collection}/{id}: retire the record (a tombstone; history is kept)."""
    require("write")
    expected = _expected_revision()
    record = _current(record_type, record_id)
    _check_revision(record, expected)
    if record.status == store.RETIRED:
        raise Problem(410, f"{record_id} is already retired.", slug="retired", title="Retired",
                      retired_at=clock.rfc3339(record.retired_at))
    content = {**record.content, "status": store.RETIRED}
    proposed = _proposed(record_type, record, content, "retire")
    if proposed is not None:
        return proposed
    result = _save(record_type, content, "retire", must_exist=True,
                   expected_revision=record.revision)
    db.session().commit()
    response = Response(status=204)
    response.headers["ETag"] = _record_etag(result.record)
    return response


def verify(record_type: str, record_id: str) -> Response:
    """POST /api/v1/{collection}/{id}/verification: a check of a published record (status,
    method, source, note); a new version with ``verified_on`` today, audited with the check."""
    viewer = require("write")
    expected = _expected_revision()
    body = json_object(JSON_TYPES)
    try:
        check = CheckSchema().load(body)
    except ValidationError as exc:
        raise Problem(422, "The check is not valid: "
                      f"{', '.join(sorted(map(str, exc.normalized_messages())))}.",
                      slug="invalid-record", title="Invalid check",
                      errors=exc.normalized_messages()) from exc
    record = _current(record_type, record_id)
    _check_revision(record, expected)
    with write_conflicts():
        result = publish.verify(db.session(), record_type, record_id, check,
                                actor=viewer.name or "", request_id=request_id(),
                                expected_revision=record.revision, now=clock.utcnow())
    db.session().commit()
    return _saved_response(record_type, result.record, 200)
