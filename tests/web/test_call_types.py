"""The call-type crosswalk (APCO incident types to settings) and the indicator list filter it
drives: the same indicators as the settings it maps to, edited, versioned and audited like
every record, at once."""

from __future__ import annotations

from schemas.apco import INCIDENT_TYPES


def ids(client, url: str, headers=None) -> list[str]:
    answer = client.get(url, headers=headers or {})
    assert answer.status_code == 200, answer.get_json()
    return sorted(record["id"] for record in answer.get_json()["data"])


def test_the_crosswalk_is_sourced_records_of_the_apco_list(client):
    answer = client.get("/api/v1/call-types?limit=200&lang=es").get_json()
    assert answer["meta"]["total"] >= 20
    for call_type in answer["data"]:
        assert call_type["apco_code"] in INCIDENT_TYPES and call_type["settings"]
        assert call_type["sources"] and call_type["verified_on"]
        assert call_type["id"] == call_type["apco_code"].lower()
    stop = client.get("/api/v1/call-types/tstop?lang=es").get_json()["data"]
    assert stop["name"] == "Detención de tráfico" and stop["settings"] == ["traffic_stop"]


def test_indicators_by_apco_incident_type(client):
    base = "/api/v1/indicators?limit=200"
    stop = ids(client, f"{base}&apco_incident=TSTOP")
    assert stop and stop == ids(client, f"{base}&setting=traffic_stop")
    assert ids(client, f"{base}&apco_incident=TSTOP,VICE") == ids(
        client, f"{base}&setting=traffic_stop,commercial_venue,hotel,online")
    # with another filter: both hold
    assert ids(client, f"{base}&apco_incident=VICE&setting=hotel") == ids(
        client, f"{base}&setting=hotel")
    assert ids(client, f"{base}&apco_incident=TSTOP&setting=hotel") == sorted(
        set(stop) & set(ids(client, f"{base}&setting=hotel")))
    unmapped = client.get(f"{base}&apco_incident=ALRF").get_json()  # a fire alarm
    assert unmapped["data"] == [] and unmapped["meta"]["total"] == 0
    for bad in ("NOPE", "tstop", "TSTOP,"):
        problem = client.get(f"{base}&apco_incident={bad}")
        assert problem.status_code == 400 and "apco_incident" in problem.get_json()["errors"]


def test_editing_the_crosswalk_changes_the_filter_at_once_versioned_and_audited(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    base = "/api/v1/indicators?limit=200&apco_incident=TSTOP"
    before = ids(client, base)
    changed = client.patch("/api/v1/call-types/tstop", json={"settings": ["traffic_stop",
                                                                          "hotel"]},
                           headers={**keys.editor, "If-Match": "*"})
    assert changed.status_code == 200 and changed.get_json()["data"]["version"] == 2
    after = ids(client, base)
    assert set(before) < set(after) == set(ids(
        client, "/api/v1/indicators?limit=200&setting=traffic_stop,hotel"))
    audit = client.get("/api/v1/audit?record_id=tstop", headers=keys.admin).get_json()["data"]
    assert [entry["action"] for entry in audit][:1] == ["patch"]
    revisions = client.get("/api/v1/call-types/tstop/revisions").get_json()["data"]
    assert [r["version"] for r in revisions] == [1, 2]
    refused = client.patch("/api/v1/call-types/tstop", json={"apco_code": "NOT-A-CODE"},
                           headers={**keys.editor, "If-Match": "*"})
    assert refused.status_code == 422 and "apco_code" in refused.get_json()["errors"]


def test_pages_by_apco_incident_are_the_pages_by_its_settings(client):
    def walk(query: str) -> tuple[list[str], int]:
        url, seen, total = f"/api/v1/indicators?limit=2&{query}", [], None
        while url:
            answer = client.get(url).get_json()
            seen += [record["id"] for record in answer["data"]]
            total = answer["meta"]["total"]
            url = answer["links"]["next"]
        return seen, total

    assert walk("apco_incident=DVA,DVNA") == walk("setting=domestic_disturbance")
    assert walk("apco_incident=VICE&category=behavioral") == walk(
        "setting=commercial_venue,hotel,online&category=behavioral")
