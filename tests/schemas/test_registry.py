"""The registry of record types: a type declared once (a schema module) reaches the views, the
filters, the search, the vocabularies, the change feed, the contract and the SDK's types."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from schemas.records import SCHEMAS
from schemas.registry import REGISTRY, RecordType
from tests.conftest import ROOT, SEED_DIR

EVENTS = {"records": [
    {"id": "interviewing-workshop", "verified_on": "2026-11-28",
     "sources": [{"url": "https://example.org/w", "title": "Workshop page"}],
     "title": {"en": "Interviewing workshop for prosecutors",
               "es": "Taller de entrevistas para fiscales"},
     "audiences": ["prosecutor"], "url": "https://example.org/w"},
    {"id": "campus-briefing",
     "sources": [{"url": "https://example.org/c", "title": "Briefing page"}],
     "title": {"en": "Campus briefing", "es": "Sesión informativa en el campus"},
     "audiences": ["campus_law_enforcement"], "url": "https://example.org/c"},
]}

PROBE = """
import json, sys
import tests.fixtures.training_event  # registers the type, as a module of schemas/types would
from api import create_app
from api.storage import db
from api.web import openapi
from api.config import TestConfig
from schemas import sdk_types
from seed.loader import load_seed

url, seed = sys.argv[1], sys.argv[2]
db.upgrade(url)
app = create_app(TestConfig(url))
with app.app_context():
    load_seed(db.session(), seed)
client = app.test_client()
get = lambda path: client.get(path).get_json()
vocabularies = {v["name"]: v for v in get("/api/v1/vocabularies")["data"]}
prosecutors = [t for t in vocabularies["audience"]["terms"] if t["code"] == "prosecutor"][0]
print(json.dumps({
    "index": get("/api/v1")["links"].get("training-events"),
    "all": [r["id"] for r in get("/api/v1/training-events")["data"]],
    "filtered": [r["id"] for r in get("/api/v1/training-events?audience=prosecutor")["data"]],
    "unverified": [r["id"] for r in
                   get("/api/v1/training-events?verification_status=unverified")["data"]],
    "one": get("/api/v1/training-events/interviewing-workshop?lang=es")["data"],
    "bad_filter": client.get("/api/v1/training-events?setting=hotel").status_code,
    "no_csv": client.get("/api/v1/training-events?format=csv").status_code,
    "search": [h["id"] for h in get("/api/v1/search?q=taller&lang=es")["data"]],
    "count": prosecutors["counts"].get("training_event"),
    "feed": sorted({c["type"] for c in get("/api/v1/changes?limit=200")["data"]}),
    "contract": "/api/v1/training-events/{record_id}" in openapi.build()["paths"],
    "sdk": all(text in sdk_types.generate() for text in (
        "class TrainingEvent(Record)", "    training_events: C",
        '"training-events": "training_events"', '"audience": "audiences"')),
}))
"""


def test_a_registered_type_is_served_everywhere(tmp_path, databases):
    seed = tmp_path / "seed"
    shutil.copytree(SEED_DIR, seed, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (seed / "training-events.json").write_text(json.dumps(EVENTS), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE, databases.new(), str(seed)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["index"].endswith("/api/v1/training-events")
    assert got["all"] == ["campus-briefing", "interviewing-workshop"]
    assert got["filtered"] == ["interviewing-workshop"]
    assert got["unverified"] == ["campus-briefing"]
    one = got["one"]
    assert one["title"] == "Taller de entrevistas para fiscales" and one["lang"] == "es"
    assert one["review_due"] == "2026-12-28"  # its own review interval: 30 days
    assert got["bad_filter"] == 400
    assert got["no_csv"] == 400  # it declares no spreadsheet form
    assert "interviewing-workshop" in got["search"]
    assert got["count"] == 1
    assert "training_event" in got["feed"]
    assert got["contract"] and got["sdk"]


def test_a_type_name_or_collection_is_registered_once():
    taken = REGISTRY["hotline"]
    with pytest.raises(ValueError, match="taken"):
        REGISTRY.register(RecordType(schema=taken.schema, label="name"))
    assert list(SCHEMAS) == ["resource", "indicator", "relief_option", "hotline", "call_type"]
