"""Every SDK method over HTTP against the real API."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest
from htcontent import (
    AuthenticationError,
    BadRequestError,
    Client,
    GoneError,
    Hotline,
    Indicator,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    UnprocessableEntityError,
)
from htcontent.cli import main

NEW = {"id": "sdk-line", "verified_on": "2026-11-28",
       "sources": [{"url": "https://example.org/sdk", "title": "SDK test"}],
       "name": {"en": "SDK line", "es": "Línea SDK"}, "organization": {"en": "Test"},
       "purpose": "report_tip", "channels": [{"kind": "voice", "value": "+15555550100"}]}


def test_lists_follow_every_page_in_the_language_asked(api):
    with Client(api["url"]) as client:
        stops = list(client.indicators.list(setting="traffic_stop", lang="es", limit=3))
        assert len(stops) > 3 and all(isinstance(i, Indicator) for i in stops)
        assert all("traffic_stop" in i.settings and i.lang == "es" for i in stops)
        assert len({i.id for i in stops}) == len(stops)
        either = list(client.indicators.list(setting=["hotel", "transit"]))
        assert all({"hotel", "transit"} & set(i.settings) for i in either)


def test_get_revision_search_vocabularies(api):
    with Client(api["url"], lang="es") as client:
        hotline = client.hotlines.get("national-human-trafficking-hotline")
        assert isinstance(hotline, Hotline)
        assert hotline.name == "Línea Nacional Contra la Trata de Personas"
        assert any(c.kind == "text" and c.value == "233733" for c in hotline.channels)
        with pytest.raises(dataclasses.FrozenInstanceError):
            hotline.name = "x"  # type: ignore[misc]
        every = client.hotlines.get("national-human-trafficking-hotline", lang="*")
        assert every.name["en"] == "National Human Trafficking Hotline"
        old = client.indicators.revision("isolated-from-family", version=1)
        assert old.version == 1 and old.id == "isolated-from-family"
        hits = client.search("visa")
        assert {"t-visa", "u-visa"} <= {hit.id for hit in hits}
        vocabularies = client.vocabularies()
        assert any(v["name"] == "setting" for v in vocabularies)


def test_conditional_gets_are_answered_from_the_cache(api):
    with Client(api["url"]) as client:
        client.hotlines.get("hsi-tip-line")
        assert client.last_response_source == "network"
        again = client.hotlines.get("hsi-tip-line")
        assert client.last_response_source == "cache" and again.id == "hsi-tip-line"


def test_errors_carry_status_problem_and_request_id(api):
    with Client(api["url"]) as client:
        with pytest.raises(NotFoundError) as caught:
            client.indicators.get("no-such-indicator")
        error = caught.value
        assert error.status == 404 and error.problem["status"] == 404
        assert error.request_id and error.request_id in str(error)
        assert "404" in str(error) and "/api/v1/indicators/no-such-indicator" in str(error)
        with pytest.raises(BadRequestError) as bad:
            list(client.indicators.list(setting="moon"))
        assert "setting" in bad.value.errors
    with Client(api["url"], api_key="htc_000000000000_" + "x" * 43) as client, \
            pytest.raises(AuthenticationError):
        client.hotlines.get("hsi-tip-line")


@pytest.fixture(scope="module")
def approver_key(api):
    """A key with the approve scope, of another name than the editor's."""
    from api.storage import db
    from api.web.auth import create_key
    from tests.conftest import migrated_app

    app = migrated_app(api["database_url"])
    with app.app_context():
        key = create_key(db.session(), "sdk-approver", ["approve"]).key
    app.extensions["db_engine"].dispose()
    return key


def test_editors_create_update_and_retire(api, approver_key):
    with Client(api["url"], api_key=api["editor_key"]) as client:
        created = client.hotlines.create(NEW)
        assert created.version == 1
        updated = client.hotlines.update("sdk-line", {"notes": {"en": "Nights."}})
        assert updated.version == 2 and updated.notes == {"en": "Nights."}
        changed = client.hotlines.diff("sdk-line", 2)
        assert {"op": "add", "path": "/notes", "value": {"en": "Nights."}} in changed
        assert {op["op"] for op in client.hotlines.diff("sdk-line", 1)} == {"add"}
        assert client.hotlines.diff("sdk-line", 2, from_version=2) == []
        with pytest.raises(PreconditionFailedError):
            client.hotlines.update("sdk-line", {"notes": None}, if_match='"r1-0"')
        with pytest.raises(UnprocessableEntityError) as invalid:
            client.hotlines.update("sdk-line", {"purpose": "gossip"})
        assert "purpose" in invalid.value.errors
        proposal = client.hotlines.retire("sdk-line")  # a hotline: a second person approves
        assert proposal is not None and proposal.reasons == ("withdrawn",)
    with Client(api["url"], api_key=approver_key) as approver:
        approver.approve(proposal.id)
    with Client(api["url"]) as anonymous, pytest.raises(GoneError) as gone:
        anonymous.hotlines.get("sdk-line")
    assert gone.value.retired_at


def test_editors_read_the_review_queue_and_record_checks(api):
    with Client(api["url"], api_key=api["editor_key"]) as client:
        queue = list(client.review(limit=2))
        assert queue[0]["id"] == "ice-victim-assistance-program"
        assert "unverified" in queue[0]["reasons"]
        assert len(queue) == len({item["id"] for item in queue}) > 2  # every page
        checked = client.hotlines.verify("ice-victim-assistance-program", status="verified",
                                         method="called the number",
                                         source_url="https://www.ice.gov/")
        assert checked.verification_status == "verified" and checked.verified_on
        assert "ice-victim-assistance-program" not in [item["id"] for item in client.review()]
        with pytest.raises(UnprocessableEntityError) as invalid:
            client.hotlines.verify("eeoc", status="fine", method="guessed")
        assert "status" in invalid.value.errors
    with Client(api["url"]) as anonymous, pytest.raises(AuthenticationError):
        list(anonymous.review())


def test_sync_keeps_a_mirror_and_a_no_op_sync_is_one_request(api, tmp_path):
    mirror = tmp_path / "partner.sqlite"
    with Client(api["url"]) as client:
        first = client.sync(mirror)
        assert first.upserted > 60
        rows = sqlite3.connect(mirror).execute("SELECT count(*) FROM records").fetchone()[0]
        exported = client.export(tmp_path / "snapshot.json")
        assert rows == exported
        again = client.sync(mirror)
        assert (again.upserted, again.deleted, again.requests) == (0, 0, 1)
    with Client(api["url"], api_key=api["editor_key"]) as editor:
        editor.hotlines.update("eeoc", {"notes": {"en": "Checked by the SDK test."}})
    with Client(api["url"]) as client:
        after = client.sync(mirror)
        assert after.upserted == 1 and after.deleted == 0


def test_offline_reads_come_from_the_snapshot(databases, tmp_path):
    from api.storage import db
    from seed.loader import load_seed
    from tests.conftest import SEED_DIR, migrated_app, serving

    url = databases.new()
    app = migrated_app(url)
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    app.extensions["db_engine"].dispose()
    snapshot = tmp_path / "snapshot.json"
    with serving(url, tmp_path / "gunicorn.log") as base:
        client = Client(base, snapshot_path=snapshot, max_retries=0, timeout=2)
        client.export(snapshot)
        assert client.hotlines.get("hsi-tip-line").id == "hsi-tip-line"
        assert client.last_response_source == "network"
    # The server is gone now.
    offline = client.hotlines.get("national-human-trafficking-hotline", lang="es")
    assert client.last_response_source == "snapshot"
    assert offline.name == "Línea Nacional Contra la Trata de Personas" and offline.lang == "es"
    stops = list(client.indicators.list(setting="traffic_stop"))
    assert stops and client.last_response_source == "snapshot"
    assert json.loads(snapshot.read_text())["meta"]["sync_token"].startswith("c.")


def test_command_line(api, tmp_path, capsys):
    base = ["--base-url", api["url"]]
    assert main([*base, "indicators", "--setting", "traffic_stop", "--lang", "es"]) == 0
    out = capsys.readouterr().out
    stops = [r.id for r in Client(api["url"]).indicators.list(setting="traffic_stop")]
    guidance = [line for line in out.splitlines() if line.startswith("! ")]
    assert len(guidance) == 3 and "911" in guidance[2]
    assert any("Ningún indicador" in line for line in guidance)  # in the language asked
    assert [line.split()[0] for line in out.splitlines()[3:]] == stops
    assert main(["indicators", "--base-url", api["url"], "--json", "--category", "minor"]) == 0
    minors = json.loads(capsys.readouterr().out)
    assert minors and all(r["category"] == "minor" for r in minors)
    assert main([*base, "--json", "get", "hotlines", "hsi-tip-line"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "hsi-tip-line"
    assert main([*base, "get", "hotlines", "nope-nope"]) == 1
    assert "404" in capsys.readouterr().err
    assert main([*base, "sync", str(tmp_path / "m.sqlite")]) == 0
    captured = capsys.readouterr()
    assert "upserted" in captured.out and "syncing" in captured.err
    assert main(["--base-url", "http://127.0.0.1:9", "--timeout", "1", "search", "visa"]) == 3


def test_an_interrupted_sync_is_completed_by_the_next(api, tmp_path):
    import requests
    from htcontent import APIConnectionError, read_mirror

    class DiesOnThirdPage(requests.Session):
        pages = 0

        def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
            if "/changes" in url:
                DiesOnThirdPage.pages += 1
                if DiesOnThirdPage.pages == 3:
                    raise requests.ConnectionError("killed half way")
            return super().request(method, url, *args, **kwargs)

    mirror = tmp_path / "partner.sqlite"
    broken = Client(api["url"], session=DiesOnThirdPage(), max_retries=0)
    with pytest.raises(APIConnectionError):
        broken.sync(mirror, page_size=10)
    partial = read_mirror(mirror)
    assert 0 < len(partial) <= 20  # the two pages applied before the failure, and their token
    with Client(api["url"]) as client:
        result = client.sync(mirror, page_size=10)
        client.export(tmp_path / "snapshot.json")
    assert result.upserted > 0
    exported = json.loads((tmp_path / "snapshot.json").read_text())["data"]
    assert {rid: r.version for rid, r in read_mirror(mirror).items()} == {
        r["id"]: r["version"] for r in exported}


def test_a_change_that_needs_a_second_person_comes_back_as_a_proposal(api, approver_key):
    from htcontent import Proposal

    with Client(api["url"], api_key=api["editor_key"]) as editor:
        before = editor.hotlines.get("fbi-tips", lang="*")
        channels = [*before.raw["channels"], {"kind": "web", "value": "https://tips.fbi.gov/"}]
        proposal = editor.hotlines.update("fbi-tips", {"channels": channels})
        assert isinstance(proposal, Proposal) and proposal.status == "pending"
        assert proposal.reasons == ("contact_channels",)
        assert any(op["path"].startswith("/channels") for op in proposal.patch or [])
        assert proposal.id in [p.id for p in editor.proposals(status="pending")]
        with pytest.raises(PermissionDeniedError):  # a second person approves, not this key
            editor.approve(proposal.id)
        withdrawn = editor.hotlines.retire("fbi-tips")
        assert isinstance(withdrawn, Proposal) and withdrawn.reasons == ("withdrawn",)
        assert editor.proposal(withdrawn.id).action == "retire"
    with Client(api["url"]) as anonymous:
        assert anonymous.hotlines.get("fbi-tips").version == before.version  # unchanged
    with Client(api["url"], api_key=approver_key) as approver:
        assert approver.approve(proposal.id).published_version == before.version + 1
        assert approver.reject(withdrawn.id, "Still answered.").status == "rejected"
    with Client(api["url"]) as anonymous:
        after = anonymous.hotlines.get("fbi-tips")
        assert after.version == before.version + 1 and after.channels[-1].kind == "web"
