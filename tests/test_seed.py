"""The seed content: complete, bilingual, sourced, conflicts recorded; loading is idempotent,
versioned and all-or-nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.storage import db
from api.storage.models import Change, Record, RecordVersion
from seed.loader import SeedError, load_seed, read_seed

SEED_DIR = Path(__file__).resolve().parent.parent / "seed"


def records(client, collection: str) -> list[dict]:
    return client.get(f"/api/v1/{collection}?limit=200&lang=*").get_json()["data"]


@pytest.mark.parametrize(("collection", "minimum"), [("indicators", 35), ("resources", 12),
                                                     ("relief-options", 3), ("hotlines", 8)])
def test_every_collection_is_full_bilingual_and_sourced(client, collection, minimum):
    found = records(client, collection)
    assert len(found) >= minimum
    for record in found:
        assert record["available_langs"] == ["en", "es"], record["id"]
        assert record["sources"] and all(s["url"].startswith("https://") for s in record["sources"])
        # Checked against its sources, or saying it was not (tests/web/test_trust.py)
        assert record["verified_on"] or record["verification_status"] == "unverified"
        assert record["version"] >= 1 and record["status"] == "published"


def test_the_seed_page_is_covered(client):
    titles = " | ".join(r["title"]["en"] for r in records(client, "resources")).lower()
    for name in ["Campus Law Enforcement and Public Safety Officials Response Guide",
                 "Campus Law Enforcement Training", "Campus Law Enforcement Indicator Card",
                 "Human Trafficking Response Guide for School Resource Officers",
                 "Continued Presence Brochure", "Continued Presence Video",
                 "Combatting Human Trafficking in Tribal Communities",
                 "Interviewing Victims of Human Trafficking"]:
        assert name.lower() in titles, name
    relief = {r["id"] for r in records(client, "relief-options")}
    assert relief == {"continued-presence", "t-visa", "u-visa"}
    hotlines = {r["id"]: r for r in records(client, "hotlines")}
    numbers = {c["value"] for h in hotlines.values() for c in h["channels"]}
    assert {"+18663472423", "+18883737888", "233733"} <= numbers
    emails = {c["value"].lower() for h in hotlines.values() for c in h["channels"]}
    assert "icehumantrafficking.helpdesk@ice.dhs.gov" in emails
    assert "continuedpresence@ccht.dhs.gov" in emails
    statements = " | ".join(r["statement"]["en"] for r in records(client, "indicators")).lower()
    for behaviour in ["law enforcement", "victim", "rehearsed", "trafficker"]:
        assert behaviour in statements


def test_known_conflicts_are_recorded(client):
    hsi = client.get("/api/v1/hotlines/hsi-tip-line?lang=*").get_json()["data"]
    assert "447-4847" in hsi["notes"]["en"] or "4-HSI-TIP" in hsi["notes"]["en"]
    assert "447-4847" in hsi["notes"]["es"] or "4-HSI-TIP" in hsi["notes"]["es"]
    assert any(c["value"] == "+18663472423" for c in hsi["channels"])
    nhth = client.get("/api/v1/hotlines/national-human-trafficking-hotline?lang=*")
    notes = nhth.get_json()["data"]["notes"]
    assert "Compass Connections" in notes["en"] and "Polaris" in notes["en"]
    cp = client.get("/api/v1/relief-options/continued-presence?lang=*").get_json()["data"]
    assert "1 year" in cp["notes"]["en"] and "2 years" in cp["duration"]["en"]


def test_seeding_twice_changes_nothing(seeded_fresh_app):
    with seeded_fresh_app.app_context():
        session = db.session()
        changes = session.scalar(select(func.count()).select_from(Change))
        report = load_seed(session, SEED_DIR)
        assert report.created == report.updated == []
        assert session.scalar(select(func.count()).select_from(Change)) == changes


def test_an_edited_seed_file_versions_only_what_changed(seeded_fresh_app, tmp_path):
    edited = tmp_path / "seed"
    shutil.copytree(SEED_DIR, edited)
    path = edited / "hotlines.json"
    document = json.loads(path.read_text())
    target = document["records"][0]
    target["notes"] = {"en": "Checked again.", "es": "Verificado de nuevo."}
    path.write_text(json.dumps(document, ensure_ascii=False))
    with seeded_fresh_app.app_context():
        session = db.session()
        before = session.scalar(select(func.max(Change.seq)))
        report = load_seed(session, edited)
        assert report.updated == [target["id"]] and report.created == []
        versions = session.scalars(select(RecordVersion).where(
            RecordVersion.record_id == target["id"]).order_by(RecordVersion.version)).all()
        assert [v.version for v in versions] == [1, 2]
        assert versions[0].content.get("notes") != versions[1].content["notes"]
        assert session.scalar(select(func.max(Change.seq))) == before + 1
    client = seeded_fresh_app.test_client()
    shown = client.get(f"/api/v1/hotlines/{target['id']}?lang=es").get_json()["data"]
    assert shown["version"] == 2 and shown["notes"] == "Verificado de nuevo."


def test_a_malformed_seed_file_is_refused_whole(fresh_app, tmp_path):
    broken = tmp_path / "seed"
    shutil.copytree(SEED_DIR, broken)
    path = broken / "indicators.json"
    document = json.loads(path.read_text())
    document["records"][3]["category"] = "astrology"
    path.write_text(json.dumps(document, ensure_ascii=False))
    bad_id = document["records"][3]["id"]
    with pytest.raises(SeedError) as caught:
        read_seed(broken)
    [problem] = caught.value.problems
    assert "indicators.json" in problem and "record #4" in problem and bad_id in problem
    assert "'category'" in problem
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["seed", "--path", str(broken)])
    assert result.exit_code == 1
    assert "nothing was loaded" in result.output and "'category'" in result.output
    with fresh_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Record)) == 0


def test_invalid_json_and_dangling_references_are_refused(fresh_app, tmp_path):
    broken = tmp_path / "seed"
    shutil.copytree(SEED_DIR, broken)
    (broken / "resources.json").write_text('{"records": [}')
    with pytest.raises(SeedError, match="resources.json: not valid JSON"):
        read_seed(broken)
    shutil.copy(SEED_DIR / "resources.json", broken / "resources.json")
    path = broken / "relief-options.json"
    document = json.loads(path.read_text())
    document["records"][0]["contacts"] = ["no-such-hotline"]
    path.write_text(json.dumps(document, ensure_ascii=False))
    with fresh_app.app_context(), pytest.raises(SeedError, match="no-such-hotline"):
        load_seed(db.session(), broken)
    with fresh_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Record)) == 0


def test_seed_command_reports_progress_and_summary(fresh_app):
    result = fresh_app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "indicator isolated-from-family: created" in result.output
    assert "unchanged" in result.output.splitlines()[-1]
    again = fresh_app.test_cli_runner().invoke(args=["seed", "--quiet"])
    assert again.output.strip().startswith("seed: 0 created, 0 updated")
