"""The read API over the seeded content: lists, filters, paging, languages, search, caching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.params import FILTERS
from schemas.records import SCHEMAS
from schemas.vocabularies import codes

COLLECTIONS = ["resources", "indicators", "relief-options", "hotlines"]


def all_pages(client, url: str) -> list[dict]:
    seen: list[dict] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += body["data"]
        url = body["links"]["next"]
        if url:
            assert response.headers["Link"] == f'<{url}>; rel="next"'
            url = url.replace("http://localhost", "")
        else:
            assert "Link" not in response.headers
    return seen


def test_index_links_every_collection_and_the_docs(client):
    response = client.get("/api/v1")
    body = response.get_json()
    assert response.status_code == 200
    for name in [*COLLECTIONS, "search", "vocabularies", "docs", "openapi"]:
        assert body["links"][name].startswith("http://localhost/api/v1/")
    for name in COLLECTIONS:
        assert client.get(body["links"][name].replace("http://localhost", "")).status_code == 200


@pytest.mark.parametrize("collection", COLLECTIONS)
def test_paging_walks_every_record_once(client, collection):
    everything = client.get(f"/api/v1/{collection}?limit=200").get_json()
    assert everything["meta"]["next_cursor"] is None
    paged = all_pages(client, f"/api/v1/{collection}?limit=3")
    ids = [record["id"] for record in paged]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids)) == everything["meta"]["total"] == len(everything["data"])
    first = client.get(f"/api/v1/{collection}?limit=3").get_json()["meta"]
    assert first["count"] == 3 and first["limit"] == 3 and first["total"] == len(ids)


def test_sort_by_update_time_pages_without_gaps(client):
    newest_first = all_pages(client, "/api/v1/indicators?sort=-updated_at&limit=7")
    oldest_first = all_pages(client, "/api/v1/indicators?sort=updated_at&limit=7")
    assert {r["id"] for r in newest_first} == {r["id"] for r in oldest_first}
    assert len(newest_first) == len({r["id"] for r in newest_first})
    stamps = [r["updated_at"] for r in newest_first]
    assert stamps == sorted(stamps, reverse=True)


def test_filters_or_within_and_across(client):
    stops = client.get("/api/v1/indicators?setting=traffic_stop&limit=200").get_json()["data"]
    hotels = client.get("/api/v1/indicators?setting=hotel&limit=200").get_json()["data"]
    either = client.get("/api/v1/indicators?setting=traffic_stop,hotel&limit=200").get_json()
    assert stops and hotels
    assert all("traffic_stop" in r["settings"] for r in stops)
    assert {r["id"] for r in either["data"]} == {r["id"] for r in stops} | {r["id"] for r in hotels}
    assert either["meta"]["total"] == len(either["data"])
    both = client.get("/api/v1/indicators?setting=traffic_stop&trafficking_type=labor&limit=200")
    for record in both.get_json()["data"]:
        assert "traffic_stop" in record["settings"] and "labor" in record["trafficking_types"]
    minors = client.get("/api/v1/indicators?category=minor&limit=200").get_json()["data"]
    assert minors and all(r["category"] == "minor" for r in minors)


def test_hotline_channel_and_purpose_filters(client):
    texts = client.get("/api/v1/hotlines?channel=text").get_json()["data"]
    assert "national-human-trafficking-hotline" in {r["id"] for r in texts}
    assert all(any(c["kind"] == "text" for c in r["channels"]) for r in texts)
    tips = client.get("/api/v1/hotlines?purpose=report_tip").get_json()["data"]
    assert "hsi-tip-line" in {r["id"] for r in tips}


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("bogus=1", "bogus"),
        ("setting=moon", "setting"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("sort=name", "sort"),
        ("lang=fr", "lang"),
        ("fields=statement,password", "fields"),
        ("updated_since=yesterday", "updated_since"),
        ("cursor=forged", "cursor"),
        ("limit=5&limit=6", "limit"),
        ("kind=guide", "kind"),  # a resource filter, not an indicator one
    ],
)
def test_bad_parameters_are_400_naming_what_is_allowed(client, query, bad):
    response = client.get(f"/api/v1/indicators?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400 and bad in problem["errors"]
    assert problem["instance"] == "/api/v1/indicators"
    if bad == "bogus":
        assert "setting" in problem["errors"]["bogus"][0]  # names the allowed parameters
    if bad == "setting":
        assert "traffic_stop" in problem["errors"]["setting"][0]


def test_sparse_fields(client):
    body = client.get("/api/v1/indicators?fields=statement&limit=2").get_json()
    for record in body["data"]:
        assert set(record) == {"id", "type", "version", "statement"}


def test_updated_since(client):
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.get(f"/api/v1/hotlines?updated_since={future}").get_json()["data"] == []
    past = client.get("/api/v1/hotlines?updated_since=2000-01-01T00:00:00%2B00:00").get_json()
    assert past["meta"]["total"] == client.get("/api/v1/hotlines").get_json()["meta"]["total"]


def test_languages_by_parameter_header_and_all(client):
    url = "/api/v1/hotlines/national-human-trafficking-hotline"
    english = client.get(url)
    spanish = client.get(url, headers={"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    forced = client.get(url + "?lang=en", headers={"Accept-Language": "es"})
    every = client.get(url + "?lang=*")
    assert english.headers["Content-Language"] == "en"
    assert english.get_json()["data"]["lang"] == "en"
    assert spanish.headers["Content-Language"] == "es"
    assert spanish.get_json()["data"]["name"] == "Línea Nacional Contra la Trata de Personas"
    assert forced.get_json()["data"]["name"] == english.get_json()["data"]["name"]
    assert every.headers["Content-Language"] == "en, es"
    name = every.get_json()["data"]["name"]
    assert name == {"en": english.get_json()["data"]["name"],
                    "es": "Línea Nacional Contra la Trata de Personas"}
    assert set(english.get_json()["data"]["available_langs"]) == {"en", "es"}


def test_unknown_and_malformed_ids_are_404_problems(client):
    for url in ["/api/v1/indicators/no-such-thing", "/api/v1/indicators/NOT_AN_ID",
                "/api/v1/hotlines/isolated-from-family"]:  # an indicator, not a hotline
        response = client.get(url)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_search_ranks_and_finds_spanish(client):
    body = client.get("/api/v1/search?q=visa").get_json()
    top = [hit["id"] for hit in body["data"][:4]]
    assert "t-visa" in top and "u-visa" in top
    hit = body["data"][0]
    assert set(hit) == {"type", "id", "version", "label", "snippet", "score", "link"}
    assert hit["link"].endswith(f"/{hit['id']}")
    scores = [h["score"] for h in body["data"]]
    assert scores == sorted(scores, reverse=True)
    spanish = client.get("/api/v1/search?q=trata%20de%20personas&lang=es").get_json()
    assert spanish["meta"]["total"] > 0
    only = client.get("/api/v1/search?q=visa&types=hotline").get_json()["data"]
    assert all(h["type"] == "hotline" for h in only)
    assert client.get("/api/v1/search").status_code == 400
    number = client.get("/api/v1/search?q=233733").get_json()["data"]
    assert number and number[0]["id"] == "national-human-trafficking-hotline"


def test_full_text_filter_on_a_list(client):
    body = client.get("/api/v1/relief-options?q=witness").get_json()
    assert "continued-presence" in {r["id"] for r in body["data"]}


def test_vocabularies_label_every_code_in_both_languages(client):
    body = client.get("/api/v1/vocabularies").get_json()
    by_name = {v["name"]: v for v in body["data"]}
    assert {"setting", "indicator_category", "audience", "channel_kind"} <= set(by_name)
    for vocabulary in body["data"]:
        for term in vocabulary["terms"]:
            assert term["labels"]["en"] and term["labels"]["es"]
    stops = next(t for t in by_name["setting"]["terms"] if t["code"] == "traffic_stop")
    total = client.get("/api/v1/indicators?setting=traffic_stop").get_json()["meta"]["total"]
    assert stops["counts"]["indicator"] == total > 0


def test_conditional_get_and_cache_headers(client):
    first = client.get("/api/v1/indicators?limit=5")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert first.headers["Vary"] == "Accept-Language, Authorization"
    assert first.headers["Last-Modified"].endswith("GMT")
    again = client.get("/api/v1/indicators?limit=5", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    spanish = client.get("/api/v1/indicators?limit=5", headers={"Accept-Language": "es",
                                                                 "If-None-Match": etag})
    assert spanish.status_code == 200 and spanish.headers["ETag"] != etag
    one = client.get("/api/v1/indicators/isolated-from-family")
    assert client.get("/api/v1/indicators/isolated-from-family",
                      headers={"If-None-Match": one.headers["ETag"]}).status_code == 304
    # a 304 carries what a cache needs to keep using its copy
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert again.headers["Vary"] == first.headers["Vary"]
    # a condition never hides a problem: a wrong query or record is one, also with *
    for headers in ({"If-None-Match": "*"}, {"If-None-Match": etag}):
        for url in ("/api/v1/indicators?limit=5&cursor=junk", "/api/v1/search?q=visa&cursor=x",
                    "/api/v1/indicators/no-such-record"):
            answer = client.get(url, headers=headers)
            assert answer.status_code in (400, 404), (url, headers, answer.status_code)
            assert answer.mimetype == "application/problem+json"
    assert client.get("/api/v1/indicators?limit=5",
                      headers={"If-None-Match": "*"}).status_code == 304


@pytest.mark.parametrize("url", ["/api/v1", "/api/v1/indicators", "/api/v1/search?q=visa",
                                 "/api/v1/vocabularies", "/api/v1/hotlines/hsi-tip-line",
                                 "/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/docs"])
def test_every_get_has_an_etag_and_request_id(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["ETag"].startswith('"')
    assert response.headers["Last-Modified"].endswith(" GMT")
    assert len(response.headers["X-Request-ID"]) >= 16


def test_request_id_is_echoed_when_sane(client):
    assert client.get("/healthz", headers={"X-Request-ID": "cad-42.7"}).headers[
        "X-Request-ID"] == "cad-42.7"
    assert client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers[
        "X-Request-ID"] != "<script>"


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["status"] == "ready"


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00%2B01:00", "9999-12-31T23:59:59-01:00"])
def test_extreme_times_are_clamped_not_errors(client, since):
    response = client.get(f"/api/v1/indicators?updated_since={since}")
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["q=a%00b", "q=%00", "q=%20%20", "q=%07bell"])
def test_control_characters_and_blank_queries_are_400(client, query):
    for path in ("/api/v1/search", "/api/v1/indicators"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and "q" in response.get_json()["errors"]


def test_if_modified_since_never_breaks_a_read(client):
    for value in ["Fri, 31 Dec 9999 23:59:59 -0100", "Thu, 01 Jan 2099 00:00:00 GMT", "garbage"]:
        response = client.get("/api/v1/indicators", headers={"If-Modified-Since": value})
        assert response.status_code == 200  # only If-None-Match makes a 304


@st.composite
def _filtered_list(draw):  # type: ignore[no-untyped-def]
    record_type = draw(st.sampled_from(sorted(FILTERS)))
    chosen = draw(st.lists(st.sampled_from(FILTERS[record_type]), min_size=1, max_size=3,
                           unique_by=lambda flt: flt.param))
    filters = {flt.param: draw(st.lists(st.sampled_from(sorted(codes(flt.vocabulary))),
                                        min_size=1, max_size=3, unique=True))
               for flt in chosen}
    return record_type, filters, draw(st.integers(1, 7))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_filtered_list())
def test_every_filter_combination_pages_exactly_the_matching_records(client, case):
    """Filtered lists (answered from an in-memory index per data version) agree with the
    records themselves: the same records, in id order, every page, and the same total."""
    record_type, filters, limit = case
    collection = SCHEMAS[record_type].COLLECTION
    everything = all_pages(client, f"/api/v1/{collection}?limit=200&lang=*")
    by_param = {flt.param: flt for flt in FILTERS[record_type]}
    expected = [record["id"] for record in everything
                if all(by_param[param].values(record) & set(wanted)
                       for param, wanted in filters.items())]
    query = "&".join(f"{param}={','.join(wanted)}" for param, wanted in filters.items())
    url = f"/api/v1/{collection}?{query}&limit={limit}"
    assert [record["id"] for record in all_pages(client, url)] == expected
    assert client.get(url).get_json()["meta"]["total"] == len(expected)
