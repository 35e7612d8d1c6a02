"""Load the seed files through the same schemas the API uses.

All files are read and validated before anything is written: a bad file is refused with the
file, record and field named, and the database is left as it was. Unchanged records are left
alone; a changed record gets a new version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.storage import clock, publish
from api.storage.models import Record
from schemas.checks import check
from schemas.records import SCHEMAS, load_content
from schemas.registry import REGISTRY


def seed_file(record_type: str) -> str:
    """The seed file of a record type: ``{collection}.json``."""
    return f"{SCHEMAS[record_type].COLLECTION}.json"


class SeedError(Exception):
    """The seed files cannot be loaded; ``problems`` says where and why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.created)} created, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged")


def _flatten(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        out: list[tuple[str, str]] = []
        for key, value in messages.items():
            out += _flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(messages, list):
        return [(prefix, str(message)) for message in messages]
    return [(prefix, str(messages))]


def read_seed(directory: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """Every seed record, validated, as (type, content); raises :class:`SeedError`."""
    directory = Path(directory)
    problems: list[str] = []
    records: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for record_type in SCHEMAS:
        filename = seed_file(record_type)
        path = directory / filename
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(f"{path}: file not found")
            continue
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: not valid JSON: {exc}")
            continue
        if not isinstance(document, dict) or not isinstance(document.get("records"), list):
            problems.append(f'{path}: must be an object {{"records": [...]}}')
            continue
        for number, raw in enumerate(document["records"], start=1):
            label = f"{path}: record #{number}"
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                label += f" ({raw['id']})"
            try:
                content = load_content(record_type, raw)
            except ValidationError as exc:
                for name, message in _flatten(exc.normalized_messages()):
                    problems.append(f"{label}: field '{name}': {message}")
                continue
            if content["id"] in seen:
                problems.append(f"{label}: field 'id': {content['id']!r} is already used in "
                                f"{seen[content['id']]}")
                continue
            seen[content["id"]] = str(path)
            records.append((record_type, content))
    if problems:
        raise SeedError(problems)
    return records


def load_seed(session: Session, directory: str | Path,
              progress: Callable[[str], None] | None = None) -> SeedReport:
    """Validate every seed file, then publish what changed, in one transaction."""
    records = read_seed(directory)
    known = set(session.scalars(select(Record.id))) | {content["id"] for _, content in records}
    record_type_of = {content["id"]: record_type for record_type, content in records}
    problems = []
    for record_type, content in records:
        for name in REGISTRY[record_type].references:
            for target in content.get(name, []):
                if target not in known:
                    problems.append(f"{seed_file(record_type)} ({content['id']}): field '{name}': "
                                    f"no record has the id {target!r}")
    problems += [f"{seed_file(record_type_of[found.record_id])} ({found.record_id}): field "
                 f"'{found.field}': {found.message}" for found in check(records)]
    if problems:
        raise SeedError(problems)
    report = SeedReport()
    now = clock.utcnow()
    try:
        for record_type, content in records:
            result = publish.save(session, record_type, content, actor="seed", action="seed",
                                now=now)
            record_id = result.record.id
            if not result.changed:
                report.unchanged.append(record_id)
            elif result.created:
                report.created.append(record_id)
            else:
                report.updated.append(record_id)
            if progress and result.changed:
                verb = ("created" if result.created
                        else f"updated to version {result.record.version}")
                progress(f"{record_type} {record_id}: {verb}")
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
