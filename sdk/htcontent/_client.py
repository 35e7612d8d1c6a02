"""The client: HTTP with timeouts, retries, conditional GETs and an offline snapshot."""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import platform
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from requests.structures import CaseInsensitiveDict

from ._errors import APIConnectionError, APITimeoutError, HTContentError, error_for
from ._models import Proposal, SearchHit, SyncResult, record_from_dict
from ._records import (
    COLLECTION_ATTRIBUTES,
    COLLECTION_TYPES,
    MODELS,
    VIA_CHOICES,
    VIA_FILTERS,
    Collections,
    Record,
)
from ._snapshot import SnapshotError, SnapshotStore, _matches, write_snapshot
from .calltypes import VIA, CallTypeMap, settings_for
from .webhooks import Webhooks

__version__ = "0.1.1"
USER_AGENT = f"htcontent/{__version__} python/{platform.python_version()}"
RETRY_STATUSES = {429, 500, 502, 503, 504}
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


class Response:
    """What a call got back: status, JSON body, headers (names case-insensitive, as in HTTP),
    and where it came from."""

    def __init__(self, status: int, body: Any, headers: MutableMapping[str, str],
                 source: str) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.source = source


class Client(Collections["Collection"]):
    """A client of the HT Content API.

    ``base_url`` and ``api_key`` default to ``HTCONTENT_BASE_URL`` and ``HTCONTENT_API_KEY``.
    Every request has a timeout; safe requests are retried with exponential backoff and jitter
    on connection errors, 429 and 5xx (honouring ``Retry-After``). GETs are conditional: a 304
    is answered from the client's cache. With ``snapshot_path`` (a file written by
    :meth:`export`, or a mirror written by :meth:`sync`), reads that cannot reach the API are
    served from the snapshot, and :attr:`last_response_source` says ``"snapshot"``.

    Offline reads need no load step: the export's SQLite index (written by :meth:`export`
    next to the JSON) is opened read-only on the first offline read, a ``get`` is one indexed
    lookup, and a ``list`` decodes only the records it yields, so a 100,000-record snapshot
    answers its first ``get`` in milliseconds. A plain export JSON without a current index
    (from an older SDK, or ``curl``) still works: the first offline read parses it once and
    writes the index next to it. See :mod:`htcontent._snapshot` for the design.
    """

    def __init__(self, base_url: str | None = None, api_key: str | None = None, *,
                 lang: str = "en", timeout: float = 5.0, max_retries: int = 3,
                 snapshot_path: str | os.PathLike[str] | None = None,
                 session: requests.Session | None = None, backoff: float = 0.5,
                 max_backoff: float = 8.0,
                 call_type_map: str | os.PathLike[str] | CallTypeMap | None = None) -> None:
        self.base_url = (base_url or os.environ.get("HTCONTENT_BASE_URL")
                         or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key or os.environ.get("HTCONTENT_API_KEY") or None
        self.lang = lang
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.snapshot_path = Path(snapshot_path) if snapshot_path else None
        self._session = session or requests.Session()
        self._owns_session = session is None
        self._cache: dict[str, tuple[str, Any]] = {}
        self._snapshot: SnapshotStore | None = None
        #: ``"network"``, ``"cache"`` (a 304) or ``"snapshot"`` (offline).
        self.last_response_source = "network"
        #: The ``meta`` of the last list page read from the API (an indicator list's carries
        #: ``guidance``: what to keep in mind when showing indicators).
        self.last_list_meta: dict[str, Any] | None = None
        #: Webhook subscriptions of this key (:class:`htcontent.webhooks.Webhooks`).
        self.webhooks = Webhooks(self)
        #: The agency's call-type mapping (``call_type_map``, or ``HTCONTENT_CALL_TYPES``: a
        #: file), read on first use by :meth:`Collection.for_call_type`.
        self.call_type_map = call_type_map or os.environ.get("HTCONTENT_CALL_TYPES") or None
        for name, record_type in COLLECTION_TYPES.items():  # client.hotlines, ...
            setattr(self, COLLECTION_ATTRIBUTES[name], Collection(self, name, record_type))

    # ------------------------------------------------------------------------------ plumbing

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (if the client made it) and the snapshot, if opened."""
        if self._owns_session:
            self._session.close()
        self._close_snapshot()

    def _close_snapshot(self) -> None:
        if self._snapshot is not None:
            self._snapshot.close()
            self._snapshot = None

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        headers.update(extra or {})
        return headers

    def _sleep_before_retry(self, attempt: int, retry_after: float | None) -> None:
        delay = min(self.max_backoff, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 60.0))
        time.sleep(delay)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None, headers: dict[str, str] | None = None,
                retry: bool | None = None) -> Response:
        """One API call: retries, conditional GET and errors handled. Raises
        :class:`~htcontent.HTContentError` subclasses."""
        url = urljoin(self.base_url + "/", path.lstrip("/"))
        query = {k: v for k, v in (params or {}).items() if v is not None}
        retry = method in ("GET", "HEAD") if retry is None else retry
        send = self._headers(headers)
        cache_key = ""
        if method == "GET":
            cache_key = requests.Request("GET", url, params=query).prepare().url or url
            cached = self._cache.get(cache_key + "|" + send.get("Authorization", ""))
            if cached:
                send["If-None-Match"] = cached[0]
        attempt = 0
        while True:
            try:
                response = self._session.request(method, url, params=query, json=json_body,
                                                 headers=send, timeout=self.timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                if retry and attempt < self.max_retries:
                    self._sleep_before_retry(attempt, None)
                    attempt += 1
                    continue
                if isinstance(exc, requests.Timeout):
                    raise APITimeoutError(f"no answer within {self.timeout} s", url=url) from exc
                raise APIConnectionError(f"cannot reach the API: {exc}", url=url) from exc
            retry_after = _retry_after(response.headers.get("Retry-After"))
            if response.status_code in RETRY_STATUSES and retry and attempt < self.max_retries:
                self._sleep_before_retry(attempt, retry_after)
                attempt += 1
                continue
            break
        headers_out: MutableMapping[str, str] = CaseInsensitiveDict(response.headers)
        if response.status_code == 304:
            cached = self._cache.get(cache_key + "|" + send.get("Authorization", ""))
            if cached is None:  # the caller sent its own If-None-Match: it has the body
                self.last_response_source = "network"
                return Response(304, None, headers_out, "network")
            self.last_response_source = "cache"
            return Response(200, cached[1], headers_out, "cache")
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason, "detail": response.text[:500]}
            raise error_for(response.status_code, problem if isinstance(problem, dict) else {},
                            response.headers.get("X-Request-ID"), method, url, retry_after)
        body: Any = None
        if response.content:
            content_type = response.headers.get("Content-Type", "")
            body = response.json() if "json" in content_type else response.text
        if cache_key and "ETag" in response.headers:
            self._cache[cache_key + "|" + send.get("Authorization", "")] = (
                response.headers["ETag"], body)
        self.last_response_source = "network"
        return Response(response.status_code, body, headers_out, "network")

    def _read(self, path: str, params: dict[str, Any] | None = None) -> Response:
        """A GET that falls back to the snapshot when the API cannot be reached."""
        try:
            return self.request("GET", path, params=params)
        except APIConnectionError:
            if self.snapshot_path is None:
                raise
            self.last_response_source = "snapshot"
            return Response(200, None, CaseInsensitiveDict(), "snapshot")

    def _snapshot_store(self) -> SnapshotStore:
        """The snapshot, opened on the first offline read and kept until :meth:`close`."""
        if self._snapshot is None:
            if self.snapshot_path is None or not self.snapshot_path.exists():
                raise HTContentError("the API is unreachable and there is no snapshot")
            try:
                self._snapshot = SnapshotStore.open(self.snapshot_path)
            except SnapshotError as exc:
                raise HTContentError(f"the API is unreachable and {exc}") from exc
        return self._snapshot

    # ------------------------------------------------------------------------------- reading

    def search(self, q: str, *, types: list[str] | None = None, lang: str | None = None,
               limit: int = 50) -> list[SearchHit]:
        """Ranked hits across every type.

        :calls: ``GET /api/v1/search``
        """
        params = {"q": q, "types": ",".join(types) if types else None,
                  "lang": lang or self.lang, "limit": limit}
        body = self.request("GET", "/api/v1/search", params=params).body
        return [SearchHit(**hit) for hit in body["data"]]

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, following ``meta.next_cursor``."""
        while True:
            body = self.request("GET", path, params=params).body
            yield from body["data"]
            if not body["meta"]["next_cursor"]:
                return
            params = {**params, "cursor": body["meta"]["next_cursor"]}

    def review(self, *, limit: int = 100) -> Iterator[dict[str, Any]]:
        """The review queue, page after page: every published record to check now (its check
        ran out, never checked, unverified, disputed, or a change waiting for approval), oldest
        first, each with its ``reasons``. Needs a key with the ``write`` scope.

        :calls: ``GET /api/v1/review``
        """
        yield from self._pages("/api/v1/review", {"limit": limit})

    def proposals(self, *, status: str | None = None, record_id: str | None = None,
                  limit: int = 100) -> Iterator[Proposal]:
        """Writes that wait for a second person (``status``: ``pending``, ``outdated``,
        ``approved``, ``rejected``), oldest first, page after page. Needs the ``write`` or the
        ``approve`` scope.

        :calls: ``GET /api/v1/proposals``
        """
        params = {"status": status, "record_id": record_id, "limit": limit}
        yield from (Proposal.from_dict(item) for item in self._pages("/api/v1/proposals", params))

    def proposal(self, proposal_id: int) -> Proposal:
        """One proposal, with its patch against the record as it is now while it waits.

        :calls: ``GET /api/v1/proposals/{id}``
        """
        return Proposal.from_dict(
            self.request("GET", f"/api/v1/proposals/{proposal_id}").body["data"])

    def approve(self, proposal_id: int) -> Proposal:
        """Publish a proposal. Needs the ``approve`` scope and another key than the proposer's.

        :calls: ``POST /api/v1/proposals/{id}/approve``
        """
        return Proposal.from_dict(
            self.request("POST", f"/api/v1/proposals/{proposal_id}/approve").body["data"])

    def reject(self, proposal_id: int, reason: str) -> Proposal:
        """Reject a proposal, saying why. Needs the ``approve`` scope and another key.

        :calls: ``POST /api/v1/proposals/{id}/reject``
        """
        return Proposal.from_dict(self.request(
            "POST", f"/api/v1/proposals/{proposal_id}/reject",
            json_body={"reason": reason}).body["data"])

    def vocabularies(self) -> list[dict[str, Any]]:
        """Every controlled vocabulary, with English and Spanish labels.

        :calls: ``GET /api/v1/vocabularies``
        """
        return list(self.request("GET", "/api/v1/vocabularies").body["data"])

    def export(self, path: str | os.PathLike[str], *, index: bool = True) -> int:
        """Write every visible record (every language) to ``path``, atomically; return how many.

        ``path`` gets the export exactly as the API sends it (JSON). Unless ``index`` is
        false, ``path`` + ``.sqlite`` gets its index too (records by id and by type), which
        makes offline reads from it instant; without it the first offline read builds it.

        :calls: ``GET /api/v1/export?lang=*``
        """
        body = self.request("GET", "/api/v1/export", params={"lang": "*"}).body
        if self.snapshot_path is not None and Path(path).resolve() == self.snapshot_path.resolve():
            self._close_snapshot()  # the next offline read opens the new one
        return write_snapshot(path, body, index=index)

    def sync(self, path: str | os.PathLike[str], *, page_size: int = 200,
             progress: Any = None) -> SyncResult:
        """Bring the SQLite mirror at ``path`` up to date from the change feed.

        Each page is applied in one transaction together with its token, so a sync that is
        interrupted leaves a consistent mirror that the next sync completes.

        :calls: ``GET /api/v1/changes``
        """
        mirror = Mirror(path)
        upserted = deleted = requests_made = 0
        try:
            while True:
                params = {"since": mirror.token, "lang": "*", "limit": page_size}
                # A mirror remembers the ETag of its last empty page, so a sync with nothing
                # new (from any process) is a single bodiless 304.
                known = mirror.noop_etag(page_size, self.api_key)
                answer = self.request("GET", "/api/v1/changes", params=params,
                                      headers={"If-None-Match": known} if known else None)
                requests_made += 1
                if answer.status == 304:
                    break
                body = answer.body
                if (not body["data"] and not body["meta"]["has_more"]
                        and body["meta"]["next_token"] == mirror.token
                        and answer.headers.get("ETag")):
                    mirror.remember_noop(page_size, self.api_key, answer.headers["ETag"])
                up, down = mirror.apply(body["data"], body["meta"]["next_token"])
                upserted += up
                deleted += down
                if progress:
                    progress(upserted, deleted)
                if not body["meta"]["has_more"]:
                    break
        finally:
            mirror.close()
        return SyncResult(upserted, deleted, requests_made, mirror.token or "")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


_LANGS = frozenset({"en", "es"})
_SCALARS = frozenset({str, int, float, bool, type(None)})


def localize(value: Any, lang: str) -> Any:
    """A multilingual (``lang=*``) value in one language, English filling the gaps."""
    # Scalars are passed through without a call: this runs for every field of every record
    # read offline.
    if isinstance(value, dict):
        if "en" in value and value.keys() <= _LANGS:
            return value.get(lang) or value["en"]
        return {key: item if type(item) in _SCALARS else localize(item, lang)
                for key, item in value.items()}
    if isinstance(value, list):
        return [item if type(item) in _SCALARS else localize(item, lang) for item in value]
    return value


class Collection:
    """One collection: ``client.indicators``, ``client.hotlines``..."""

    def __init__(self, client: Client, name: str, record_type: str) -> None:
        self._client = client
        self.name = name
        self.record_type = record_type
        self.model = MODELS[record_type]

    def _path(self, *parts: str) -> str:
        return "/".join(["/api/v1", self.name, *parts])

    def list(self, *, lang: str | None = None, limit: int = 100, **filters: Any) -> Iterator[Any]:
        """Every record matching ``filters`` (``setting="traffic_stop"``, lists OR-ed), page
        after page.

        :calls: ``GET /api/v1/{collection}``
        """
        lang = lang or self._client.lang
        params: dict[str, Any] = {"lang": lang, "limit": limit}
        for name, value in filters.items():
            params[name] = ",".join(value) if isinstance(value, list | tuple) else value
        cursor = None
        while True:
            response = self._client._read(self._path(), {**params, "cursor": cursor})
            if response.source == "snapshot":
                yield from self._from_snapshot(lang, filters)
                return
            self._client.last_list_meta = response.body["meta"]
            for item in response.body["data"]:
                yield self.model.from_dict(item)
            cursor = response.body["meta"]["next_cursor"]
            if not cursor:
                return

    def for_call_type(self, call_type: str, *,
                      mapping: str | os.PathLike[str] | CallTypeMap | None = None,
                      lang: str | None = None, limit: int = 100,
                      **filters: Any) -> Iterator[Any]:
        """Indicators for one of the agency's own CAD call types (``"10-16"``): through its
        mapping file (``mapping``, else the client's ``call_type_map``: see
        :mod:`htcontent.calltypes`) to APCO codes and settings, and through the API's
        call-type crosswalk to the settings whose indicators apply. Works offline from a
        snapshot too. Nothing when no setting is mapped. More ``filters`` narrow it, as in
        :meth:`list`. Only for a collection with that filter (``client.indicators``).

        :calls: ``GET /api/v1/call-types``, then ``GET /api/v1/indicators?setting=...``
        """
        owner, *_, target = VIA_FILTERS[VIA]
        if owner != self.record_type:
            raise HTContentError(f"{self.name} are not listed by call type")
        if target in filters:
            raise HTContentError(f"a call type decides the {target}: leave {target}= out")
        table = mapping or self._client.call_type_map
        if table is None:
            raise HTContentError("no call-type mapping: pass mapping= or "
                                 "Client(call_type_map=)")
        if not isinstance(table, CallTypeMap):
            table = CallTypeMap.load(table)
            if mapping is None:
                self._client.call_type_map = table  # read once
        settings = settings_for(table.targets(call_type),
                                self._client.call_types.list(lang="en", limit=200))
        if settings:
            yield from self.list(lang=lang, limit=limit, **filters,
                                 **{target: sorted(settings)})

    def _from_snapshot(self, lang: str, filters: dict[str, Any]) -> Iterator[Record]:
        """The snapshot's records of this type matching ``filters`` (each field must share a
        value with the filter's), in export order, decoded only as they are yielded. A filter
        through other records (``apco_incident``) reads them from the snapshot too."""
        store = self._client._snapshot_store()
        plain = {name: value for name, value in filters.items() if name not in VIA_FILTERS}
        through: list[dict[str, Any]] = []
        for name, value in filters.items():
            if name in VIA_FILTERS:
                _, other, match, codes, target = VIA_FILTERS[name]
                wanted = {item.strip() for item in (value.split(",") if isinstance(value, str)
                                                    else value)}
                unknown = sorted(wanted - set(VIA_CHOICES[name]))
                if unknown:  # as the API answers 400
                    raise HTContentError(f"{name}: unknown value(s) {', '.join(unknown)}")
                found = {code for data in store.records(other, {})
                         if data.get(match) in wanted for code in data.get(codes) or ()}
                if not found:
                    return  # nothing maps them: no record matches, as online
                through.append({target: sorted(found)})
        for data in store.records(self.record_type, plain):
            if all(_matches(data, extra) for extra in through):
                yield self.model.from_dict(_shown(data, lang))

    def get(self, record_id: str, *, lang: str | None = None) -> Any:
        """One record.

        :calls: ``GET /api/v1/{collection}/{id}``
        """
        lang = lang or self._client.lang
        response = self._client._read(self._path(record_id), {"lang": lang})
        if response.source == "snapshot":
            data = self._client._snapshot_store().get(self.record_type, record_id)
            if data is not None:
                return self.model.from_dict(_shown(data, lang))
            raise HTContentError(f"{record_id} is not in the snapshot (the API is unreachable)")
        return self.model.from_dict(response.body["data"])

    def revision(self, record_id: str, version: int, *, lang: str | None = None) -> Any:
        """The record exactly as published at ``version``.

        :calls: ``GET /api/v1/{collection}/{id}/revisions/{version}``
        """
        body = self._client.request("GET", self._path(record_id, "revisions", str(version)),
                                    params={"lang": lang or self._client.lang}).body
        return self.model.from_dict(body["data"])

    def revisions(self, record_id: str) -> builtins.list[dict[str, Any]]:
        """Every published version: number, status, visibility, time.

        :calls: ``GET /api/v1/{collection}/{id}/revisions``
        """
        return list(self._client.request("GET", self._path(record_id, "revisions")).body["data"])

    def diff(self, record_id: str, version: int, *,
             from_version: int | None = None) -> builtins.list[dict[str, Any]]:
        """What changed at ``version``: an RFC 6902 JSON Patch that turns the record as
        published at ``from_version`` (default: the version before; 0: nothing) into the record
        as published at ``version``, both in every language (``lang="*"``).

        :calls: ``GET /api/v1/{collection}/{id}/revisions/{version}/diff``
        """
        params = {} if from_version is None else {"from": from_version}
        path = self._path(record_id, "revisions", str(version), "diff")
        return list(self._client.request("GET", path, params=params).body)

    def _etag(self, record_id: str) -> str:
        response = self._client.request("GET", self._path(record_id), params={"lang": "*"})
        return response.headers["ETag"]

    def create(self, record: dict[str, Any], *, idempotency_key: str | None = None) -> Any:
        """Create a record (multilingual form). Retried safely: an ``Idempotency-Key`` is
        always sent.

        :calls: ``POST /api/v1/{collection}``
        """
        key = idempotency_key or str(uuid.uuid4())
        body = self._client.request("POST", self._path(), json_body=record,
                                    headers={"Idempotency-Key": key}, retry=True).body
        return self.model.from_dict(body["data"])

    def update(self, record_id: str, changes: dict[str, Any], *,
               if_match: str | None = None) -> Any:
        """Change some fields (an RFC 7396 merge patch; ``None`` removes a field). Without
        ``if_match``, the current ETag is read first. Returns the record, or a
        :class:`Proposal` when the change waits for a second person (``202 Accepted``).

        :calls: ``PATCH /api/v1/{collection}/{id}``
        """
        etag = if_match or self._etag(record_id)
        response = self._client.request("PATCH", self._path(record_id), json_body=changes,
                                        headers={"If-Match": etag})
        return _saved(self.model, response)

    def verify(self, record_id: str, *, status: str, method: str,
               source_url: str | None = None, note: str | None = None,
               if_match: str | None = None) -> Any:
        """Record a check of a published record: what it found (``"verified"``,
        ``"unverified"``, ``"disputed"``), how (``"called the number"``), from where, and a
        note. The record gets a new version with ``verified_on`` today. Without ``if_match``,
        the current ETag is read first.

        :calls: ``POST /api/v1/{collection}/{id}/verification``
        """
        check = {"status": status, "method": method, "source_url": source_url, "note": note}
        etag = if_match or self._etag(record_id)
        body = self._client.request(
            "POST", self._path(record_id, "verification"),
            json_body={k: v for k, v in check.items() if v is not None},
            headers={"If-Match": etag}).body
        return self.model.from_dict(body["data"])

    def retire(self, record_id: str, *, if_match: str | None = None) -> Proposal | None:
        """Retire a record (reads answer 410 from then on; the history stays). Returns None, or
        a :class:`Proposal` when retiring it waits for a second person (a hotline).

        :calls: ``DELETE /api/v1/{collection}/{id}``
        """
        etag = if_match or self._etag(record_id)
        response = self._client.request("DELETE", self._path(record_id),
                                        headers={"If-Match": etag})
        return Proposal.from_dict(response.body["data"]) if response.status == 202 else None


def _saved(model: Any, response: Response) -> Any:
    """The record a write answered with, or the :class:`Proposal` it became (202)."""
    if response.status == 202:
        return Proposal.from_dict(response.body["data"])
    return model.from_dict(response.body["data"])


def _shown(data: dict[str, Any], lang: str) -> dict[str, Any]:
    if lang == "*":
        return data
    shown = localize(data, lang)
    shown["lang"] = lang if lang in data.get("available_langs", []) else "en"
    return dict(shown)


class Mirror:
    """A local SQLite copy of what the caller can read, with the token to continue from.

    Also usable as a snapshot: ``Client(snapshot_path=path)`` reads it in place when offline.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.db = sqlite3.connect(str(path))
        self.db.execute("CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, type TEXT "
                        "NOT NULL, version INTEGER NOT NULL, record TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY, "
                        "value TEXT NOT NULL)")
        # Offline reads from a mirror (``Client(snapshot_path=mirror)``) list by type.
        self.db.execute("CREATE INDEX IF NOT EXISTS records_type ON records (type, id)")
        self.db.commit()
        row = self.db.execute("SELECT value FROM sync_state WHERE key = 'token'").fetchone()
        self.token: str | None = row[0] if row else None

    def _noop_key(self, page_size: int, api_key: str | None) -> str:
        who = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
        return f"{self.token}|{page_size}|{who}"

    def noop_etag(self, page_size: int, api_key: str | None) -> str | None:
        """The ETag of an empty feed page at the current token, for this page size and key."""
        if self.token is None:
            return None
        row = self.db.execute("SELECT value FROM sync_state WHERE key = 'noop'").fetchone()
        if row is None:
            return None
        key, _, etag = row[0].partition(" ")
        return etag if key == self._noop_key(page_size, api_key) else None

    def remember_noop(self, page_size: int, api_key: str | None, etag: str) -> None:
        with self.db:
            self.db.execute("INSERT INTO sync_state (key, value) VALUES ('noop', ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                            (f"{self._noop_key(page_size, api_key)} {etag}",))

    def apply(self, entries: list[dict[str, Any]], next_token: str) -> tuple[int, int]:
        """Apply one page of the feed and its token in one transaction."""
        upserted = deleted = 0
        with self.db:
            for entry in entries:
                if entry["op"] == "upsert":
                    self.db.execute(
                        "INSERT INTO records (id, type, version, record) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET type = excluded.type, "
                        "version = excluded.version, record = excluded.record",
                        (entry["id"], entry["type"], entry["version"],
                         json.dumps(entry["record"], ensure_ascii=False)))
                    upserted += 1
                else:
                    deleted += self.db.execute("DELETE FROM records WHERE id = ?",
                                               (entry["id"],)).rowcount
            self.db.execute("INSERT INTO sync_state (key, value) VALUES ('token', ?) "
                            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                            (next_token,))
        self.token = next_token
        return upserted, deleted

    def records(self) -> dict[str, dict[str, Any]]:
        return {row[0]: json.loads(row[1])
                for row in self.db.execute("SELECT id, record FROM records")}

    def close(self) -> None:
        self.db.close()


def read_mirror(path: str | os.PathLike[str]) -> dict[str, Record]:
    """The records of a mirror written by :meth:`Client.sync`, by id."""
    mirror = Mirror(path)
    try:
        return {rid: record_from_dict(data) for rid, data in mirror.records().items()}
    finally:
        mirror.close()
