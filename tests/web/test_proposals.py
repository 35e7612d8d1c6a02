"""The two-person rule: a write that can hurt becomes a proposal (202), every read stays as it
was, and another key with the `approve` scope publishes or rejects it."""

from __future__ import annotations

import copy

import jsonpatch
import pytest

from api.storage import db
from api.web.auth import create_key

HOTLINE = "/api/v1/hotlines/eeoc"


@pytest.fixture
def approver(editor_app):
    """A key with the approve scope (another name than the editor's), and one for the editor
    that can approve too (to try approving its own proposal)."""
    with editor_app.app_context():
        def make(name, *scopes):
            return {"Authorization": f"Bearer {create_key(db.session(), name, list(scopes)).key}"}

        return {"other": make("second-editor", "approve", "read:restricted"),
                "self": make("editor-approving", "write", "approve")}


def _propose_new_number(client, keys, headers=None):
    before = client.get(HOTLINE + "?lang=*")
    channels = copy.deepcopy(before.get_json()["data"]["channels"])
    channels[0] = {**channels[0], "value": "+18006694001", "display": "1-800-669-4001"}
    answer = client.patch(HOTLINE, json={"channels": channels},
                          headers={**(headers or keys.editor), "If-Match": before.headers["ETag"]})
    return before, answer


def test_changing_a_number_is_a_proposal_and_reads_stay(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    before, answer = _propose_new_number(client, keys)
    assert answer.status_code == 202, answer.get_json()
    proposal = answer.get_json()["data"]
    assert answer.headers["Location"].endswith(f"/api/v1/proposals/{proposal['id']}")
    assert proposal["status"] == "pending" and proposal["reasons"] == ["contact_channels"]
    assert proposal["proposed_by"] == "editor" and proposal["action"] == "patch"
    assert {"op": "replace", "path": "/channels/0/value", "value": "+18006694001"} in \
        proposal["patch"]
    after = client.get(HOTLINE + "?lang=*")
    assert after.get_json() == before.get_json() and after.headers["ETag"] == \
        before.headers["ETag"]
    feed = client.get("/api/v1/changes?limit=200").get_json()["data"]
    assert [c for c in feed if c["id"] == "eeoc"][-1]["version"] == 1
    # The patch turns the record as it is into what approving would publish.
    current = after.get_json()["data"]
    proposed = jsonpatch.apply_patch(current, proposal["patch"])
    assert proposed["channels"][0]["value"] == "+18006694001"
    items = client.get("/api/v1/review", headers=keys.editor).get_json()["data"]
    assert [i["reasons"] for i in items if i["id"] == "eeoc"] == [["proposal_pending"]]


def test_another_key_approves_and_it_is_published(editor_app, approver):
    client, keys = editor_app.test_client(), editor_app.keys
    _, answer = _propose_new_number(client, keys)
    number = answer.get_json()["data"]["id"]
    approved = client.post(f"/api/v1/proposals/{number}/approve", headers=approver["other"])
    assert approved.status_code == 200, approved.get_json()
    shown = approved.get_json()["data"]
    assert shown["status"] == "approved" and shown["decided_by"] == "second-editor"
    assert shown["published_version"] == 2 and shown["patch"] is None
    record = client.get(HOTLINE).get_json()["data"]
    assert record["version"] == 2 and record["channels"][0]["value"] == "+18006694001"
    feed = client.get("/api/v1/changes?limit=200").get_json()["data"]
    assert [c for c in feed if c["id"] == "eeoc"][-1]["version"] == 2
    audit = client.get("/api/v1/audit?record_id=eeoc", headers=keys.admin).get_json()["data"]
    assert [(e["action"], e["actor"]) for e in audit][:2] == [
        ("approve", "second-editor"), ("propose", "editor")]
    assert audit[0]["changes"]["proposal"]["to"] == {"id": number, "proposed_by": "editor"}
    again = client.post(f"/api/v1/proposals/{number}/approve", headers=approver["other"])
    assert again.status_code == 409 and "approved already" in again.get_json()["detail"]


def test_approving_ones_own_proposal_is_forbidden(editor_app, approver):
    client, keys = editor_app.test_client(), editor_app.keys
    _, answer = _propose_new_number(client, keys, approver["self"])
    assert answer.status_code == 202
    number = answer.get_json()["data"]["id"]
    refused = client.post(f"/api/v1/proposals/{number}/approve", headers=approver["self"])
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "another key" in refused.get_json()["detail"]
    assert client.post(f"/api/v1/proposals/{number}/approve",
                       headers=keys.editor).status_code == 403  # no approve scope
    assert client.get(HOTLINE).get_json()["data"]["version"] == 1


def test_a_proposal_against_an_older_version_cannot_be_approved(editor_app, approver):
    client, keys = editor_app.test_client(), editor_app.keys
    _, answer = _propose_new_number(client, keys)
    number = answer.get_json()["data"]["id"]
    etag = client.get(HOTLINE).headers["ETag"]
    edited = client.patch(HOTLINE, json={"notes": {"en": "Edited meanwhile."}},
                          headers={**keys.editor, "If-Match": etag})
    assert edited.status_code == 200  # notes: one key may change them
    shown = client.get(f"/api/v1/proposals/{number}", headers=keys.editor).get_json()["data"]
    assert shown["status"] == "outdated"
    refused = client.post(f"/api/v1/proposals/{number}/approve", headers=approver["other"])
    assert refused.status_code == 409 and "propose the change again" in \
        refused.get_json()["detail"]
    assert client.get(HOTLINE).get_json()["data"]["channels"][0]["value"] == "+18006694000"


def test_a_rejection_needs_a_reason_and_publishes_nothing(editor_app, approver):
    client, keys = editor_app.test_client(), editor_app.keys
    _, answer = _propose_new_number(client, keys)
    number = answer.get_json()["data"]["id"]
    url = f"/api/v1/proposals/{number}/reject"
    assert client.post(url, json={}, headers=approver["other"]).status_code == 422
    rejected = client.post(url, json={"reason": "The EEOC site still shows the old number."},
                           headers=approver["other"])
    assert rejected.status_code == 200
    assert rejected.get_json()["data"]["status"] == "rejected"
    assert rejected.get_json()["data"]["note"].startswith("The EEOC site")
    assert client.get(HOTLINE).get_json()["data"]["version"] == 1
    listed = client.get("/api/v1/proposals?status=rejected", headers=keys.editor).get_json()
    assert [p["id"] for p in listed["data"]] == [number]
    assert client.get("/api/v1/proposals?status=pending",
                      headers=keys.editor).get_json()["data"] == []


def test_retiring_a_hotline_and_making_a_record_public_wait(editor_app, approver):
    client, keys = editor_app.test_client(), editor_app.keys
    etag = client.get(HOTLINE).headers["ETag"]
    retired = client.delete(HOTLINE, headers={**keys.editor, "If-Match": etag})
    assert retired.status_code == 202
    assert retired.get_json()["data"]["reasons"] == ["withdrawn"]
    assert client.get(HOTLINE).status_code == 200
    restricted = [item for item in client.get("/api/v1/hotlines?limit=200&lang=*",
                                              headers=keys.chief).get_json()["data"]
                  if item["visibility"] == "law_enforcement"][0]
    url = f"/api/v1/hotlines/{restricted['id']}"
    etag = client.get(url, headers=keys.chief).headers["ETag"]
    public = client.patch(url, json={"visibility": "public"},
                          headers={**keys.chief, "If-Match": etag})
    assert public.status_code == 202 and public.get_json()["data"]["reasons"] == ["made_public"]
    assert client.get(url).status_code == 404  # still restricted
    number = public.get_json()["data"]["id"]
    assert client.post(f"/api/v1/proposals/{number}/approve",
                       headers=approver["other"]).status_code == 200
    assert client.get(url).status_code == 200


def test_what_one_key_may_still_do_alone(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    etag = client.get(HOTLINE).headers["ETag"]
    notes = client.patch(HOTLINE, json={"notes": {"en": "Only the notes change."}},
                         headers={**keys.editor, "If-Match": etag})
    assert notes.status_code == 200
    indicator = client.get("/api/v1/indicators?limit=1").get_json()["data"][0]["id"]
    url = f"/api/v1/indicators/{indicator}"
    etag = client.get(url).headers["ETag"]
    assert client.delete(url, headers={**keys.editor, "If-Match": etag}).status_code == 204


def test_proposals_are_for_reviewers_only(editor_app, approver):
    client, keys = editor_app.test_client(), editor_app.keys
    _propose_new_number(client, keys)
    assert client.get("/api/v1/proposals").status_code == 401
    assert client.get("/api/v1/proposals", headers=keys.reader).status_code == 403
    assert client.get("/api/v1/proposals", headers=approver["other"]).status_code == 200
    listed = client.get("/api/v1/proposals?limit=1", headers=keys.editor).get_json()
    assert listed["meta"]["total"] == 1 and listed["data"][0]["status"] == "pending"
    assert client.get("/api/v1/proposals/999", headers=keys.editor).status_code == 404
    assert client.post("/api/v1/proposals/999/approve",
                       headers=approver["other"]).status_code == 404


def test_a_detour_through_draft_does_not_skip_the_second_person(editor_app):
    """Moved to draft by one write (allowed: not a hotline), published changed by the next: the
    change is compared with what readers last saw, not with the draft."""
    client, keys = editor_app.test_client(), editor_app.keys
    relief = next(item for item in client.get("/api/v1/relief-options?lang=*&limit=50")
                  .get_json()["data"] if item.get("contacts"))
    url = f"/api/v1/relief-options/{relief['id']}"
    etag = client.get(url).headers["ETag"]
    drafted = client.patch(url, json={"status": "draft"}, headers={**keys.editor,
                                                                    "If-Match": etag})
    assert drafted.status_code == 200
    back = client.patch(url, json={"status": "published", "contacts": []},
                        headers={**keys.editor, "If-Match": drafted.headers["ETag"]})
    assert back.status_code == 202 and back.get_json()["data"]["reasons"] == ["contact_channels"]
    same = client.patch(url, json={"status": "published"},
                        headers={**keys.editor, "If-Match": drafted.headers["ETag"]})
    assert same.status_code == 200  # published again as it was: nothing to approve


def test_restricting_a_hotline_takes_it_off_public_screens_and_waits(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    etag = client.get(HOTLINE).headers["ETag"]
    restricted = client.patch(HOTLINE, json={"visibility": "law_enforcement"},
                              headers={**keys.chief, "If-Match": etag})
    assert restricted.status_code == 202
    assert restricted.get_json()["data"]["reasons"] == ["withdrawn"]
    assert client.get(HOTLINE).status_code == 200


def test_a_proposal_that_would_restrict_a_record_is_only_for_restricted_keys(editor_app, approver):
    client, keys = editor_app.test_client(), editor_app.keys
    etag = client.get(HOTLINE).headers["ETag"]
    number = client.patch(HOTLINE, json={"visibility": "law_enforcement"},
                          headers={**keys.chief, "If-Match": etag}).get_json()["data"]["id"]
    public_approver = {"Authorization": approver["self"]["Authorization"]}  # no read:restricted
    assert client.get(f"/api/v1/proposals/{number}", headers=public_approver).status_code == 404
    assert client.post(f"/api/v1/proposals/{number}/approve",
                       headers=public_approver).status_code == 404
    listed = client.get("/api/v1/proposals", headers=public_approver).get_json()["data"]
    assert number not in [p["id"] for p in listed]
    assert client.get(f"/api/v1/proposals/{number}", headers=approver["other"]).status_code == 200
