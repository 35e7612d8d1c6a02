"""``/embed/v1``: the widget's files, releases, integrity hashes and demo page over HTTP (the
widget itself runs in Chromium: test_embed_browser.py)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import shutil

import pytest

from api.web import embed
from tests.conftest import ROOT

MAX_GZIPPED = 15 * 1024


def _sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def test_the_widget_is_an_es_module_cached_for_a_day_and_revalidated(client):
    answer = client.get("/embed/v1/htcontent.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "public, max-age=86400, stale-while-revalidate=86400"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"  # a module loads with CORS
    assert "RateLimit-Limit" in answer.headers
    assert b"customElements.define" in answer.data and b"export const VERSION" in answer.data
    again = client.get("/embed/v1/htcontent.js", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_each_release_is_immutable_with_its_integrity_published(client):
    listed = client.get("/embed/v1/releases.json").get_json()
    latest = client.get("/embed/v1/htcontent.js").data
    published = embed.recorded()
    assert listed["latest"] == listed["releases"][0]["version"]
    assert [r["version"] for r in listed["releases"]] == sorted(
        published, key=lambda version: tuple(map(int, version.split("."))), reverse=True)
    for release in listed["releases"]:
        path = release["url"].removeprefix("http://localhost")
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        # What pages pin is the hash recorded when the release was published.
        assert release["integrity"] == published[release["version"]]["integrity"]
        assert release["published"] == published[release["version"]]["published"]
        assert _sri(answer.data) == release["integrity"]
        assert release["size"] == len(answer.data)
        assert f'VERSION = "{release["version"]}"'.encode() in answer.data
        assert answer.headers["Last-Modified"].endswith("00:00:00 GMT")  # its release day
    assert client.get(listed["releases"][0]["url"].removeprefix("http://localhost")).data == latest


#: Every release ever published and its hash: append only. Pages pinned these bytes with
#: `<script integrity>`; a release that changed would vanish from them.
PUBLISHED = {
    "1.0.0": "sha384-M8ZWyJhYWf6dJzmGifWsPIKcHkT2TBwNT8EVQ3JsZYFCfyxjKa4MqM/0vGN56wXo",
}


def test_a_released_file_never_changes():
    """A change to the widget is a new file with a new version (``flask --app api
    widget-releases --record``), never new bytes under a published one."""
    published = embed.recorded()
    assert set(published) == set(PUBLISHED) == set(embed.on_disk())
    for version, body in embed.on_disk().items():
        assert published[version]["integrity"] == PUBLISHED[version]
        assert _sri(body) == PUBLISHED[version], (
            f"htcontent-{version}.js changed after release: copy it to a new version instead")
    assert set(embed.releases()) == set(PUBLISHED)


def test_the_readme_pins_the_latest_release_by_its_hash():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pinned = re.findall(r'src="[^"]*/embed/v1/htcontent-([0-9.]+)\.js"\s+integrity="([^"]+)"',
                        readme)
    assert pinned
    for version, integrity in pinned:
        assert version == embed.latest().version
        assert embed.recorded()[version]["integrity"] == integrity


def test_the_widget_is_at_most_15_kb_gzipped():
    for body in embed.on_disk().values():
        assert len(gzip.compress(body, 9)) <= MAX_GZIPPED


@pytest.fixture
def widget_files(tmp_path, monkeypatch):
    """The widget's files copied to a directory of the test's own (the real ones untouched)."""
    for path in embed.FILES.iterdir():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.setattr(embed, "FILES", tmp_path)
    embed.releases.cache_clear()
    yield tmp_path
    embed.releases.cache_clear()


def test_a_changed_release_is_not_served(client, widget_files):
    current = embed.latest().version
    newer = "1.0.99"
    body = (widget_files / f"htcontent-{current}.js").read_bytes().replace(
        f'VERSION = "{current}"'.encode(), f'VERSION = "{newer}"'.encode())
    (widget_files / f"htcontent-{newer}.js").write_bytes(body)
    published = json.loads((widget_files / "releases.json").read_text())
    published[newer] = {"integrity": _sri(body), "published": "2026-12-01"}
    (widget_files / "releases.json").write_text(json.dumps(published))
    embed.releases.cache_clear()
    assert b'VERSION = "1.0.99"' in client.get("/embed/v1/htcontent.js").data

    (widget_files / f"htcontent-{newer}.js").write_bytes(body + b"\n// changed\n")
    embed.releases.cache_clear()
    assert client.get(f"/embed/v1/htcontent-{newer}.js").status_code == 404
    assert f'VERSION = "{current}"'.encode() in client.get("/embed/v1/htcontent.js").data
    listed = client.get("/embed/v1/releases.json").get_json()
    assert [r["version"] for r in listed["releases"]] == [current]


@pytest.mark.parametrize("content", ["", "[]", '{"1.0.0": "sha384-x"}',
                                     '{"1.0.0": {"integrity": "sha384-x"}}',
                                     '{"1.0.0": {"integrity": "x", "published": "yesterday"}}'])
def test_a_broken_release_record_serves_nothing_and_says_so(client, widget_files, content):
    (widget_files / "releases.json").write_text(content)
    embed.releases.cache_clear()
    for path in ("/embed/v1/htcontent.js", "/embed/v1/htcontent-1.0.0.js",
                 "/embed/v1/releases.json", "/embed/v1/demo"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.mimetype == "application/problem+json"


def test_an_unknown_release_or_parameter_is_a_problem(client):
    missing = client.get("/embed/v1/htcontent-0.0.1.js")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
    assert missing.get_json()["detail"] == "No such widget release."
    unknown = client.get("/embed/v1/releases.json?debug=1")
    assert unknown.status_code == 400 and "debug" in unknown.get_json()["errors"]


def test_a_script_url_with_a_version_query_still_loads(client):
    """Content systems (WordPress's wp_enqueue_script...) add ?ver= to every script."""
    plain = client.get("/embed/v1/htcontent.js")
    for path in ("/embed/v1/htcontent.js?ver=6.4.2", f"/embed/v1/htcontent-"
                 f"{embed.latest().version}.js?ver=1"):
        answer = client.get(path)
        assert answer.status_code == 200 and answer.data == plain.data


def test_the_elements_take_the_filters_their_lists_take():
    """The attributes the module passes to the API are the list filters of the registry."""
    source = embed.latest().body.decode()
    for element, record_type, _ in embed.ELEMENTS:
        collection = {"hotline": "hotlines", "indicator": "indicators"}[record_type]
        block = source[source.index(f'static collection = "{collection}"'):]
        declared = re.search(r"static filters = \[([^\]]*)\]", block)
        assert declared is not None, element
        names = re.findall(r'"(\w+)"', declared.group(1))
        assert names == [name for name, _ in embed.filter_attributes(record_type)], element


def test_the_demo_page_pins_the_latest_release_under_a_strict_policy(client):
    answer = client.get("/embed/v1/demo")
    assert answer.status_code == 200 and answer.mimetype == "text/html"
    page = answer.data.decode()
    assert len(answer.headers.getlist("Content-Security-Policy")) == 1
    policy = answer.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "require-trusted-types-for 'script'" in policy
    style = page[page.index("<style>") + len("<style>"):page.index("</style>")]
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    release = embed.latest()
    assert f'integrity="{release.integrity}"' in page
    assert f"/embed/v1/htcontent-{release.version}.js" in page
    for _, _, snippet in embed.EXAMPLES:  # each live, and as text to copy
        assert snippet in page
        assert snippet.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") in page
    assert "script-src http://localhost; connect-src http://localhost" in page
    again = client.get("/embed/v1/demo", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304


def test_other_answers_keep_the_default_policy(client):
    for path in ("/embed/v1/htcontent.js", "/api/v1/docs", "/api/v1/hotlines"):
        assert len(client.get(path).headers.getlist("Content-Security-Policy")) == 1, path
    assert client.get("/embed/v1/htcontent.js").headers["Content-Security-Policy"] == (
        "default-src 'none'; frame-ancestors 'none'")
    assert "script-src 'self'" in client.get("/api/v1/docs").headers["Content-Security-Policy"]
