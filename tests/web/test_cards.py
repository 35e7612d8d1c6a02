"""Printable cards, read back with a PDF library: the indicators of the filter asked for, the
caveats, the verified hotlines (each number's QR code decodes to its `tel:`/`sms:` URI), small
print with versions, check dates and sources, in real text with the font embedded; cached and
byte-stable for one content version."""

from __future__ import annotations

import io

import pypdf
import zxingcpp
from pypdf.generic import ContentStream

from api.services import cards
from api.web.cards import CARD_PURPOSES
from tests.conftest import second_person


def read(answer) -> tuple[pypdf.PdfReader, str]:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(answer.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return reader, " ".join(text.split())


def qr_payloads(reader: pypdf.PdfReader) -> list[str]:
    """Every QR code's text: full QR codes only (a phone camera reads no Micro QR)."""
    found = []
    for page in reader.pages:
        for image in page.images:
            for code in zxingcpp.read_barcodes(image.image):
                assert code.format == zxingcpp.BarcodeFormat.QRCode, code.format
                found.append(code.text)
    return found


def structure(reader: pypdf.PdfReader) -> list[tuple[str, str | None]]:
    """The card as a screen reader walks it: each structure element's role (and alternative
    text), in reading order; first checking that every piece of text on every page is either
    in one of them or marked as an artifact (a page footer)."""
    root = reader.trailer["/Root"]
    nums = root["/StructTreeRoot"]["/ParentTree"]["/Nums"]
    parents = {nums[i]: nums[i + 1].get_object() for i in range(0, len(nums), 2)}
    for page in reader.pages:
        depth, mcids = 0, []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator in (b"BDC", b"BMC"):
                assert depth == 0, "a marked sequence inside another"
                depth += 1
                if operator == b"BDC":
                    mcids.append(operands[1]["/MCID"])
            elif operator == b"EMC":
                depth -= 1
                assert depth == 0, "an EMC without its BDC"
            elif operator in (b"Tj", b"TJ", b"'", b'"'):
                assert depth > 0, "text outside the structure: a screen reader skips it"
        assert depth == 0, "a tagged element runs across a page break"
        # each marked sequence is the element the page's parent tree names for its MCID
        elements = parents[page["/StructParents"]] if mcids else []
        assert mcids == list(range(len(elements)))
        for element in elements:
            assert element.get_object().raw_get("/Pg").idnum == page.indirect_reference.idnum
    assert root["/MarkInfo"]["/Marked"]
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert reader.metadata.title and root["/Lang"] in ("en", "es")
    document = root["/StructTreeRoot"]["/K"][0].get_object()
    return [(kid.get_object()["/S"][1:], kid.get_object().get("/Alt"))
            for kid in document["/K"]]


def listed(client, url: str) -> list[dict]:
    return client.get(url).get_json()["data"]


def uris(hotlines: list[dict]) -> set[str]:
    return {("tel:" if channel["kind"] == "voice" else "sms:") + channel["value"]
            for hotline in hotlines for channel in hotline["channels"]
            if channel["kind"] in ("voice", "text")}


def test_a_spanish_pocket_card_of_traffic_stop_indicators(client):
    reader, text = read(client.get(
        "/api/v1/cards/indicators.pdf?setting=traffic_stop&lang=es&size=pocket"))
    indicators = listed(client, "/api/v1/indicators?setting=traffic_stop&lang=es&limit=200")
    meta = client.get("/api/v1/indicators?setting=traffic_stop&lang=es").get_json()["meta"]
    assert indicators and "Detención de tráfico" in text
    for indicator in indicators:
        statement = " ".join(indicator["statement"].split())
        assert statement[:60] in text, statement
        assert f"{indicator['id']} · versión {indicator['version']}" in text
    for caveat in meta["guidance"]:
        assert " ".join(caveat.split())[:50] in text
    hotlines = [h for h in listed(client, "/api/v1/hotlines?lang=es&limit=200")
                if h["verification_status"] == "verified" and h["purpose"] in CARD_PURPOSES
                and uris([h])]
    assert hotlines
    for hotline in hotlines:
        assert " ".join(hotline["name"].split())[:40] in text
    assert sorted(qr_payloads(reader)) == sorted(uris(hotlines))
    assert "https://www.dhs.gov/blue-campaign/indicators-human-trafficking" in text
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (288, 432)  # 4 x 6 in
    fonts = {font.get_object()["/BaseFont"] for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert all("DejaVu" in name for name in fonts)
    descendant = next(iter(reader.pages[0]["/Resources"]["/Font"].values())).get_object()
    descriptor = descendant["/DescendantFonts"][0].get_object()["/FontDescriptor"]
    assert "/FontFile2" in descriptor.get_object()  # the font travels with the card
    roles = structure(reader)
    assert roles[0] == ("H1", None) and ("H2", None) in roles
    assert sum(role == "P" for role, _ in roles) > len(indicators)
    assert sorted(alt for role, alt in roles if role == "Figure") == sorted(uris(hotlines))


def test_the_hotline_card_prints_hours_tty_languages_check_dates_and_sources(client):
    printed = {"en": ("Hours: 24/7", "TTY: 711", "Languages: English, Spanish", "Sources: "),
               "es": ("Horario: 24/7", "TTY: 711", "Idiomas: inglés, español", "Fuentes: ")}
    for lang, words in printed.items():
        reader, text = read(client.get(f"/api/v1/cards/hotlines.pdf?lang={lang}"))
        hotline = client.get(f"/api/v1/hotlines/national-human-trafficking-hotline?lang={lang}"
                             ).get_json()["data"]
        assert hotline["name"] in text
        for word in words:
            assert word in text, (lang, word)
        version, verified = cards.WORDS[lang]["version"], cards.WORDS[lang]["verified"]
        assert (f"national-human-trafficking-hotline · {version} {hotline['version']} · "
                f"{verified} {hotline['verified_on']}") in text
        for source in hotline["sources"]:
            assert source["url"] in text
        roles = structure(reader)
        assert roles[0] == ("H1", None) and ("H2", None) in roles


def test_a_hotline_card_takes_the_hotline_lists_filters_and_names_them(client):
    reader, text = read(client.get("/api/v1/cards/hotlines.pdf?purpose=victim_help&lang=es"))
    purpose = next(term for term in client.get("/api/v1/vocabularies").get_json()["data"]
                   if term["name"] == "hotline_purpose")
    label = next(t["labels"] for t in purpose["terms"] if t["code"] == "victim_help")
    assert f"Líneas de ayuda sobre trata de personas: {label['es']}" in text
    shown = [h for h in listed(client, "/api/v1/hotlines?purpose=victim_help&limit=200")
             if h["verification_status"] == "verified" and uris([h])]
    assert shown and sorted(qr_payloads(reader)) == sorted(uris(shown))
    others = [h for h in listed(client, "/api/v1/hotlines?limit=200")
              if h["purpose"] != "victim_help"]
    assert all(h["name"] not in text for h in others)


def test_an_unverified_indicator_is_printed_with_its_warning(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    unchecked = {"id": "unchecked-sign", "category": "behavioral", "settings": ["hotel"],
                 "sources": [{"url": "https://example.org/sign", "title": "A sign"}],
                 "statement": {"en": "A sign not yet checked.",
                               "es": "Una señal aún sin comprobar."}}
    created = second_person(client, client.post("/api/v1/indicators", json=unchecked,
                                                headers=keys.editor), keys)
    assert created.get_json()["data"]["verification_status"] == "unverified"
    _, text = read(client.get("/api/v1/cards/indicators.pdf?setting=hotel&lang=es"))
    assert ("• Una señal aún sin comprobar. ! Sin verificar: confírmelo antes de confiar "
            "en ello.") in text
    assert text.count("Sin verificar") == 1  # the verified ones carry no warning


def test_the_hotline_card_leaves_unverified_numbers_off(client):
    reader, text = read(client.get("/api/v1/cards/hotlines.pdf?size=letter"))
    everything = listed(client, "/api/v1/hotlines?limit=200")
    shown = [h for h in everything if h["verification_status"] == "verified" and uris([h])]
    left_off = [h for h in everything if h["verification_status"] != "verified"]
    assert left_off and shown
    assert sorted(qr_payloads(reader)) == sorted(uris(shown))
    shown_numbers = {c.get("display") or c["value"] for h in shown for c in h["channels"]}
    for hotline in left_off:
        assert hotline["name"][:30] not in text
        for channel in hotline["channels"]:
            number = channel.get("display") or channel["value"]
            if channel["kind"] in ("voice", "text") and number not in shown_numbers:
                assert number not in text, number  # as printed
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)  # letter


def test_text_taller_than_a_page_is_split_into_tagged_parts_each_on_one_page():
    """Many long sources, a title pages long, many hotline numbers: every page's tags close
    on that page, no page is left blank, and all the text is there."""
    sources = [{"url": f"https://example.org/{'long-path/' * 12}{n}", "title": f"Source {n}"}
               for n in range(130)]
    channels = [{"kind": "voice", "value": f"+1555555{n:04d}", "display": f"555-{n:04d}",
                 "languages": ["en", "es", "fr"], "hours": "Lunes a viernes, 8 a 17 h"}
                for n in range(12)]
    for size in cards.SIZES:
        card = cards.Card(
            title="Indicadores: " + ", ".join(f"Tipo de llamada {n}" for n in range(150)),
            indicators=[{"id": f"sign-{n}", "version": 1, "statement": f"Señal número {n}.",
                         "verified_on": None, "verification_status": "disputed",
                         "sources": sources[n::10]} for n in range(10)],
            caveats=["Llame al 911."], lang="es", size=size, version="c.9", at=None,
            hotlines=[{"id": "line", "version": 2, "name": "Una línea", "verified_on":
                       "2026-12-01", "channels": channels, "sources": []}])
        reader = pypdf.PdfReader(io.BytesIO(cards.render(card)))
        structure(reader)
        texts = [" ".join(page.extract_text().split()) for page in reader.pages]
        assert len(texts) > 2 and all(len(text) > 40 for text in texts)  # none blank
        text = " ".join(texts)
        assert "Tipo de llamada 149" in text and "Source 129" in text
        assert text.count("! Sin verificar: sus fuentes no coinciden.") == 10
        assert sorted(qr_payloads(reader)) == sorted(f"tel:{c['value']}" for c in channels)


def test_a_hotline_card_with_nothing_to_show_says_so(client):
    _, text = read(client.get("/api/v1/cards/hotlines.pdf?verification_status=unverified"))
    assert "No verified hotline matches." in text


def test_cards_are_the_same_bytes_for_one_version_whatever_the_servers_zone(monkeypatch):
    """Rendered twice, in two time zones, from the same content: the same bytes."""
    import time
    from datetime import datetime

    card = cards.Card(title="Indicadores", indicators=[], caveats=["Llame al 911."],
                      hotlines=[], lang="es", size="pocket", version="c.7",
                      at=datetime(2026, 12, 3, 10, 0))
    rendered = []
    for zone in ("UTC", "America/New_York"):
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        rendered.append(cards.render(card))
    monkeypatch.delenv("TZ")
    time.tzset()
    assert rendered[0] == rendered[1]
    assert b"D:20261203100000Z" in rendered[0]


def test_cards_are_cached_revalidated_and_follow_writes(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    url = "/api/v1/cards/indicators.pdf?apco_incident=DVA&lang=en"  # domestic disturbances
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    changed = client.patch("/api/v1/indicators/isolated-from-family",
                           json={"statement": {"en": "The person is cut off from family "
                                                     "and friends (edited)."}},
                           headers={**keys.editor, "If-Match": "*"})
    assert changed.status_code == 200
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    _, text = read(after)
    assert "domestic_disturbance" in changed.get_json()["data"]["settings"]
    assert "(edited)" in text
    dva = next(record["name"] for record in listed(client, "/api/v1/call-types?limit=200")
               if record["apco_code"] == "DVA")
    assert f"Human trafficking indicators: {dva}" in text  # the title names the call type
    assert client.get(url).data == after.data  # the same bytes for one content version


def test_a_keyed_revalidation_is_answered_without_drawing_the_card_again(editor_app,
                                                                          monkeypatch):
    """A key's requests pass by the response cache: its 304 must not cost a PDF."""
    client, keys = editor_app.test_client(), editor_app.keys
    drawn = []
    real = cards.render
    monkeypatch.setattr(cards, "render", lambda card: drawn.append(card) or real(card))
    url = "/api/v1/cards/hotlines.pdf?size=pocket"
    first = client.get(url, headers=keys.reader)
    again = client.get(url, headers=keys.reader)
    assert first.data == again.data and len(drawn) == 2  # the same bytes, drawn twice
    revalidated = client.get(url, headers={**keys.reader, "If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 304 and not revalidated.data
    assert revalidated.headers["ETag"] == first.headers["ETag"]
    assert len(drawn) == 2


def test_bad_card_parameters_are_problems(client):
    for query in ("size=huge", "lang=*", "setting=nowhere", "apco_incident=NOPE", "limit=5"):
        answer = client.get(f"/api/v1/cards/indicators.pdf?{query}")
        assert answer.status_code == 400 and answer.mimetype == "application/problem+json"
    assert client.get("/api/v1/cards/hotlines.pdf?setting=hotel").status_code == 400


def test_restricted_hotlines_reach_only_cards_for_keys_that_may_read_them(editor_app):
    client, keys = editor_app.test_client(), editor_app.keys
    created = client.post("/api/v1/hotlines", headers=keys.chief, json={
        "id": "task-force-desk", "verified_on": "2026-12-01", "visibility": "law_enforcement",
        "sources": [{"url": "https://example.org/tf", "title": "Task force"}],
        "name": {"en": "Regional task force desk"}, "organization": {"en": "Task force"},
        "purpose": "report_tip",
        "channels": [{"kind": "voice", "value": "+15555550177", "display": "555-0177"}]})
    assert created.status_code == 201, created.get_json()
    url = "/api/v1/cards/indicators.pdf?setting=hotel"
    anonymous, text = read(client.get(url))
    assert "Regional task force desk" not in text
    assert "tel:+15555550177" not in qr_payloads(anonymous)
    agency, text = read(client.get(url, headers=keys.reader))
    assert "Regional task force desk" in text and "tel:+15555550177" in qr_payloads(agency)


def test_a_card_of_too_many_indicators_asks_for_a_filter_and_an_empty_database_has_cards(
        client, fresh_app, monkeypatch):
    monkeypatch.setattr(cards, "MAX_RECORDS", 5)
    for url in ("/api/v1/cards/indicators.pdf", "/api/v1/cards/hotlines.pdf"):
        answer = client.get(url)
        assert answer.status_code == 400 and "narrow" in answer.get_json()["detail"], url
    empty = fresh_app.test_client()  # nothing ever written
    for url in ("/api/v1/cards/indicators.pdf", "/api/v1/cards/hotlines.pdf"):
        _, text = read(empty.get(url))
        assert "Content version c.0" in text
