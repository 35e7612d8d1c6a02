"""The review queue (GET /api/v1/review), the check an editor records (POST
.../verification), `flask review`, and the review intervals a deployment sets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from schemas.registry import review_days_from
from tests.conftest import ROOT, second_person

CHECK = {"status": "verified", "method": "called the number",
         "source_url": "https://www.ice.gov/", "note": "A person answered and confirmed it."}
UNVERIFIED = "/api/v1/hotlines/ice-victim-assistance-program"


def _queue(client, headers, **params):
    """Every item of the queue, following next links; and the first page's meta."""
    url, items, meta = "/api/v1/review", [], None
    query = dict(params)
    while url:
        answer = client.get(url, headers=headers, query_string=query)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        meta = meta or body["meta"]
        items += body["data"]
        url, query = body["links"]["next"], None
    return items, meta


def test_the_queue_lists_what_to_check_oldest_first(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    items, meta = _queue(client, keys.editor)
    assert meta["total"] == len(items) >= 1
    first = items[0]
    assert first["id"] == "ice-victim-assistance-program"
    assert first["reasons"] == ["never_checked", "unverified"]
    assert first["label"] == "ICE Victim Assistance Program"
    assert first["link"].endswith(UNVERIFIED)
    disputed = [item for item in items if "disputed" in item["reasons"]]
    assert disputed and all(item["verification_status"] == "disputed" for item in disputed)
    dues = [item["review_due"] or "" for item in items]
    assert dues == sorted(dues)


def test_the_queue_needs_the_write_scope(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    assert client.get("/api/v1/review").status_code == 401
    refused = client.get("/api/v1/review", headers=keys.reader)
    assert refused.status_code == 403 and "write" in refused.get_json()["detail"]


def test_pages_walk_the_whole_queue(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    everything, _ = _queue(client, keys.chief)
    one_by_one, meta = _queue(client, keys.chief, limit=1)
    assert [item["id"] for item in one_by_one] == [item["id"] for item in everything]
    assert meta["count"] == 1 and meta["next_cursor"].startswith("r.")
    bad = client.get("/api/v1/review?cursor=nonsense", headers=keys.editor)
    assert bad.status_code == 400 and "cursor" in bad.get_json()["errors"]


def test_a_check_that_ran_out_is_listed(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    url = "/api/v1/hotlines/eeoc"
    etag = client.get(url).headers["ETag"]
    long_ago = (date.today() - timedelta(days=100)).isoformat()  # hotlines: 90 days
    patched = client.patch(url, json={"verified_on": long_ago},
                           headers={**keys.editor, "If-Match": etag})
    assert patched.status_code == 200
    assert patched.get_json()["data"]["review_due"] == (
        date.fromisoformat(long_ago) + timedelta(days=90)).isoformat()
    items, _ = _queue(client, keys.editor)
    assert [item["reasons"] for item in items if item["id"] == "eeoc"] == [["review_due"]]


def test_a_check_is_recorded_as_a_new_version_and_audited(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    before = client.get(UNVERIFIED)
    version = before.get_json()["data"]["version"]
    answer = client.post(UNVERIFIED + "/verification", json=CHECK,
                         headers={**keys.editor, "If-Match": before.headers["ETag"]})
    assert answer.status_code == 200, answer.get_json()
    today = datetime.now(UTC).date().isoformat()
    shown = client.get(UNVERIFIED).get_json()["data"]
    assert shown["verification_status"] == "verified" and shown["verified_on"] == today
    assert shown["version"] == version + 1
    assert answer.get_json()["data"]["verified_on"] == today  # the record, every language
    items, _ = _queue(client, keys.editor)
    assert "ice-victim-assistance-program" not in [item["id"] for item in items]
    # Checked again the same day: nothing new to publish, but the check is kept.
    again = client.post(UNVERIFIED + "/verification", json={**CHECK, "note": "Again."},
                        headers={**keys.editor, "If-Match": answer.headers["ETag"]})
    assert again.status_code == 200
    assert client.get(UNVERIFIED).get_json()["data"]["version"] == version + 1
    audit = client.get("/api/v1/audit?action=verify&record_id=ice-victim-assistance-program",
                       headers=keys.admin).get_json()["data"]
    assert [entry["changes"]["check"]["to"]["note"] for entry in audit] == \
        ["Again.", CHECK["note"]]
    assert audit[1]["changes"]["verification_status"] == {"from": "unverified",
                                                          "to": "verified"}
    assert audit[1]["actor"] == "editor"
    feed = client.get("/api/v1/changes?limit=200").get_json()["data"]
    assert any(c["id"] == "ice-victim-assistance-program" and c["version"] == version + 1
               for c in feed)


@pytest.mark.parametrize(("body", "headers", "status"), [
    (CHECK, {}, 428),
    ({**CHECK, "status": "fine"}, {"If-Match": "*"}, 422),
    ({"status": "verified"}, {"If-Match": "*"}, 422),
    ({**CHECK, "source_url": "ftp://x"}, {"If-Match": "*"}, 422),
    ({**CHECK, "extra": 1}, {"If-Match": "*"}, 422),
    (CHECK, {"If-Match": '"r99-0000"'}, 412),
])
def test_a_bad_check_is_a_problem_and_changes_nothing(editor_app, body, headers, status):
    client, keys = editor_app.test_client(), editor_app.keys
    before = client.get(UNVERIFIED).get_json()["data"]
    answer = client.post(UNVERIFIED + "/verification", json=body,
                         headers={**keys.editor, **headers})
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert client.get(UNVERIFIED).get_json()["data"] == before


def test_a_check_needs_the_write_scope_and_a_published_record(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    assert client.post(UNVERIFIED + "/verification", json=CHECK,
                       headers={"If-Match": "*"}).status_code == 401
    assert client.post(UNVERIFIED + "/verification", json=CHECK,
                       headers={**keys.reader, "If-Match": "*"}).status_code == 403
    assert client.post("/api/v1/hotlines/no-such/verification", json=CHECK,
                       headers={**keys.editor, "If-Match": "*"}).status_code == 404
    retired = "/api/v1/hotlines/hsi-tip-line"
    etag = client.get(retired).headers["ETag"]
    answer = client.delete(retired, headers={**keys.editor, "If-Match": etag})
    assert second_person(client, answer, keys).status_code == 200
    refused = client.post(retired + "/verification", json=CHECK,
                          headers={**keys.editor, "If-Match": "*"})
    assert refused.status_code == 409 and "published" in refused.get_json()["detail"]


def test_the_command_prints_the_queue(editor_app):
    result = editor_app.test_cli_runner().invoke(args=["review"])
    assert result.exit_code == 0, result.output
    assert "ice-victim-assistance-program" in result.output
    assert "never_checked, unverified" in result.output
    assert "record(s) to check" in result.output


def test_review_intervals_are_a_setting():
    assert review_days_from("hotline=30, indicator=730") == {"hotline": 30, "indicator": 730}
    for bad in ("hotline", "hotline=0", "hotline=ten", "hotline=4000"):
        with pytest.raises(ValueError, match="HTCONTENT_REVIEW_DAYS"):
            review_days_from(bad)


PROBE = """
import json, sys
from api import create_app
from api.config import TestConfig
from api.storage import db
from seed.loader import load_seed
url = sys.argv[1]
db.upgrade(url)
app = create_app(TestConfig(url))
with app.app_context():
    load_seed(db.session(), app.config["SEED_DIR"])
print(json.dumps(app.test_client().get("/api/v1/hotlines/eeoc").get_json()["data"]))
"""


def test_a_deployment_sets_its_own_review_interval(databases):
    def probe(setting: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HTCONTENT_REVIEW_DAYS": setting, "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-c", PROBE, databases.new()], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)

    out = probe("hotline=30")
    assert out.returncode == 0, out.stderr[-2000:]
    eeoc = json.loads(out.stdout.strip().splitlines()[-1])
    assert eeoc["review_due"] == (date.fromisoformat(eeoc["verified_on"])
                                  + timedelta(days=30)).isoformat()
    refused = probe("hotlines=30")
    assert refused.returncode != 0 and "names no record type: hotlines" in refused.stderr
