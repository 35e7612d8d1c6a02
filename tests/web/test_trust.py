"""Content you can trust (first part): verification state on every record, derived NIBRS codes,
the indicator guidance, Spanish search, and the corrected seed content. Over HTTP, on the
database the suite runs on (SQLite or PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from tests.web.test_writes import NEW_HOTLINE

INDICATOR = {
    "id": "test-indicator",
    "verified_on": "2026-11-28",
    "sources": [{"url": "https://example.org/ind", "title": "Indicator page"}],
    "statement": {"en": "A test statement.", "es": "Una afirmación de prueba."},
    "category": "behavioral",
    "trafficking_types": ["labor"],
}


def _all(client, collection, **params):
    out, cursor = [], None
    while True:
        body = client.get(f"/api/v1/{collection}",
                          query_string={**params, "limit": 200,
                                        **({"cursor": cursor} if cursor else {})}).get_json()
        out += body["data"]
        cursor = body["meta"]["next_cursor"]
        if not cursor:
            return out


@pytest.mark.parametrize("collection", ["resources", "indicators", "relief-options", "hotlines"])
def test_every_record_says_how_far_it_is_verified(client, collection):
    for record in _all(client, collection):
        assert record["verification_status"] in ("verified", "unverified", "disputed")
        if record["verification_status"] == "verified":
            assert record["verified_on"]
        if record["verified_on"]:
            days = {"hotlines": 90, "relief-options": 180}.get(collection, 365)
            assert record["review_due"] == (date.fromisoformat(record["verified_on"])
                                            + timedelta(days=days)).isoformat()
        else:
            assert record["review_due"] is None


def test_an_unverified_number_is_not_published_as_verified(client):
    record = client.get("/api/v1/hotlines/ice-victim-assistance-program").get_json()["data"]
    assert record["verification_status"] == "unverified"
    assert record["verified_on"] is None and record["review_due"] is None
    ids = {r["id"] for r in _all(client, "hotlines", verification_status="unverified")}
    assert "ice-victim-assistance-program" in ids
    verified = {r["id"] for r in _all(client, "hotlines", verification_status="verified")}
    assert "ice-victim-assistance-program" not in verified
    assert "national-human-trafficking-hotline" in verified


def test_disputed_records_carry_their_conflicts(client):
    disputed = _all(client, "hotlines", verification_status="disputed")
    assert "hsi-tip-line" in {r["id"] for r in disputed}
    for record in disputed:
        assert record["conflicts"], record["id"]
    tip = client.get("/api/v1/hotlines/hsi-tip-line?lang=es").get_json()["data"]
    assert any("1-877" in c["note"] for c in tip["conflicts"])


def test_verification_status_filter_is_refused_with_an_unknown_value(client):
    response = client.get("/api/v1/resources?verification_status=checked")
    assert response.status_code == 400
    assert "verified" in str(response.get_json()["errors"]["verification_status"])


def test_vocabularies_publish_the_new_codes_with_labels(client):
    vocabularies = {v["name"]: v for v in client.get("/api/v1/vocabularies").get_json()["data"]}
    status = vocabularies["verification_status"]
    assert {t["code"] for t in status["terms"]} == {"verified", "unverified", "disputed"}
    assert set(status["filters"]) == {"verification_status"}
    assert all(t["labels"]["es"] != t["labels"]["en"] for t in status["terms"])
    nibrs = vocabularies["nibrs_offense"]
    assert [t["code"] for t in nibrs["terms"]] == ["64A", "64B"]
    assert "not a coding decision" in nibrs["description"]["en"]
    assert "no son una decisión" in nibrs["description"]["es"].lower()
    assert "video" in {t["code"] for t in vocabularies["channel_kind"]["terms"]}
    assert "dispatcher" in {t["code"] for t in vocabularies["audience"]["terms"]}


def test_nibrs_codes_follow_trafficking_types(client):
    for record in _all(client, "indicators", lang="*"):
        expected = sorted({"sex": "64A", "labor": "64B"}[t] for t in record["trafficking_types"])
        assert record["nibrs_offenses"] == expected, record["id"]


def test_indicator_lists_carry_the_guidance_in_the_asked_language(client):
    en = client.get("/api/v1/indicators?limit=1").get_json()["meta"]["guidance"]
    es = client.get("/api/v1/indicators?limit=1&lang=es").get_json()["meta"]["guidance"]
    every = client.get("/api/v1/indicators?limit=1&lang=*").get_json()["meta"]["guidance"]
    assert any("No single indicator proves" in line for line in en)
    assert any("911" in line for line in es) and any("confronte" in line for line in es)
    assert every[0]["en"] == en[0] and every[0]["es"] == es[0]
    assert "guidance" not in client.get("/api/v1/hotlines?limit=1").get_json()["meta"]


def test_a_write_defaults_and_checks_the_verification_status(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    created = client.post("/api/v1/hotlines", json=NEW_HOTLINE, headers=keys.editor)
    assert created.get_json()["data"]["verification_status"] == "verified"
    unchecked = {**NEW_HOTLINE, "id": "unchecked-line"}
    del unchecked["verified_on"]
    body = client.post("/api/v1/hotlines", json=unchecked, headers=keys.editor).get_json()
    assert body["data"]["verification_status"] == "unverified"
    assert body["data"]["verified_on"] is None
    wrong = {**unchecked, "id": "claims-verified", "verification_status": "verified"}
    refused = client.post("/api/v1/hotlines", json=wrong, headers=keys.editor)
    assert refused.status_code == 422 and "verified_on" in refused.get_json()["errors"]
    assert client.get("/api/v1/hotlines/claims-verified").status_code == 404


def test_a_check_date_added_later_makes_the_record_verified(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    unchecked = {**NEW_HOTLINE, "id": "checked-later"}
    del unchecked["verified_on"]
    created = client.post("/api/v1/hotlines", json=unchecked, headers=keys.editor)
    assert created.get_json()["data"]["verification_status"] == "unverified"
    checked = client.patch("/api/v1/hotlines/checked-later", json={"verified_on": "2026-12-01"},
                           headers={**keys.editor, "If-Match": created.headers["ETag"]})
    record = checked.get_json()["data"]
    assert record["verification_status"] == "verified" and record["review_due"] == "2027-03-01"
    again = client.patch("/api/v1/hotlines/checked-later", json={"verified_on": None},
                         headers={**keys.editor, "If-Match": checked.headers["ETag"]})
    assert again.get_json()["data"]["verification_status"] == "unverified"


def test_a_check_date_in_the_future_is_refused(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    for day in ("9999-12-31", "2999-01-01"):
        refused = client.post("/api/v1/hotlines", json={**NEW_HOTLINE, "verified_on": day},
                              headers=keys.editor)
        assert refused.status_code == 422 and "verified_on" in refused.get_json()["errors"]


def test_nibrs_codes_are_derived_on_write(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    created = client.post("/api/v1/indicators", json=INDICATOR, headers=keys.editor)
    assert created.status_code == 201
    assert created.get_json()["data"]["nibrs_offenses"] == ["64B"]
    etag = created.headers["ETag"]
    patched = client.patch("/api/v1/indicators/test-indicator",
                           json={"trafficking_types": ["sex", "labor"]},
                           headers={**keys.editor, "If-Match": etag})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["data"]["nibrs_offenses"] == ["64A", "64B"]
    wrong = {**INDICATOR, "id": "wrong-codes", "nibrs_offenses": ["64A"]}
    refused = client.post("/api/v1/indicators", json=wrong, headers=keys.editor)
    assert refused.status_code == 422
    assert "trafficking_types" in str(refused.get_json()["errors"]["nibrs_offenses"])


def test_the_hotline_is_named_by_its_organization_and_found_in_spanish(client):
    record = client.get("/api/v1/hotlines/national-human-trafficking-hotline?lang=*"
                        ).get_json()["data"]
    assert len(record["organization"]["en"]) <= 100
    assert "2007" not in record["organization"]["en"]
    assert "Polaris" in record["notes"]["en"]
    assert "Línea Directa Nacional de Trata de Personas" in record["alternate_names"]
    assert any("humantraffickinghotline.org" in s["url"] for s in record["sources"])
    hits = client.get("/api/v1/search?q=Línea Directa Nacional de Trata&lang=es").get_json()
    assert "national-human-trafficking-hotline" in [h["id"] for h in hits["data"]]


@pytest.mark.parametrize("word", ["víctimas", "victimas", "explotadas", "trabajadores"])
def test_spanish_search_finds_other_forms_of_a_word(client, word):
    hits = client.get("/api/v1/search", query_string={"q": word, "lang": "es"}).get_json()
    assert hits["meta"]["total"] > 0, word


def test_spanish_stems_find_a_record_whose_text_has_another_form(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    record = {**NEW_HOTLINE, "id": "stem-line",
              "name": {"en": "Stem line", "es": "Línea para personas explotadas"}}
    assert client.post("/api/v1/hotlines", json=record, headers=keys.editor).status_code == 201
    hits = client.get("/api/v1/search", query_string={"q": "explotación", "lang": "es"})
    assert "stem-line" in [h["id"] for h in hits.get_json()["data"]]


def test_eeoc_video_phone_and_purpose(client):
    eeoc = client.get("/api/v1/hotlines/eeoc").get_json()["data"]
    assert eeoc["purpose"] != "report_tip"
    video = [c for c in eeoc["channels"] if c["kind"] == "video"]
    assert [c["value"] for c in video] == ["+18442345122"]
    assert "+18442345122" not in {c["value"] for c in eeoc["channels"] if c["kind"] == "voice"}
    ids = {r["id"] for r in _all(client, "hotlines", channel="video")}
    assert ids == {"eeoc"}


def test_no_public_record_points_at_a_restricted_one(app):
    client = app.test_client()
    public = {r["id"] for c in ("resources", "indicators", "relief-options", "hotlines")
              for r in _all(client, c)}
    for collection in ("resources", "indicators", "relief-options", "hotlines"):
        for record in _all(client, collection):
            for target in record.get("related", []) + record.get("contacts", []):
                assert target in public, (record["id"], target)


def test_relief_options_carry_their_legal_basis(client):
    for record in _all(client, "relief-options", lang="*"):
        assert record.get("legal_basis", {}).get("es"), record["id"]


def test_no_spanish_text_is_left_as_its_english(client):
    def texts(value, path=""):
        if isinstance(value, dict) and set(value) <= {"en", "es"} and "en" in value:
            yield path, value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from texts(item, f"{path}.{key}")
        elif isinstance(value, list):
            for number, item in enumerate(value):
                yield from texts(item, f"{path}[{number}]")

    same = []
    for collection in ("resources", "indicators", "relief-options", "hotlines"):
        for record in _all(client, collection, lang="*"):
            for path, text in texts(record):
                if text.get("es") == text["en"] and any(ch.isalpha() for ch in str(text["en"])):
                    same.append(f"{record['id']}{path}")
    assert same == []


def test_csv_and_hsds_carry_the_verification(client):
    rows = list(csv.DictReader(io.StringIO(
        client.get("/api/v1/hotlines?format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    by_id = {row["id"]: row for row in rows}
    assert by_id["ice-victim-assistance-program"]["verification_status"] == "unverified"
    assert by_id["ice-victim-assistance-program"]["verified_on"] == ""
    assert by_id["emergency-911"]["review_due"]
    hsds = client.get("/api/v1/export/hsds").get_json()["contents"]
    services = {s["name"]: s for org in hsds for s in org["services"]}
    nhth = services["National Human Trafficking Hotline"]
    assert nhth["assured_date"] and nhth["attributes"][0]["value"] == "verified"
    vap = services["ICE Victim Assistance Program"]
    assert "assured_date" not in vap and vap["attributes"][0]["value"] == "unverified"
    organizations = {org["name"] for org in hsds}
    assert all(len(name) <= 100 for name in organizations)
