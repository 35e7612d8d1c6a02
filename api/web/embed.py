"""``/embed/v1``: the widget partner sites embed (one ES module defining ``<ht-hotlines>`` and
``<ht-indicators>``), its releases with their integrity hashes, and a demo page.

A release is a file ``static/embed/htcontent-<version>.js`` that never changes once published
(``releases.json`` beside it records each one's hash; a test fails when a released file's bytes
differ): ``/embed/v1/htcontent-<version>.js`` is cached for a year, immutable, for pages that pin
it with ``<script integrity>``; ``/embed/v1/htcontent.js`` is the latest 1.x, cached for a day.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import json
import logging
import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, request

from api.web.contract import REF, Contract, get_op, headers_of, not_modified_response, problems
from api.web.http import fixed_response, not_found, parse_args
from schemas.params import NoArgs
from schemas.records import REGISTRY
from schemas.vocabularies import VOCABULARIES

FILES = Path(__file__).resolve().parent / "static" / "embed"
LOG = logging.getLogger(__name__)
#: The latest release: a day, then a day more served stale while it is revalidated.
FLOATING_CACHE = "public, max-age=86400, stale-while-revalidate=86400"
#: A release's own address never changes bytes.
PINNED_CACHE = "public, max-age=31536000, immutable"
#: The elements, the record type each lists, and the attributes beyond its filters.
ELEMENTS = (("ht-hotlines", "hotline", 'purpose="victim_help"'),
            ("ht-indicators", "indicator", 'setting="hotel"'))
COMMON_ATTRIBUTES = (("lang", "`en` or `es`; by default the page's language"),
                     ("limit", "At most this many records, 1 to 200 (50)"))
SCRIPT = "text/javascript"


#: A release's file name.
RELEASE_FILE = re.compile(r"htcontent-(\d+\.\d+\.\d+)\.js")
#: The major version ``/embed/v1/`` serves.
MAJOR = 1


@dataclass(frozen=True)
class Release:
    """One published widget file."""

    version: str
    body: bytes
    published: date

    @cached_property
    def integrity(self) -> str:
        """The Subresource Integrity value of the file (``sha384-...``)."""
        return "sha384-" + base64.b64encode(hashlib.sha384(self.body).digest()).decode()

    @cached_property
    def gzip_size(self) -> int:
        return len(gzip.compress(self.body, compresslevel=9, mtime=0))

    @property
    def modified(self) -> datetime:
        return datetime(self.published.year, self.published.month, self.published.day,
                        tzinfo=UTC)

    def key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.version.split("."))


def read_recorded() -> dict[str, dict[str, str]]:
    """What each release was when it was published (``releases.json``: its integrity hash and
    its date). Raises ``ValueError`` when the file is missing or malformed."""
    try:
        found = json.loads((FILES / "releases.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{FILES / 'releases.json'}: {exc}") from exc
    if not isinstance(found, dict) or not all(
            isinstance(entry, dict) and isinstance(entry.get("integrity"), str)
            and isinstance(entry.get("published"), str) for entry in found.values()):
        raise ValueError(f"{FILES / 'releases.json'}: each release needs \"integrity\" and "
                         "\"published\"")
    return found


def recorded() -> dict[str, dict[str, str]]:
    """:func:`read_recorded`, or nothing (logged) when it cannot be read: then no release is
    served (404s, never a 500)."""
    try:
        return read_recorded()
    except ValueError as exc:
        LOG.error("widget: %s", exc)
        return {}


def on_disk() -> dict[str, bytes]:
    """Every release file's version and bytes, recorded or not."""
    found = {}
    for path in FILES.glob("htcontent-*.js"):
        match = RELEASE_FILE.fullmatch(path.name)
        if match is None:
            LOG.warning("widget: %s is not named htcontent-X.Y.Z.js; not served", path.name)
            continue
        found[match.group(1)] = path.read_bytes()
    return found


@cache
def releases() -> dict[str, Release]:
    """Every release served, oldest first: the files whose bytes are still those recorded
    when they were published (a changed one is left out, and logged: pages that pinned it
    would refuse it anyway)."""
    published = recorded()
    found = []
    for version, body in on_disk().items():
        entry = published.get(version)
        if entry is None:
            LOG.warning("widget: htcontent-%s.js is not a recorded release (flask --app api "
                        "widget-releases --record)", version)
            continue
        try:
            release = Release(version, body, date.fromisoformat(entry["published"]))
        except ValueError:
            LOG.error("widget: htcontent-%s.js has no valid date in releases.json", version)
            continue
        if release.integrity != entry["integrity"]:
            LOG.error("widget: htcontent-%s.js changed after its release; not served", version)
            continue
        found.append(release)
    return {release.version: release for release in sorted(found, key=Release.key)}


def latest() -> Release:
    """The newest release of this major version (what ``/embed/v1/htcontent.js`` serves)."""
    served = [release for release in releases().values() if release.key()[0] == MAJOR]
    if not served:
        raise not_found("widget release")
    return served[-1]


embed = Blueprint("embed", __name__, url_prefix="/embed/v1")


def _script(release: Release, cache_control: str) -> Response:
    return fixed_response(release.body, cache_control, mimetype=SCRIPT,
                          last_modified=release.modified)


# The two script routes ignore their query string: content systems (WordPress's
# `wp_enqueue_script`, ...) add `?ver=...` to every script they include.

@embed.get("/htcontent.js")
def module() -> Response:
    """The latest widget (1.x)."""
    return _script(latest(), FLOATING_CACHE)


@embed.get("/htcontent-<version>.js")
def pinned_module(version: str) -> Response:
    """One release, for a page that pins it with its integrity hash."""
    release = releases().get(version)
    if release is None:
        raise not_found("widget release")
    return _script(release, PINNED_CACHE)


def _base() -> str:
    return request.host_url.rstrip("/")


def _release_of(release: Release) -> dict[str, Any]:
    return {"version": release.version,
            "url": f"{_base()}/embed/v1/htcontent-{release.version}.js",
            "integrity": release.integrity, "published": release.published.isoformat(),
            "size": len(release.body), "gzip_size": release.gzip_size}


@embed.get("/releases.json")
def release_list() -> Response:
    """Every release with its address and integrity hash, the latest first."""
    parse_args(NoArgs)
    body = {"latest": latest().version,
            "releases": [_release_of(release) for release in reversed(releases().values())]}
    return fixed_response(json.dumps(body).encode(), "public, max-age=300",
                          last_modified=latest().modified)


@embed.get("/demo")
def demo() -> Response:
    """Every element live, with the snippet to paste for each."""
    parse_args(NoArgs)
    page, style = _demo_page(_base())
    style_hash = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = (f"default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
              f"style-src 'sha256-{style_hash}'; base-uri 'none'; form-action 'none'; "
              f"frame-ancestors 'none'; require-trusted-types-for 'script'")
    return fixed_response(page.encode(), "public, max-age=300", mimetype="text/html",
                          last_modified=latest().modified,
                          headers={"Content-Security-Policy": policy})


EXAMPLES = (
    ("Hotlines for victims", "Where a person who may be a victim can get help, in the page's "
     "language.", '<ht-hotlines purpose="victim_help"></ht-hotlines>'),
    ("In Spanish, whatever the page's language", "The lang attribute overrides the page.",
     '<ht-hotlines purpose="victim_help" lang="es"></ht-hotlines>'),
    ("Where to report a tip", "", '<ht-hotlines purpose="report_tip" heading-level="4">'
     '</ht-hotlines>'),
    ("Indicators for hotel staff", "With the caveats every indicator list carries.",
     '<ht-indicators setting="hotel"></ht-indicators>'),
    ("Indicators at a traffic stop, in Spanish", "For a CAD call type, use apco_incident.",
     '<ht-indicators apco_incident="TSTOP" lang="es"></ht-indicators>'),
    ("With a fallback", "Children show while nothing has loaded and the API cannot be reached.",
     '<ht-hotlines purpose="victim_help" channel="text" heading-level="4">\n'
     '  <p>National Human Trafficking Hotline: call 1-888-373-7888 or text 233733.</p>\n'
     '</ht-hotlines>'),
)


@cache
def _template() -> tuple[string.Template, str]:
    text = (FILES / "demo.html").read_text(encoding="utf-8")
    head, _, rest = text.partition("<style>")
    style, _, tail = rest.partition("</style>")
    return string.Template(head + "<style>" + style + "</style>" + tail), style


def _demo_page(base: str) -> tuple[str, str]:
    template, style = _template()
    release = latest()
    script = (f'<script type="module" src="{base}/embed/v1/htcontent-{release.version}.js"\n'
              f'        integrity="{release.integrity}" crossorigin="anonymous"></script>')
    examples = "\n".join(
        f"<section>\n<h3>{html.escape(title)}</h3>\n"
        + (f"<p>{html.escape(note)}</p>\n" if note else "")
        + f'<div class="live">{snippet}</div>\n<pre><code>{html.escape(snippet)}</code></pre>\n'
          "</section>" for title, note, snippet in EXAMPLES)
    page = template.substitute(
        version=release.version, integrity=html.escape(release.integrity),
        script_src=f"/embed/v1/htcontent-{release.version}.js",
        snippet=html.escape(script), base=html.escape(base),
        csp=html.escape(f"script-src {base}; connect-src {base}"),
        examples=examples, attributes=_attribute_rows())
    return page, style


def filter_attributes(record_type: str) -> list[tuple[str, tuple[str, ...]]]:
    """The list filters an element takes as attributes, with the values each accepts."""
    kind = REGISTRY[record_type]
    own = [(f.param, tuple(term.code for term in VOCABULARIES[f.vocabulary]))
           for f in kind.filters]
    return own + [(via.param, via.choices) for via in kind.via]


def _attribute_rows() -> str:
    rows = []
    for element, record_type, _ in ELEMENTS:
        for name, values in filter_attributes(record_type):
            shown = ", ".join(values[:12]) + (f" … ({len(values)} codes)" if len(values) > 12
                                              else "")
            rows.append(f"<tr><td><code>&lt;{element}&gt;</code></td><td><code>{name}</code>"
                        f"</td><td>{html.escape(shown)}; several, comma-separated</td></tr>")
    for name, meaning in (*COMMON_ATTRIBUTES,
                          ("heading-level", "`<ht-hotlines>`: the level of each name, 2-6 (3)")):
        rows.append(f"<tr><td>both</td><td><code>{name}</code></td>"
                    f"<td>{html.escape(meaning.replace('`', ''))}</td></tr>")
    return "\n".join(rows)


def init_app(app: Flask) -> None:
    app.register_blueprint(embed)


# ------------------------------------------------------------------------ the contract

def contract(doc: Contract) -> None:
    """The widget's files and demo, for ``openapi.yaml``."""
    paths, schemas = doc.paths, doc.schemas
    doc.tags.append({"name": "embed", "description": "The widget partner sites embed."})
    fixed = headers_of("ETag", "Cache-Control", "Last-Modified")

    def answer(description: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"200": {"description": description, "headers": fixed,
                        "content": {media_type: {"schema": schema}}},
                "304": not_modified_response()}

    script = {"type": "string"}
    paths["/embed/v1/htcontent.js"] = get_op(
        "getWidget", "The widget (latest 1.x)", "embed", [],
        {**answer("The ES module.", SCRIPT, script), **problems("BadRequest")},
        description="An ES module defining `<ht-hotlines>` and `<ht-indicators>`: load it "
                    "as a module script (`type=\"module\"`). The latest 1.x release, cached for a "
                    "day; to pin one with `integrity`, use `/embed/v1/htcontent-{version}.js`. "
                    "A query string (the `?ver=` content systems add) is ignored.")
    paths["/embed/v1/htcontent-{version}.js"] = get_op(
        "getWidgetRelease", "One release of the widget", "embed",
        [{"name": "version", "in": "path", "required": True,
          "schema": {"type": "string", "enum": list(releases())}}],
        {**answer("The ES module; its bytes never change.", SCRIPT, script),
         **problems("BadRequest", "NotFound")},
        description="A release's file, cached for a year: its Subresource Integrity hash is "
                    "in `/embed/v1/releases.json`. A query string is ignored.")
    schemas["WidgetReleases"] = {
        "type": "object", "required": ["latest", "releases"], "additionalProperties": False,
        "properties": {
            "latest": {"type": "string"},
            "releases": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["version", "url", "integrity", "published", "size",
                             "gzip_size"],
                "properties": {"version": {"type": "string"},
                               "url": {"type": "string", "format": "uri"},
                               "integrity": {"type": "string", "pattern": "^sha384-"},
                               "published": {"type": "string", "format": "date"},
                               "size": {"type": "integer"}, "gzip_size": {"type": "integer"}}}},
        }}
    paths["/embed/v1/releases.json"] = get_op(
        "listWidgetReleases", "The widget's releases and integrity hashes", "embed", [],
        {**answer("Every release, the latest first.", "application/json",
                  {"$ref": REF + "WidgetReleases"}), **problems("BadRequest")},
        description="For a script element's `integrity` attribute (Subresource "
                    "Integrity): each release's address, its `sha384-` hash, the day it was "
                    "published and its size.")
    paths["/embed/v1/demo"] = get_op(
        "getWidgetDemo", "The widget's demo page", "embed", [],
        {**answer("Every element live, with the snippet to paste.", "text/html", script),
         **problems("BadRequest")},
        description="A page showing each element and the snippets to copy, under a strict "
                    "Content-Security-Policy.")
