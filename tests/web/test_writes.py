"""Editorial writes: validation, If-Match, drafts, versions, retirement, idempotency, audit,
and concurrent editors losing no update."""

from __future__ import annotations

import threading

import jsonschema
import pytest
import requests
import yaml
from sqlalchemy import select

from api.storage import db
from api.storage.models import Change, RecordVersion
from api.web.openapi import OPENAPI_PATH
from tests.conftest import second_person, serving

NEW_HOTLINE = {
    "id": "county-crisis-line",
    "verified_on": "2026-11-28",
    "sources": [{"url": "https://example.org/county", "title": "County page"}],
    "name": {"en": "County crisis line", "es": "Línea de crisis del condado"},
    "organization": {"en": "County", "es": "Condado"},
    "purpose": "victim_help",
    "channels": [{"kind": "voice", "value": "+15555550123", "display": "555-0123"}],
}


def create(client, headers, body=None, **extra_headers):
    return client.post("/api/v1/hotlines", json=body or NEW_HOTLINE,
                       headers={**headers, **extra_headers})


def test_create_read_update_retire(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    created = create(client, keys.editor)
    assert created.status_code == 201
    assert created.headers["Location"].endswith("/api/v1/hotlines/county-crisis-line")
    record = created.get_json()["data"]
    assert record["version"] == 1 and record["name"]["es"] == "Línea de crisis del condado"
    public = client.get("/api/v1/hotlines/county-crisis-line?lang=es")
    assert public.status_code == 200 and public.get_json()["data"]["name"] == \
        "Línea de crisis del condado"

    etag = created.headers["ETag"]
    assert client.patch("/api/v1/hotlines/county-crisis-line", json={"notes": {"en": "x"}},
                        headers=keys.editor).status_code == 428
    patched = client.patch("/api/v1/hotlines/county-crisis-line",
                           json={"notes": {"en": "Staffed nights.", "es": "De noche."}},
                           headers={**keys.editor, "If-Match": etag,
                                    "Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200 and patched.get_json()["data"]["version"] == 2
    stale = client.patch("/api/v1/hotlines/county-crisis-line", json={"notes": None},
                         headers={**keys.editor, "If-Match": etag})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    # Any language's ETag of the current revision is a valid If-Match.
    spanish_etag = client.get("/api/v1/hotlines/county-crisis-line?lang=es").headers["ETag"]
    removed = client.patch("/api/v1/hotlines/county-crisis-line", json={"notes": None},
                           headers={**keys.editor, "If-Match": spanish_etag})
    assert removed.status_code == 200 and "notes" not in removed.get_json()["data"]

    replaced = client.put("/api/v1/hotlines/county-crisis-line",
                          json={**NEW_HOTLINE, "name": {"en": "County line"}},
                          headers={**keys.editor, "If-Match": removed.headers["ETag"]})
    assert replaced.status_code == 200 and replaced.get_json()["data"]["version"] == 4
    assert "es" not in replaced.get_json()["data"]["name"]

    retired = client.delete("/api/v1/hotlines/county-crisis-line",
                            headers={**keys.editor, "If-Match": replaced.headers["ETag"]})
    assert retired.status_code == 202  # a hotline off the screens: a second person approves
    assert second_person(client, retired, keys).status_code == 200
    gone = client.get("/api/v1/hotlines/county-crisis-line")
    assert gone.status_code == 410 and gone.get_json()["retired_at"]
    listed = client.get("/api/v1/hotlines?limit=200").get_json()["data"]
    assert "county-crisis-line" not in {r["id"] for r in listed}
    with editor_app.app_context():
        session = db.session()
        versions = session.scalars(select(RecordVersion.version).where(
            RecordVersion.record_id == "county-crisis-line").order_by(RecordVersion.version))
        assert list(versions) == [1, 2, 3, 4, 5]
        ops = session.scalars(select(Change.op).where(
            Change.record_id == "county-crisis-line").order_by(Change.seq))
        assert list(ops) == ["upsert"] * 4 + ["delete"]


@pytest.mark.parametrize("patch, spanish", [
    ({"name": {"es": None}}, None),                    # one language removed
    ({"name": {"es": "Línea del condado"}}, "Línea del condado"),  # one language changed
])
def test_a_merge_patch_reaches_into_text_by_language_as_the_contract_says(editor_app, patch,
                                                                         spanish):
    """RFC 7396 merges objects member by member: a patch may send one language of a text, or
    remove one with null; the contract's Patch shape says so (English stays required)."""
    client, keys = editor_app.test_client(), editor_app.keys
    created = create(client, keys.editor)
    contract = yaml.safe_load(OPENAPI_PATH.read_text())
    shape = {**contract["components"]["schemas"]["HotlinePatch"],
             "components": contract["components"]}
    jsonschema.validate(patch, shape)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": {"en": None}}, shape)
    patched = client.patch("/api/v1/hotlines/county-crisis-line?lang=*", json=patch,
                           headers={**keys.editor, "If-Match": created.headers["ETag"],
                                    "Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    name = patched.get_json()["data"]["name"]
    assert name["en"] == "County crisis line" and name.get("es") == spanish


def test_writes_that_change_nothing_leave_every_cached_answer_valid(editor_app):
    """A partner system that PUTs its full records on a schedule, an editor saving without a
    change, a seed run again: same ETag, no version, no change entry, and the data version
    the response caches check stays (their answers stay valid)."""
    from sqlalchemy import text

    from api.web.editing import READ_ONLY
    from seed.loader import load_seed
    from tests.conftest import SEED_DIR

    client, keys = editor_app.test_client(), editor_app.keys
    url = "/api/v1/hotlines/national-human-trafficking-hotline"

    def data_version() -> tuple[str, int]:
        with editor_app.app_context():
            return tuple(db.session().execute(  # type: ignore[return-value]
                text("SELECT epoch, counter FROM write_lock")).one())

    def changes() -> int:
        with editor_app.app_context():
            return len(db.session().scalars(select(Change.seq)).all())

    current = client.get(f"{url}?lang=*", headers=keys.editor)
    before, entries = data_version(), changes()
    same = {name: value for name, value in current.get_json()["data"].items()
            if name not in READ_ONLY}
    put = client.put(url, json=same, headers={**keys.editor, "If-Match": current.headers["ETag"]})
    assert put.status_code == 200, put.get_json()
    version = current.get_json()["data"]["version"]
    assert put.get_json()["data"]["version"] == version
    patched = client.patch(url, json={"status": "published"},
                           headers={**keys.editor, "If-Match": put.headers["ETag"]})
    assert patched.status_code == 200 and patched.headers["ETag"] == put.headers["ETag"]
    with editor_app.app_context():
        assert load_seed(db.session(), SEED_DIR).updated == []
    assert data_version() == before and changes() == entries
    assert client.get(f"{url}?lang=*", headers=keys.editor).data == current.data
    changed = client.patch(url, json={"notes": {"en": "A real change."}},
                           headers={**keys.editor, "If-Match": put.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["data"]["version"] == version + 1
    assert data_version() != before and changes() == entries + 1


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW_HOTLINE, "bogus": 1}, "bogus"),
    ({**NEW_HOTLINE, "version": 7}, "version"),
    ({**NEW_HOTLINE, "created_at": "2020-01-01T00:00:00Z"}, "created_at"),
    ({**NEW_HOTLINE, "purpose": "gossip"}, "purpose"),
    ({**NEW_HOTLINE, "id": "Bad Id!"}, "id"),
    ({**NEW_HOTLINE, "name": {"en": "x" * 201}}, "name"),
    ({**NEW_HOTLINE, "name": {"fr": "Ligne"}}, "name"),
    ({**NEW_HOTLINE, "related": [f"r{i:02d}" for i in range(51)]}, "related"),
    ({**NEW_HOTLINE, "related": ["no-such-record"]}, "related"),
    ({**NEW_HOTLINE, "channels": [{"kind": "voice", "value": "call us"}]}, "channels"),
    ({k: v for k, v in NEW_HOTLINE.items() if k != "name"}, "name"),
    ({**NEW_HOTLINE, "name": {"en": "Nul\u0000byte"}}, "name"),
    ({**NEW_HOTLINE, "name": {"en": " \u3000 "}}, "name"),
    ({**NEW_HOTLINE, "sources": [{"url": "https://example.org", "title": "a\u0007"}]}, "sources"),
    ({**NEW_HOTLINE, "channels": [{"kind": "email", "value": "not-an-address"}]}, "channels"),
])
def test_invalid_records_are_422_by_field_and_change_nothing(editor_app, body, field):
    client = editor_app.test_client()
    response = create(client, editor_app.keys.editor, body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert client.get(f"/api/v1/hotlines/{NEW_HOTLINE['id']}").status_code == 404


def test_bodies_that_are_not_records(editor_app):
    client, headers = editor_app.test_client(), editor_app.keys.editor
    too_big = client.post("/api/v1/hotlines", data=b'{"id": "' + b"a" * (1024 * 1024) + b'"}',
                          headers={**headers, "Content-Type": "application/json"})
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
    not_json = client.post("/api/v1/hotlines", data="id=x",
                           headers={**headers, "Content-Type": "application/x-www-form-urlencoded"})
    assert not_json.status_code == 415
    broken = client.post("/api/v1/hotlines", data="{",
                         headers={**headers, "Content-Type": "application/json"})
    assert broken.status_code == 400
    a_list = client.post("/api/v1/hotlines", json=[NEW_HOTLINE], headers=headers)
    assert a_list.status_code == 422
    taken = client.post("/api/v1/hotlines", json={**NEW_HOTLINE, "id": "hsi-tip-line"},
                        headers=headers)
    assert taken.status_code == 409
    elsewhere = client.post("/api/v1/hotlines", json={**NEW_HOTLINE, "id": "t-visa"},
                            headers=headers)
    assert elsewhere.status_code == 409


def test_drafts_stay_out_of_every_public_read_until_published(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    draft = create(client, keys.editor, {**NEW_HOTLINE, "status": "draft",
                                         "name": {"en": "Zebra draft line"}})
    assert draft.status_code == 201 and draft.get_json()["data"]["version"] == 0
    for headers in ({}, keys.reader):
        assert client.get("/api/v1/hotlines/county-crisis-line", headers=headers).status_code \
            == 404
        ids = {r["id"] for r in client.get("/api/v1/hotlines?limit=200",
                                           headers=headers).get_json()["data"]}
        assert "county-crisis-line" not in ids
        hits = client.get("/api/v1/search?q=zebra", headers=headers).get_json()["data"]
        assert hits == []
    seen_by_editor = client.get("/api/v1/hotlines/county-crisis-line", headers=keys.editor)
    assert seen_by_editor.status_code == 200
    assert seen_by_editor.get_json()["data"]["status"] == "draft"
    published = client.patch("/api/v1/hotlines/county-crisis-line", json={"status": "published"},
                             headers={**keys.editor, "If-Match": seen_by_editor.headers["ETag"]})
    assert published.status_code == 200 and published.get_json()["data"]["version"] == 1
    assert client.get("/api/v1/search?q=zebra").get_json()["data"][0]["id"] == \
        "county-crisis-line"


def test_idempotent_creation(editor_app):
    client, headers = editor_app.test_client(), editor_app.keys.editor
    first = create(client, headers, **{"Idempotency-Key": "req-1"})
    again = create(client, headers, **{"Idempotency-Key": "req-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    other = create(client, headers, {**NEW_HOTLINE, "id": "another-line"},
                   **{"Idempotency-Key": "req-1"})
    assert other.status_code == 422
    assert client.get("/api/v1/hotlines/another-line").status_code == 404
    with editor_app.app_context():
        versions = db.session().scalars(select(RecordVersion).where(
            RecordVersion.record_id == NEW_HOTLINE["id"])).all()
        assert len(versions) == 1


def test_every_write_is_audited(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    created = create(client, keys.editor)
    patched = client.patch("/api/v1/hotlines/county-crisis-line", json={"available_24_7": True},
                           headers={**keys.editor, "If-Match": created.headers["ETag"]})
    trail = client.get("/api/v1/audit?record_id=county-crisis-line", headers=keys.admin)
    assert trail.status_code == 200
    entries = trail.get_json()["data"]
    assert [e["action"] for e in entries] == ["patch", "create"]
    assert entries[0]["actor"] == "editor" and entries[0]["version"] == 2
    assert entries[0]["changes"] == {"available_24_7": {"from": None, "to": True}}
    assert entries[1]["changes"]["name"]["to"]["en"] == "County crisis line"
    assert entries[0]["request_id"] == patched.headers["X-Request-ID"]
    by_actor = client.get("/api/v1/audit?actor=editor&limit=1", headers=keys.admin).get_json()
    assert by_actor["meta"]["total"] == 2 and by_actor["links"]["next"]
    seeded = client.get("/api/v1/audit?action=seed&limit=200", headers=keys.admin).get_json()
    assert seeded["meta"]["total"] >= 70


def test_concurrent_editors_lose_no_update(editor_app, tmp_path):
    """Real threads against the live app: one winner per revision, 412 for the rest."""
    keys = editor_app.keys
    url = editor_app.config["DATABASE_URL"]
    with serving(url, tmp_path / "gunicorn.log", HTCONTENT_WORKERS="2") as base:
        item = f"{base}/api/v1/hotlines/county-crisis-line"
        created = requests.post(f"{base}/api/v1/hotlines", json=NEW_HOTLINE,
                                headers=keys.editor, timeout=10)
        assert created.status_code == 201
        rounds, writers = 5, 6
        for round_number in range(rounds):
            etag = requests.get(item, headers=keys.editor, timeout=10).headers["ETag"]
            statuses: list[int] = []
            barrier = threading.Barrier(writers)

            def write(writer: int, etag: str = etag, round_number: int = round_number,
                      barrier: threading.Barrier = barrier,
                      statuses: list[int] = statuses) -> None:
                barrier.wait()
                response = requests.patch(
                    item, json={"notes": {"en": f"round {round_number} writer {writer}"}},
                    headers={**keys.editor, "If-Match": etag}, timeout=30)
                statuses.append(response.status_code)

            threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sorted(statuses) == [200] + [412] * (writers - 1), statuses
        final = requests.get(item, timeout=10).json()["data"]
        assert final["version"] == rounds + 1
    with editor_app.app_context():
        versions = list(db.session().scalars(select(RecordVersion.version).where(
            RecordVersion.record_id == "county-crisis-line").order_by(RecordVersion.version)))
    assert versions == list(range(1, rounds + 2))
