"""Offline reads from snapshots (indexed, plain, stale, mirrors) and the cost of a no-op sync,
against the real API."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
import requests
from htcontent import Client, HTContentError
from htcontent._client import _shown
from htcontent._records import COLLECTION_ATTRIBUTES, COLLECTION_TYPES, MODELS
from htcontent._snapshot import FILTER_FIELDS, SnapshotStore, index_path, write_snapshot

#: Every collection's client attribute and record type (as generated from the registry).
COLLECTIONS = {COLLECTION_ATTRIBUTES[name]: record_type
               for name, record_type in COLLECTION_TYPES.items()}


class Unreachable(requests.Session):
    """A session whose every request fails as if the API were down."""

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise requests.ConnectionError(f"{method} {url}: the API is down")


class Counting(requests.Session):
    """A session that records every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict]] = []

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.sent.append((method, url, dict(kwargs.get("params") or {})))
        return super().request(method, url, *args, **kwargs)


def offline(snapshot: Path, **kwargs: object) -> Client:
    return Client("http://api.invalid", snapshot_path=snapshot, session=Unreachable(),
                  max_retries=0, **kwargs)  # type: ignore[arg-type]


# The SDK's offline reads before the index, kept here as the reference they must still match.
def old_get(snapshot: Path, record_type: str, record_id: str, lang: str):  # type: ignore[no-untyped-def]
    for data in json.loads(snapshot.read_text(encoding="utf-8"))["data"]:
        if data["id"] == record_id and data.get("type") == record_type:
            return MODELS[record_type].from_dict(_shown(data, lang))
    return None


def old_list(snapshot: Path, record_type: str, lang: str, filters: dict):  # type: ignore[no-untyped-def]
    found = []
    for data in json.loads(snapshot.read_text(encoding="utf-8"))["data"]:
        if data.get("type") != record_type:
            continue
        keep = True
        for name, wanted in filters.items():
            wanted_set = set(wanted if isinstance(wanted, list | tuple) else [wanted])
            head, _, tail = FILTER_FIELDS.get(name, name).partition(".")
            have = data.get(head)
            if tail:
                have = [item.get(tail) for item in have or []]
            have_set = set(have if isinstance(have, list) else [have])
            keep = keep and bool(wanted_set & have_set)
        if keep:
            found.append(MODELS[record_type].from_dict(_shown(data, lang)))
    return found


def same(left, right) -> bool:  # type: ignore[no-untyped-def]
    """Equal records, field by field and in their raw form."""
    return [(r, r.raw) for r in left] == [(r, r.raw) for r in right]


def filter_cases(records: list[dict], record_type: str) -> list[dict]:
    """Every value of every filterable field of this type alone, pairs OR-ed, two filters
    AND-ed, a filter the snapshot cannot push down, and filters nothing matches."""
    cases: list[dict] = [{}]
    values: dict[str, list[str]] = {}
    for name, field in FILTER_FIELDS.items():
        seen: set[str] = set()
        for data in records:
            if data.get("type") == record_type and field in data:
                have = data[field]
                seen.update(have if isinstance(have, list) else [have])
        if seen:
            values[name] = sorted(seen)
    for name, found in values.items():
        cases += [{name: value} for value in found]
        cases += [{name: found[:2]}, {name: tuple(found[-2:])}, {name: []}, {name: "no-such"}]
    names = list(values)
    if len(names) >= 2:
        cases.append({names[0]: values[names[0]][0], names[1]: values[names[1]]})
    cases += [{"q": "visa"}, {"version": 1}, {"status": "published"}]
    return cases


@pytest.fixture(scope="module")
def snapshot(api, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("offline") / "snapshot.json"
    with Client(api["url"]) as client:
        assert client.export(path) > 60
    return path


def test_export_writes_the_json_as_sent_and_its_index(snapshot):
    body = json.loads(snapshot.read_text(encoding="utf-8"))
    assert body["meta"]["sync_token"].startswith("c.") and body["meta"]["lang"] == "*"
    index = index_path(snapshot)
    assert index.name == "snapshot.json.sqlite"
    db = sqlite3.connect(index)
    rows = db.execute("SELECT id, type, version, record FROM records ORDER BY seq").fetchall()
    assert [(r[0], r[1], r[2], json.loads(r[3])) for r in rows] == [
        (d["id"], d["type"], d["version"], d) for d in body["data"]]
    token = db.execute("SELECT value FROM sync_state WHERE key = 'token'").fetchone()[0]
    assert token == body["meta"]["sync_token"]
    db.close()


def test_offline_gets_and_lists_are_what_they_were(snapshot):
    data = json.loads(snapshot.read_text(encoding="utf-8"))["data"]
    with offline(snapshot, lang="es") as client:
        for record in data:
            collection = getattr(client, [c for c, t in COLLECTIONS.items()
                                          if t == record["type"]][0])
            for lang in (None, "en", "es", "*"):
                got = collection.get(record["id"], lang=lang)
                assert client.last_response_source == "snapshot"
                assert same([got], [old_get(snapshot, record["type"], record["id"],
                                            lang or "es")])
        for name, record_type in COLLECTIONS.items():
            collection = getattr(client, name)
            for filters in filter_cases(data, record_type):
                for lang in ("en", "es", "*"):
                    listed = list(collection.list(lang=lang, **filters))
                    assert client.last_response_source == "snapshot"
                    assert same(listed, old_list(snapshot, record_type, lang, filters)), filters
            # A record of another type is not found, as before.
            other = next(d for d in data if d["type"] != record_type)
            with pytest.raises(HTContentError, match="not in the snapshot"):
                collection.get(other["id"])
        with pytest.raises(HTContentError, match="not in the snapshot"):
            client.hotlines.get("no-such-hotline")


def test_offline_answers_match_the_live_api(api, snapshot):
    with Client(api["url"]) as online, offline(snapshot) as down:
        live = list(online.indicators.list(setting="traffic_stop", lang="es"))
        kept = list(down.indicators.list(setting="traffic_stop", lang="es"))
        assert sorted(r.id for r in live) == sorted(r.id for r in kept) and kept
        assert all(r.lang == "es" and "traffic_stop" in r.settings for r in kept)
        hotline = down.hotlines.get("national-human-trafficking-hotline", lang="es")
        assert hotline.name == "Línea Nacional Contra la Trata de Personas"
        assert hotline == online.hotlines.get("national-human-trafficking-hotline", lang="es")


def test_every_filter_value_offline_gives_the_live_ids(api, snapshot):
    """Offline parity: for every code of every list filter of every collection, a snapshot
    read with the server unreachable returns exactly the ids the live API returns."""
    collections = {record_type: name for name, record_type in COLLECTIONS.items()}
    with Client(api["url"]) as online, offline(snapshot) as down:
        checked = 0
        for vocabulary in online.vocabularies():
            for param in vocabulary["filters"]:
                for term in vocabulary["terms"]:
                    for record_type in term["counts"]:
                        name = collections[record_type]
                        live = sorted(r.id for r in getattr(online, name).list(
                            **{param: term["code"]}))
                        kept = sorted(r.id for r in getattr(down, name).list(
                            **{param: term["code"]}))
                        assert down.last_response_source == "snapshot"
                        assert kept == live, (name, param, term["code"])
                        checked += 1
        assert checked > 80


def test_a_plain_export_is_indexed_once_on_first_use(api, tmp_path):
    plain = tmp_path / "plain.json"
    with Client(api["url"]) as client:
        client.export(plain, index=False)
    assert not index_path(plain).exists()
    with offline(plain) as client:
        first = client.indicators.get("isolated-from-family", lang="es")
    assert index_path(plain).exists()
    assert same([first], [old_get(plain, "indicator", "isolated-from-family", "es")])
    built = index_path(plain).stat().st_mtime_ns
    with offline(plain) as client:
        assert client.indicators.get("isolated-from-family", lang="es") == first
        assert same(list(client.hotlines.list(purpose="report_tip")),
                    old_list(plain, "hotline", "en", {"purpose": "report_tip"}))
    assert index_path(plain).stat().st_mtime_ns == built  # used as is, not made again


def test_a_stale_index_is_not_used(snapshot, tmp_path):
    changed = tmp_path / "snapshot.json"
    body = json.loads(snapshot.read_text(encoding="utf-8"))
    write_snapshot(changed, body)
    # Someone replaces the JSON (an older SDK, curl): one hotline fewer, one renamed.
    gone = body["data"].pop(next(i for i, d in enumerate(body["data"])
                                 if d["id"] == "hsi-tip-line"))
    renamed = next(d for d in body["data"] if d["id"] == "national-human-trafficking-hotline")
    renamed["name"]["en"] = "Renamed offline"
    changed.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    with offline(changed) as client:
        assert client.hotlines.get("national-human-trafficking-hotline").name == "Renamed offline"
        with pytest.raises(HTContentError):
            client.hotlines.get(gone["id"])
    # A damaged index is made again too.
    index_path(changed).write_bytes(b"not a database")
    with offline(changed) as client:
        assert client.hotlines.get("national-human-trafficking-hotline").name == "Renamed offline"
    assert client.last_response_source == "snapshot"


def test_without_a_writable_directory_the_index_is_kept_in_memory(api, tmp_path, monkeypatch):
    from htcontent import _snapshot

    plain = tmp_path / "plain.json"
    with Client(api["url"]) as client:
        client.export(plain, index=False)

    def read_only(*args: object, **kwargs: object) -> Path:
        raise PermissionError("read-only directory")

    monkeypatch.setattr(_snapshot, "write_index", read_only)
    with offline(plain) as client:
        assert client.hotlines.get("hsi-tip-line").id == "hsi-tip-line"
        assert "in-memory" in client._snapshot_store().description
        assert same(list(client.indicators.list(category="minor")),
                    old_list(plain, "indicator", "en", {"category": "minor"}))
    assert not index_path(plain).exists()


def test_a_sync_mirror_serves_offline_reads_too(api, snapshot, tmp_path):
    mirror = tmp_path / "partner.sqlite"
    with Client(api["url"]) as client:
        client.sync(mirror)
    data = json.loads(snapshot.read_text(encoding="utf-8"))["data"]
    with offline(mirror) as from_mirror, offline(snapshot) as from_export:
        for name, record_type in COLLECTIONS.items():
            mine = sorted(getattr(from_mirror, name).list(lang="es"), key=lambda r: r.id)
            theirs = sorted(getattr(from_export, name).list(lang="es"), key=lambda r: r.id)
            assert same(mine, theirs) and mine
            for filters in filter_cases(data, record_type)[:8]:
                listed = list(getattr(from_mirror, name).list(**filters))
                assert [r.id for r in listed] == sorted(r.id for r in listed)  # id order
                assert {r.id for r in listed} == {
                    r.id for r in old_list(snapshot, record_type, "en", filters)}
        assert from_mirror.hotlines.get("hsi-tip-line", lang="*") == \
            from_export.hotlines.get("hsi-tip-line", lang="*")
    assert not index_path(mirror).exists()  # a mirror is read in place


def test_re_exporting_to_the_open_snapshot_is_seen(api, tmp_path):
    class Switch(requests.Session):
        down = False

        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self.down:
                raise requests.ConnectionError("the API is down")
            return super().request(method, url, *args, **kwargs)

    path = tmp_path / "snapshot.json"
    session = Switch()
    with Client(api["url"], snapshot_path=path, session=session, max_retries=0) as client:
        client.export(path)
        session.down = True
        assert client.hotlines.get("eeoc").notes != "Changed after the export."
        session.down = False
        with Client(api["url"], api_key=api["editor_key"]) as editor:
            editor.hotlines.update("eeoc", {"notes": {"en": "Changed after the export."}})
        client.export(path)
        session.down = True
        assert client.hotlines.get("eeoc").notes == "Changed after the export."
        assert client.last_response_source == "snapshot"
    store = SnapshotStore.open(path)
    assert store.state()["token"] == json.loads(path.read_text())["meta"]["sync_token"]
    store.close()


def test_without_a_snapshot_offline_reads_fail_clearly(tmp_path):
    with offline(tmp_path / "missing.json") as client, \
            pytest.raises(HTContentError, match="no snapshot"):
        client.hotlines.get("hsi-tip-line")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with offline(broken) as client, pytest.raises(HTContentError, match="cannot read"):
        list(client.hotlines.list())


def test_a_no_op_sync_is_exactly_one_request(api, tmp_path):
    mirror = tmp_path / "partner.sqlite"
    with Client(api["url"]) as client:
        assert client.sync(mirror, page_size=25).requests > 1
    before = os.stat(mirror).st_size
    session = Counting()
    with Client(api["url"], session=session) as client:
        result = client.sync(mirror, page_size=25)
    assert (result.upserted, result.deleted, result.requests) == (0, 0, 1)
    assert len(session.sent) == 1
    method, url, params = session.sent[0]
    assert method == "GET" and url.endswith("/api/v1/changes")
    assert params["since"] == result.token and params["since"].startswith("c.")
    assert os.stat(mirror).st_size == before
    # A second no-op sync by the same client (a 304 this time) is one request too.
    with Client(api["url"], session=session) as client:
        assert client.sync(mirror, page_size=25).requests == 1
        assert client.sync(mirror, page_size=25).requests == 1
    assert len(session.sent) == 3
    # The mirror remembers its empty page's ETag: a new process's no-op sync is a bodiless 304.
    statuses: list[int] = []
    fresh = requests.Session()
    fresh.hooks["response"].append(lambda response, **_: statuses.append(response.status_code))
    with Client(api["url"], session=fresh) as client:
        result = client.sync(mirror, page_size=25)
    assert (result.upserted, result.deleted, result.requests) == (0, 0, 1)
    assert statuses == [304]
    # With another page size (another URL) the remembered ETag is not used.
    statuses.clear()
    with Client(api["url"], session=fresh) as client:
        assert client.sync(mirror, page_size=30).requests == 1
    assert statuses == [200]
