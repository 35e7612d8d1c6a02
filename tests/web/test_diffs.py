"""Diffs between published versions (GET .../revisions/{version}/diff): an RFC 6902 JSON Patch
that turns one version, as the API shows it in every language, into the other."""

from __future__ import annotations

import jsonpatch

URL = "/api/v1/hotlines/eeoc"


def _edit(client, keys, url, changes):
    etag = client.get(url).headers["ETag"]
    answer = client.patch(url, json=changes, headers={**keys.editor, "If-Match": etag})
    assert answer.status_code == 200, answer.get_json()


def _version(client, url, number):
    return client.get(f"{url}/revisions/{number}?lang=*").get_json()["data"]


def test_a_diff_applied_to_a_version_gives_the_next(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    _edit(client, keys, URL, {"notes": {"en": "Checked again.", "es": "Revisado de nuevo."},
                              "available_24_7": False})
    answer = client.get(f"{URL}/revisions/2/diff")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json-patch+json"
    patch = answer.get_json()
    assert {"op": "replace", "path": "/notes/en", "value": "Checked again."} in patch
    assert {"op": "replace", "path": "/version", "value": 2} in patch
    assert jsonpatch.apply_patch(_version(client, URL, 1), patch) == _version(client, URL, 2)
    again = client.get(f"{URL}/revisions/2/diff", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_from_picks_the_other_version(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    _edit(client, keys, URL, {"available_24_7": False})
    _edit(client, keys, URL, {"available_24_7": True})
    backwards = client.get(f"{URL}/revisions/1/diff?from=3").get_json()
    assert jsonpatch.apply_patch(_version(client, URL, 3), backwards) == _version(client, URL, 1)
    same = client.get(f"{URL}/revisions/3/diff?from=3").get_json()
    assert same == []
    first = client.get(f"{URL}/revisions/1/diff").get_json()  # the version before: nothing
    assert {op["op"] for op in first} == {"add"}
    assert jsonpatch.apply_patch({}, first) == _version(client, URL, 1)


def test_what_cannot_be_diffed_is_a_problem(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    missing = client.get(f"{URL}/revisions/1/diff?from=9")
    assert missing.status_code == 404 and missing.headers["Content-Type"] == \
        "application/problem+json"
    assert client.get(f"{URL}/revisions/9/diff").status_code == 404
    bad = client.get(f"{URL}/revisions/1/diff?from=first")
    assert bad.status_code == 400 and "from" in bad.get_json()["errors"]
    unknown = client.get(f"{URL}/revisions/1/diff?since=1")
    assert unknown.status_code == 400 and "allowed: from" in str(unknown.get_json()["errors"])
    restricted = [item["id"] for item in client.get(
        "/api/v1/hotlines?limit=200", headers=keys.reader).get_json()["data"]
        if item["visibility"] == "law_enforcement"][0]
    assert client.get(f"/api/v1/hotlines/{restricted}/revisions/1/diff").status_code == 404
    assert client.get(f"/api/v1/hotlines/{restricted}/revisions/1/diff",
                      headers=keys.reader).status_code == 200
