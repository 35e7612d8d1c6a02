"""The widget in Debian's headless Chromium, on a partner's page served from another origin
under a strict Content-Security-Policy (no unsafe-inline, no unsafe-eval, Trusted Types
required; only the API's origin in script-src and connect-src), in English and Spanish, online
and with the API stopped; axe-core checks WCAG 2.1 AA."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from api import config, create_app
from api.storage import db
from seed.loader import load_seed
from tests.conftest import SEED_DIR, Databases, Keys, migrated_app, second_person, serving
from tests.web.browser import PartnerSite, Relay, axe_violations, chromium, wait_for

pytestmark = pytest.mark.browser

PAGE = """<!doctype html>
<html lang="{lang}">
<head><meta charset="utf-8"><title>A partner's page</title>
<script type="module" src="{api}/embed/v1/htcontent-{version}.js" integrity="{integrity}"
        crossorigin="anonymous"></script></head>
<body><main><h1>A partner's page</h1>
<h2>Get help</h2>
<ht-hotlines id="help" purpose="victim_help"><p>Call 1-888-373-7888.</p></ht-hotlines>
<h2>Signs at a hotel</h2>
<ht-indicators id="signs" setting="hotel"></ht-indicators>
{more}
</main></body></html>"""

#: What an element shows, read from its shadow root.
READ = """
let element = document;  // "#host >>> ht-hotlines": inside #host's shadow root
for (const part of arguments[0].split(' >>> ')) {
  element = element && (element.shadowRoot || element).querySelector(part);
}
const root = element && element.shadowRoot;
if (!root || !root.querySelector('.items, .statements, [role=status]')) return null;
const items = [...root.querySelectorAll('.item')];
return {
  lang: root.querySelector('.ht').getAttribute('lang'),
  items: items.map((item) => item.innerText),
  names: [...root.querySelectorAll('.name')].map((name) => name.textContent),
  statements: [...root.querySelectorAll('.statement')].map((s) => s.textContent),
  links: [...root.querySelectorAll('.channel')].map((a) => [a.getAttribute('href'), a.textContent]),
  notes: [...root.querySelectorAll('[role=note] p')].map((p) => p.textContent),
  status: [...root.querySelectorAll('[role=status]')].map((p) => p.textContent),
  slotted: root.querySelector('slot') ? root.querySelector('slot').assignedNodes()
    .map((node) => node.textContent).join('').trim() : null,
  link_style: root.querySelector('a') ? [getComputedStyle(root.querySelector('a')).color,
    getComputedStyle(root.querySelector('a')).textDecorationLine] : null,
};
"""

MONTHS = {"en": ["January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"],
          "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                 "septiembre", "octubre", "noviembre", "diciembre"]}


def long_date(iso: str, lang: str) -> str:
    day = date.fromisoformat(iso)
    month = MONTHS[lang][day.month - 1]
    if lang == "en":
        return f"{month} {day.day}, {day.year}"
    return f"{day.day} de {month} de {day.year}"


def seeded_database(databases: Databases) -> str:
    url = databases.new()
    app = migrated_app(url)
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    app.extensions["db_engine"].dispose()
    return url


@pytest.fixture(scope="module")
def api_database(databases: Databases) -> str:
    return seeded_database(databases)


@pytest.fixture(scope="module")
def api(api_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The API served by gunicorn on loopback, and its access log."""
    log = tmp_path_factory.mktemp("embed") / "access.log"
    with serving(api_database, log) as base:
        releases = requests.get(f"{base}/embed/v1/releases.json", timeout=10).json()
        yield {"url": base, "log": log, "release": releases["releases"][0]}


@pytest.fixture(scope="module")
def site() -> Iterator[PartnerSite]:
    partner = PartnerSite()
    yield partner
    partner.close()


def strict_policy(api_url: str) -> str:
    return (f"default-src 'none'; script-src {api_url}; connect-src {api_url}; "
            "base-uri 'none'; form-action 'none'; object-src 'none'; "
            "require-trusted-types-for 'script'")


def publish(site: PartnerSite, api: dict[str, Any], path: str, lang: str, more: str = "") -> str:
    release = api["release"]
    site.policy = strict_policy(api["url"])
    site.pages[path] = PAGE.format(lang=lang, api=api["url"], version=release["version"],
                                   integrity=release["integrity"], more=more)
    return site.url + path


def shown(driver: Any, selector: str, ready: str = "items") -> dict[str, Any]:
    """What the element shows once it has drawn its records (``ready="status"``: a message)."""
    def drawn(d: Any) -> Any:
        seen = d.execute_script(READ, selector)
        if seen is None:
            return None
        if ready == "items" and not (seen["names"] or seen["statements"]):
            return None
        if ready == "status" and not seen["status"]:
            return None
        return seen
    return wait_for(driver, drawn)  # type: ignore[no-any-return]


def records(api_url: str, collection: str, lang: str, **filters: str) -> list[dict[str, Any]]:
    """The records an element shows, in its order: verified ones first, else the API's."""
    answer = requests.get(f"{api_url}/api/v1/{collection}", params={
        "lang": lang, "limit": 50, **filters}, timeout=10)
    assert answer.status_code == 200
    return sorted(answer.json()["data"], key=lambda r: r["verification_status"] != "verified")


def problems_in(driver: Any) -> list[Any]:
    """CSP violations the page saw and severe console messages (a refused script, an error)."""
    violations = driver.execute_script("return window.__violations")
    severe = [entry["message"] for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE"]
    return [*violations, *severe]


def expect_hotlines(seen: dict[str, Any], expected: list[dict[str, Any]], lang: str) -> None:
    words = {"en": ("Verified on", "Not verified"), "es": ("Verificado el", "Sin verificar")}
    verified, unverified = words[lang]
    assert seen["lang"] == lang
    assert seen["names"] == [record["name"] for record in expected]
    hrefs = [href for href, _ in seen["links"]]
    for record, text in zip(expected, seen["items"], strict=True):
        for channel in record["channels"]:
            if channel["kind"] in ("voice", "tty", "video"):
                assert f"tel:{channel['value']}" in hrefs
            if channel["kind"] == "text":
                assert any(href.startswith(f"sms:{channel['value']}") for href in hrefs)
            if channel.get("hours"):
                assert channel["hours"] in text
        if record["verification_status"] == "verified":
            assert f"{verified} {long_date(record['verified_on'], lang)}." in text
            assert unverified not in text
        else:  # never shown as verified
            assert unverified in text and verified not in text, text


def test_english_page_of_another_origin_with_a_strict_policy(api, site):
    url = publish(site, api, "/en", "en")
    hotlines = records(api["url"], "hotlines", "en", purpose="victim_help")
    assert {h["verification_status"] for h in hotlines} >= {"verified", "unverified"}
    with chromium() as driver:
        driver.get(url)
        help_ = shown(driver, "#help")
        expect_hotlines(help_, hotlines, "en")
        hotline = next(text for text in help_["items"] if "1-888-373-7888" in text)
        assert "Call: 1-888-373-7888" in hotline
        assert "Hours: 24/7" in hotline
        assert "Languages: English, Spanish" in hotline
        assert "TTY: 711" in hotline
        assert "Text HELP or INFO to 233733 (BeFree)" in hotline
        assert ["sms:233733?body=HELP", "Text HELP or INFO to 233733 (BeFree)"] in help_["links"]
        assert "Source:" in hotline
        # The styles apply though the page allows no inline style (constructed stylesheets).
        assert help_["link_style"] == ["rgb(10, 77, 140)", "underline"]
        assert help_["slotted"] is None  # the fallback is not shown once records are

        signs = shown(driver, "#signs")
        indicators = records(api["url"], "indicators", "en", setting="hotel")
        assert signs["statements"] == [record["statement"] for record in indicators]
        guidance = requests.get(f"{api['url']}/api/v1/indicators?setting=hotel&limit=1",
                                timeout=10).json()["meta"]["guidance"]
        assert signs["notes"] == guidance
        assert problems_in(driver) == []


def test_spanish_page_follows_the_page_language_unless_told(api, site):
    url = publish(site, api, "/es", "es-MX",
                  '<ht-hotlines id="english" lang="en" purpose="report_tip"></ht-hotlines>')
    with chromium() as driver:
        driver.get(url)
        help_ = shown(driver, "#help")
        expect_hotlines(help_, records(api["url"], "hotlines", "es", purpose="victim_help"), "es")
        hotline = next(text for text in help_["items"] if "1-888-373-7888" in text)
        assert "Llamar: 1-888-373-7888" in hotline
        assert "Idiomas: inglés, español" in hotline
        assert "Envíe HELP o INFO al 233733" in hotline
        signs = shown(driver, "#signs")
        assert signs["statements"] == [r["statement"] for r in records(
            api["url"], "indicators", "es", setting="hotel")]
        assert signs["notes"][0].startswith("Ningún indicador")
        english = shown(driver, "#english")
        assert english["lang"] == "en"
        assert english["names"] == [r["name"] for r in records(
            api["url"], "hotlines", "en", purpose="report_tip")]

        # The page switches to English: the elements without a lang of their own follow.
        driver.execute_script("document.documentElement.lang = 'en'")
        names = [r["name"] for r in records(api["url"], "hotlines", "en", purpose="victim_help")]
        wait_for(driver, lambda d: (d.execute_script(READ, "#help") or {}).get("names") == names)
        assert shown(driver, "#help")["lang"] == "en"
        assert problems_in(driver) == []


def _reads_of(log: Path, route: str) -> list[dict[str, Any]]:
    """The GETs of ``route`` in the API's access log (the CORS preflights left out)."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("route") == route and line["method"] == "GET"]


def test_revalidates_with_the_etag_and_shows_what_changed(api, api_database, site):
    url = publish(site, api, "/etag", "en")
    with chromium() as driver:
        driver.get(url)
        shown(driver, "#signs")
        before = len(_reads_of(api["log"], "/api/v1/indicators"))
        driver.get(url)
        shown(driver, "#signs")
        wait_for(driver, lambda d: len(_reads_of(api["log"], "/api/v1/indicators")) > before)
        again = _reads_of(api["log"], "/api/v1/indicators")[before:]
        assert [line["status"] for line in again] == [304]

        app = create_app(config.TestConfig(api_database))
        keys = Keys(app)
        client = app.test_client()
        first = records(api["url"], "indicators", "en", setting="hotel")[0]
        current = client.get(f"/api/v1/indicators/{first['id']}?lang=*")
        changed = "The person avoids eye contact and will not speak for themselves."
        answer = client.patch(f"/api/v1/indicators/{first['id']}", json={
            "statement": {**current.get_json()["data"]["statement"], "en": changed}},
            headers={**keys.editor, "If-Match": current.headers["ETag"],
                     "Content-Type": "application/merge-patch+json"})
        assert second_person(client, answer, keys).status_code == 200
        app.extensions["db_engine"].dispose()

        driver.get(url)
        wait_for(driver, lambda d: changed in (d.execute_script(READ, "#signs") or {}).get(
            "statements", []))
        assert problems_in(driver) == []


def test_with_the_api_stopped_it_shows_the_last_good_content_as_of_its_date(
        databases, site, tmp_path):
    with chromium() as driver:
        with serving(seeded_database(databases), tmp_path / "access.log") as base:
            release = requests.get(f"{base}/embed/v1/releases.json", timeout=10).json()
            api = {"url": base, "release": release["releases"][0]}
            english = publish(site, api, "/off-en", "en")
            spanish = publish(site, api, "/off-es", "es")
            driver.get(english)
            online = shown(driver, "#help")
            shown(driver, "#signs")
            driver.get(spanish)
            online_es = shown(driver, "#help")
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{api['url']}/healthz", timeout=2)
        # The API is stopped: its script comes from the browser's cache, the lists from what
        # the elements kept; two lists never loaded show their fallback, or say so.
        later = publish(site, api, "/off-later", "en",
                        '<ht-hotlines id="never" purpose="report_tip">'
                        "<p>Report a tip: 1-866-347-2423.</p></ht-hotlines>"
                        '<ht-hotlines id="bare" purpose="workplace_complaint"></ht-hotlines>')
        driver.get(later)
        stale = shown(driver, "#help")
        assert stale["names"] == online["names"]
        today = driver.execute_script(
            "return new Intl.DateTimeFormat('en', {dateStyle: 'long'}).format(new Date())")
        notice = stale["status"][0]
        assert notice.startswith("The latest list could not be loaded. This is the list as of "
                                 f"{today}")
        assert shown(driver, "#signs")["statements"]
        never_loaded = shown(driver, "#never", ready="status")
        assert never_loaded["slotted"] == "Report a tip: 1-866-347-2423."
        assert never_loaded["names"] == []
        bare = shown(driver, "#bare", ready="status")
        assert bare["status"] == ["This list could not be loaded. Please try again later."]
        assert axe_violations(driver) == []

        driver.get(spanish)
        stale_es = shown(driver, "#help")
        assert stale_es["names"] == online_es["names"]
        assert stale_es["status"][0].startswith(
            "No se pudo cargar la lista más reciente. Esta es la lista del ")
        assert axe_violations(driver) == []


def test_when_the_api_stops_answering_it_gives_up_and_says_as_of_when(api, site):
    """A network that drops packets (no refusal, no answer): after its timeout the element
    shows what it kept with its date, and a list never loaded says it could not be."""
    relay = Relay(api["url"])
    try:
        through = {**api, "url": relay.url}
        url = publish(site, through, "/stall", "en")
        with chromium() as driver:
            driver.get(url)
            online = shown(driver, "#help")
            relay.stalled.set()
            later = publish(site, through, "/stall-later", "en",
                            '<ht-hotlines id="never" purpose="report_tip"></ht-hotlines>')
            driver.get(later)
            at_once = wait_for(driver, lambda d: d.execute_script(READ, "#help"), timeout=3)
            assert at_once["names"] == online["names"] and at_once["status"] == []  # the keep
            stale = wait_for(driver, lambda d: (d.execute_script(READ, "#help") or {}).get(
                "status"), timeout=30)
            assert stale[0].startswith("The latest list could not be loaded.")
            never = wait_for(driver, lambda d: (d.execute_script(READ, "#never") or {}).get(
                "status") == ["This list could not be loaded. Please try again later."],
                timeout=30)
            assert never
    finally:
        relay.close()


BLOCK_STORAGE = ("Object.defineProperty(window, 'localStorage', {get() {"
                 "throw new DOMException('blocked', 'SecurityError'); }});")


def test_inside_another_component_with_storage_blocked(api, site):
    """In a design system's shadow root, it follows that root's language; with the page's
    storage refused it still draws, and moved while the API stalls it keeps its list."""
    relay = Relay(api["url"])
    try:
        url = publish(site, {**api, "url": relay.url}, "/nested", "en")
        with chromium() as driver:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                   {"source": BLOCK_STORAGE})
            driver.get(url)
            shown(driver, "#help")
            driver.execute_script(
                "const host = document.createElement('div'); host.id = 'host';"
                "host.setAttribute('lang', 'es'); document.body.append(host);"
                "const list = document.createElement('ht-hotlines');"
                "list.setAttribute('purpose', 'victim_help');"
                "host.attachShadow({mode: 'open'}).append(list);")
            spanish = shown(driver, "#host >>> ht-hotlines")
            assert spanish["lang"] == "es"
            assert spanish["names"] == [r["name"] for r in records(
                api["url"], "hotlines", "es", purpose="victim_help")]

            relay.stalled.set()
            driver.execute_script(
                "const root = document.querySelector('#host').shadowRoot;"
                "root.append(root.querySelector('ht-hotlines'));")  # moved: out, then in
            assert shown(driver, "#host >>> ht-hotlines")["names"] == spanish["names"]
            stale = wait_for(driver, lambda d: (d.execute_script(
                READ, "#host >>> ht-hotlines") or {}).get("status"), timeout=30)
            assert stale[0].startswith("No se pudo cargar la lista más reciente.")
            assert shown(driver, "#host >>> ht-hotlines")["names"] == spanish["names"]
    finally:
        relay.close()


def test_disputed_numbers_wrong_attributes_and_heading_levels(api, site):
    url = publish(site, api, "/more", "en",
                  '<ht-hotlines id="tips" purpose="report_tip"></ht-hotlines>'
                  '<ht-hotlines id="wrong" purpose="victims"><p>Call 911.</p></ht-hotlines>')
    tips = [r for r in records(api["url"], "hotlines", "en", purpose="report_tip")]
    disputed = next(r for r in tips if r["verification_status"] == "disputed")
    with chromium() as driver:
        driver.get(url)
        seen = shown(driver, "#tips")
        expect_hotlines(seen, tips, "en")
        item = seen["items"][seen["names"].index(disputed["name"])]
        assert "Not verified: its sources disagree." in item
        assert disputed["conflicts"][0]["note"] in item
        # The warning comes before the numbers, and each of its links is described by it.
        described = driver.execute_script(
            "const root = document.querySelector('#tips').shadowRoot;"
            "const item = [...root.querySelectorAll('.item')].find("
            "  (li) => li.querySelector('.name').textContent === arguments[0]);"
            "const warn = item.querySelector('.warn');"
            "return [[...item.children].indexOf(warn) < [...item.children].indexOf("
            "  item.querySelector('.channels')),"
            " [...item.querySelectorAll('a.channel')].map((a) => "
            "  root.getElementById(a.getAttribute('aria-describedby')) === warn)]",
            disputed["name"])
        assert described[0] is True and described[1] and all(described[1])

        wrong = shown(driver, "#wrong", ready="status")
        assert wrong["status"] == ["This list could not be loaded. Please try again later."]
        assert wrong["slotted"] == "Call 911."
        warnings = [entry["message"] for entry in driver.get_log("browser")]
        assert any("ht-hotlines>: 400 Invalid query parameter" in message for message in warnings)
        # A list kept for it (the vocabulary changed since, say) is dropped, not shown as stale.
        key = driver.execute_script(
            "const key = 'htcontent:v1:' + document.querySelector('#wrong').address('en');"
            "localStorage.setItem(key, JSON.stringify({etag: '\"x\"', at: Date.now(), body: "
            "{data: [{name: 'An old list', channels: []}], meta: {total: 1}}}));"
            "return key;")
        driver.get(url)
        wait_for(driver, lambda d: d.execute_script(
            "return localStorage.getItem(arguments[0]) === null", key))
        wrong = shown(driver, "#wrong", ready="status")
        assert wrong["names"] == [] and wrong["slotted"] == "Call 911."

        driver.execute_script("document.querySelector('#tips').setAttribute('heading-level', 5)")
        wait_for(driver, lambda d: d.execute_script(
            "return document.querySelector('#tips').shadowRoot.querySelectorAll('h5').length")
            == len(tips))
        assert driver.execute_script("return window.__violations") == []


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_accessibility_violations(api, site, lang):
    url = publish(site, api, f"/axe-{lang}", lang)
    with chromium() as driver:
        driver.get(url)
        shown(driver, "#help")
        shown(driver, "#signs")
        assert axe_violations(driver) == []


def test_keyboard_reaches_every_link_in_order(api, site):
    url = publish(site, api, "/keys", "en")
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys as Key

    with chromium() as driver:
        driver.get(url)
        help_ = shown(driver, "#help")
        links = driver.execute_script(
            "return [...document.querySelector('#help').shadowRoot.querySelectorAll('a')]"
            ".map((a) => a.href)")
        reached = []
        for _ in links:
            ActionChains(driver).send_keys(Key.TAB).perform()
            reached.append(driver.execute_script(
                "const a = document.activeElement;"
                "return a && a.shadowRoot && a.shadowRoot.activeElement"
                " ? a.shadowRoot.activeElement.href : null"))
        assert reached == links
        assert help_["links"][0][0].startswith("tel:")
        outline = driver.execute_script(
            "const a = document.activeElement.shadowRoot.activeElement;"
            "return getComputedStyle(a).outlineStyle")
        assert outline == "solid"  # the focused link is visibly marked


def test_demo_page_shows_every_element_with_its_snippet(api):
    with chromium() as driver:
        driver.get(f"{api['url']}/embed/v1/demo")
        elements = driver.execute_script(
            "return [...document.querySelectorAll('.live > *')].map((e, i) => "
            "{ e.id = 'live' + i; return [e.localName, e.id]; })")
        assert {name for name, _ in elements} == {"ht-hotlines", "ht-indicators"}
        for _, element_id in elements:
            seen = shown(driver, f"#{element_id}")
            assert seen["names"] or seen["statements"]
        snippets = [code.text for code in driver.find_elements("css selector", "pre code")]
        assert any(api["release"]["integrity"] in snippet for snippet in snippets)
        assert sum("<ht-" in snippet for snippet in snippets) == len(elements)
        assert problems_in(driver) == []
        assert axe_violations(driver) == []
