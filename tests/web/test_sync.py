"""Revisions, the change feed and exports: a mirror that replays the feed always equals what its
caller can read."""

from __future__ import annotations

from pathlib import Path

import orjson

from schemas.records import COLLECTIONS
from tests.conftest import second_person
from tests.web.test_writes import NEW_HOTLINE


def visible_state(client, headers) -> dict[str, dict]:
    """Every record the caller can read, by id (from the lists, lang=*)."""
    state = {}
    for collection in COLLECTIONS:
        url = f"/api/v1/{collection}?limit=200&lang=*"
        for record in client.get(url, headers=headers).get_json()["data"]:
            state[record["id"]] = record
    return state


class Mirror:
    """A partner's copy, kept up to date from the feed."""

    def __init__(self, client, headers) -> None:
        self.client, self.headers = client, headers
        self.records: dict[str, dict] = {}
        self.token: str | None = None
        self.requests = 0

    def sync(self) -> None:
        while True:
            url = "/api/v1/changes?lang=*&limit=7" + (f"&since={self.token}" if self.token else "")
            response = self.client.get(url, headers=self.headers)
            self.requests += 1
            assert response.status_code == 200, response.get_json()
            body = response.get_json()
            for entry in body["data"]:
                if entry["op"] == "upsert":
                    self.records[entry["id"]] = entry["record"]
                else:
                    self.records.pop(entry["id"], None)
            self.token = body["meta"]["next_token"]
            if not body["meta"]["has_more"]:
                return


def comparable(state: dict[str, dict]) -> dict[str, tuple]:
    return {rid: (r["version"], r["visibility"], orjson.dumps(r, option=orjson.OPT_SORT_KEYS))
            for rid, r in state.items()}


def edit(client, headers, collection, record_id, changes):
    etag = client.get(f"/api/v1/{collection}/{record_id}", headers=headers).headers["ETag"]
    response = second_person(client, client.patch(
        f"/api/v1/{collection}/{record_id}", json=changes, headers={**headers, "If-Match": etag}),
        client.application.keys)  # a change a second person must approve: approved
    assert response.status_code == 200, response.get_json()
    return response


def test_mirrors_follow_every_kind_of_change(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    writer = keys.chief  # write + read:restricted, so it can find every record
    anonymous, agency = Mirror(client, {}), Mirror(client, keys.reader)
    steps = [
        lambda: client.post("/api/v1/hotlines", json=NEW_HOTLINE, headers=writer),
        lambda: edit(client, writer, "hotlines", "county-crisis-line",
                     {"notes": {"en": "Nights only."}}),
        lambda: edit(client, writer, "hotlines", "county-crisis-line",
                     {"visibility": "law_enforcement"}),
        lambda: edit(client, writer, "hotlines", "county-crisis-line",
                     {"notes": {"en": "Still restricted."}}),
        lambda: edit(client, writer, "hotlines", "county-crisis-line", {"visibility": "public"}),
        lambda: edit(client, writer, "hotlines", "county-crisis-line", {"status": "draft"}),
        lambda: edit(client, writer, "hotlines", "county-crisis-line", {"status": "published"}),
        lambda: edit(client, writer, "hotlines", "hstu-operational-line",
                     {"visibility": "public"}),
        lambda: client.delete("/api/v1/indicators/avoids-eye-contact", headers={
            **writer, "If-Match": client.get("/api/v1/indicators/avoids-eye-contact").headers[
                "ETag"]}),
    ]
    for step in [lambda: None, *steps]:
        step()
        for mirror in (anonymous, agency):
            mirror.sync()
            assert comparable(mirror.records) == comparable(visible_state(client, mirror.headers))
    assert "avoids-eye-contact" not in anonymous.records
    assert "hstu-operational-line" in anonymous.records  # made public at the end


def test_restricted_records_never_show_in_an_anonymous_feed(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    edit(client, keys.chief, "hotlines", "hstu-operational-line", {"notes": {"en": "Changed."}})
    etag = client.get("/api/v1/hotlines/hstu-operational-line", headers=keys.chief).headers["ETag"]
    client.delete("/api/v1/hotlines/hstu-operational-line", headers={**keys.chief,
                                                                     "If-Match": etag})
    seen = set()
    token = None
    while True:
        url = "/api/v1/changes?limit=200" + (f"&since={token}" if token else "")
        body = client.get(url).get_json()
        seen |= {entry["id"] for entry in body["data"]}
        token = body["meta"]["next_token"]
        if not body["meta"]["has_more"]:
            break
    assert "hstu-operational-line" not in seen
    assert "continued-presence-request-steps" not in seen


def test_an_export_continues_into_the_feed_without_gaps_or_duplicates(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    export = client.get("/api/v1/export?lang=*").get_json()
    token = export["meta"]["sync_token"]
    mirror = Mirror(client, {})
    mirror.records = {r["id"]: r for r in export["data"]}
    mirror.token = token
    assert comparable(mirror.records) == comparable(visible_state(client, {}))
    client.post("/api/v1/hotlines", json=NEW_HOTLINE, headers=keys.editor)
    edit(client, keys.editor, "hotlines", "hsi-tip-line", {"notes": {"en": "Edited."}})
    feed = client.get(f"/api/v1/changes?since={token}&lang=*").get_json()
    seqs = [entry["seq"] for entry in feed["data"]]
    assert seqs == sorted(set(seqs)) and min(seqs) == int(token[2:]) + 1
    assert [entry["id"] for entry in feed["data"]] == ["county-crisis-line", "hsi-tip-line"]
    mirror.sync()
    assert comparable(mirror.records) == comparable(visible_state(client, {}))


def test_ndjson_export(client):
    response = client.get("/api/v1/export?format=ndjson&lang=es")
    assert response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines()
    meta = orjson.loads(lines[0])["meta"]
    records = [orjson.loads(line) for line in lines[1:]]
    assert meta["count"] == len(records) >= 60 and meta["sync_token"].startswith("c.")
    assert all(record["lang"] in ("es", "en") for record in records)
    assert {r["id"] for r in records} == {
        r["id"] for r in client.get("/api/v1/export").get_json()["data"]}


def test_a_no_op_sync_is_one_small_request(client):
    head = client.get("/api/v1/export").get_json()["meta"]["sync_token"]
    response = client.get(f"/api/v1/changes?since={head}")
    body = response.get_json()
    assert body["data"] == [] and body["meta"] == {"next_token": head, "has_more": False}
    assert len(response.data) < 1024
    again = client.get(f"/api/v1/changes?since={head}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    export_etag = client.get("/api/v1/export").headers["ETag"]
    assert client.get("/api/v1/export", headers={"If-None-Match": export_etag}).status_code == 304


def test_revisions_show_each_version_exactly_as_published(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    before = client.get("/api/v1/hotlines/hsi-tip-line?lang=*").get_json()["data"]
    edit(client, keys.editor, "hotlines", "hsi-tip-line",
         {"notes": {"en": "Replaced note.", "es": "Nota reemplazada."}})
    history = client.get("/api/v1/hotlines/hsi-tip-line/revisions").get_json()
    assert [r["version"] for r in history["data"]] == [1, 2]
    assert history["meta"]["current_version"] == 2
    first = client.get("/api/v1/hotlines/hsi-tip-line/revisions/1?lang=*").get_json()["data"]
    assert first["notes"] == before["notes"] and first["version"] == 1
    second = client.get("/api/v1/hotlines/hsi-tip-line/revisions/2?lang=es").get_json()["data"]
    assert second["notes"] == "Nota reemplazada." and second["lang"] == "es"
    assert client.get("/api/v1/hotlines/hsi-tip-line/revisions/3").status_code == 404
    assert client.get("/api/v1/hotlines/hsi-tip-line/revisions/0").status_code == 404
    etag = client.get("/api/v1/hotlines/hsi-tip-line").headers["ETag"]
    second_person(client, client.delete("/api/v1/hotlines/hsi-tip-line",
                                        headers={**keys.editor, "If-Match": etag}), keys)
    assert client.get("/api/v1/hotlines/hsi-tip-line").status_code == 410
    retired = client.get("/api/v1/hotlines/hsi-tip-line/revisions").get_json()["data"]
    assert [r["status"] for r in retired] == ["published", "published", "retired"]
    assert client.get("/api/v1/hotlines/hsi-tip-line/revisions/1").status_code == 200
    restricted = "/api/v1/hotlines/hstu-operational-line/revisions"
    assert client.get(restricted).status_code == 404
    assert client.get(restricted, headers=keys.reader).status_code == 200


def test_hotlines_as_csv_a_row_per_channel(client):
    import csv
    import io

    response = client.get("/api/v1/hotlines?format=csv&lang=es")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="hotlines.csv"'
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # so spreadsheets read UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    hotlines = client.get("/api/v1/hotlines?limit=200").get_json()["data"]
    assert len(rows) == sum(len(h["channels"]) for h in hotlines)
    nhth = [r for r in rows if r["id"] == "national-human-trafficking-hotline"]
    assert nhth[0]["name"] == "Línea Nacional Contra la Trata de Personas"
    voice = next(r for r in nhth if r["channel_kind"] == "voice")
    assert voice["channel_value"] == "'+18883737888"  # a formula-safe cell, shown as +1888...
    texts = client.get("/api/v1/hotlines?format=csv&channel=text").get_data(as_text=True)
    assert {r["channel_kind"] for r in csv.DictReader(io.StringIO(texts.lstrip("\ufeff")))} \
        >= {"text"}


HSDS = Path(__file__).resolve().parents[1] / "data" / "hsds-3.0"


def test_hsds_export_is_valid_open_referral(client):
    import json

    from jsonschema import Draft202012Validator

    organization = json.loads((HSDS / "compiled_organization.json").read_text())
    service = json.loads((HSDS / "compiled_service.json").read_text())
    body = client.get("/api/v1/export/hsds").get_json()
    assert body["total_items"] == len(body["contents"]) > 0
    services = [s for o in body["contents"] for s in o["services"]]
    hotlines = client.get("/api/v1/hotlines?limit=200").get_json()["data"]
    assert sorted(s["alternate_name"] for s in services) == sorted(h["id"] for h in hotlines)
    for item in body["contents"]:
        Draft202012Validator(organization,
                             format_checker=Draft202012Validator.FORMAT_CHECKER).validate(item)
        for entry in item["services"]:
            Draft202012Validator(service,
                                 format_checker=Draft202012Validator.FORMAT_CHECKER).validate(entry)
    nhth = next(s for s in services if s["alternate_name"] == "national-human-trafficking-hotline")
    assert {p["type"] for p in nhth["phones"]} >= {"voice", "text"}
    again = client.get("/api/v1/export/hsds").get_json()
    assert again == body  # stable ids from one export to the next
    spanish = client.get("/api/v1/export/hsds?lang=es").get_json()
    assert any(s["name"] == "Línea Nacional Contra la Trata de Personas"
               for o in spanish["contents"] for s in o["services"])


def test_tokens_beyond_the_change_sequence_are_refused_not_errors(client):
    assert client.get("/api/v1/changes?since=c.54524309598").status_code == 400
    body = client.get("/api/v1/changes?since=c.999999999").get_json()
    assert body["data"] == [] and body["meta"]["has_more"] is False
