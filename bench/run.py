"""`make bench`: measure the API against baselines served the same way, on this machine.

    .venv/bin/python bench/run.py [--quick] [--only SECTION[,SECTION]] [--markdown PATH]

Sections (``--only`` takes the number or the name):

1. ``throughput``  list and single-record throughput vs the floor (bare Flask, same bytes) and
                   vs Datasette on the same SQLite file
2. ``conditional`` a 304 to ``If-None-Match`` vs the floor's 200
3. ``scale``       median latency at 1k, 10k and 100k indicators; no-op sync size on the wire
4. ``proxy``       reads through the cluster's caching nginx vs nginx serving the same bytes
5. ``sdk``         ``bench/sdk_bench.py``, when it exists, run as it is
6. ``webhooks``    ``bench/webhooks_bench.py``: deliveries per second and the time from a
                   write to its delivery, with 1,000 subscriptions (PostgreSQL, two workers)

Every server is started by this script with gunicorn and the app's own ``gunicorn.conf.py``
(its worker class, ``Worker`` there: an event loop per worker; ``HTCONTENT_WORKERS``
workers x ``HTCONTENT_THREADS`` threads for Flask: 1 x 4, see ``WORKERS``; ``--workers`` and
``--threads`` change them; Datasette with uvicorn's worker, as many workers; the floor's
Flask app on the same thread pool as ours, and ``raw``, the same bytes from the event loop
with no Flask) on 127.0.0.1, ports 8700-8749, loaded
by ``wrk -t1`` after a warm-up, in several interleaved rounds; the table shows medians.
Logs, captured bodies and wrk scripts go to ``bench/.cache/run/``. Every process it starts
is stopped when it ends, fails or is interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import functools
import http.client
import itertools
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache"
RUN = CACHE / "run"
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (bench/ is not a package)

from schemas.records import SCHEMAS  # noqa: E402  (the project, installed with it)

PORTS = range(8700, 8750)
#: One gunicorn worker per server (every server alike), one core for it and one for wrk. With
#: two workers, gunicorn's workers take wrk's keep-alive connections by chance: a run then
#: measures one worker or two (about 1,200 or 3,400 req/s on this machine, for any server,
#: the floor included), which made ratios swing by 2x. ``--workers 2`` measures that way.
WORKERS = "1"
THREADS = "4"
SCALES = (1_000, 10_000, 100_000)
#: The database of sections 1 and 2: big enough that varied pages and ids do not repeat.
THROUGHPUT_SCALE = 10_000
RATE_LIMIT = "1000000000/minute"
SINGLE_ID = "isolated-from-family"  # a seed indicator, present at every scale
LIST_PATH = "/api/v1/indicators?limit=50"
SEARCH_TERM = "passport"  # middling selectivity: ~5% of the records
FILTER = "category=financial"
SECTIONS = {"1": "throughput", "2": "conditional", "3": "scale", "4": "proxy", "5": "sdk",
            "6": "webhooks"}


# ----------------------------------------------------------------------------- processes


class Processes:
    """Every process this script starts, stopped (by process group) at exit, also on signals."""

    def __init__(self) -> None:
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.cleanups: list[tuple[str, Callable[[], None]]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> Any:
        with open(log, "ab") as out:
            process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        self.running.append((name, process))
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
        self.running = [(n, p) for n, p in self.running if p is not process]

    def on_exit(self, name: str, cleanup: Callable[[], None]) -> None:
        self.cleanups.append((name, cleanup))

    def done(self, name: str) -> None:
        """Run one registered cleanup now (and forget it)."""
        for item in [c for c in self.cleanups if c[0] == name]:
            self.cleanups.remove(item)
            item[1]()

    def stop_all(self) -> None:
        while self.cleanups:
            name, cleanup = self.cleanups.pop()
            try:
                cleanup()
            except Exception as exc:  # keep cleaning up
                print(f"bench: cleanup {name} failed: {exc}", file=sys.stderr)
        for _, process in list(reversed(self.running)):
            self.stop(process)


PROCS = Processes()
atexit.register(PROCS.stop_all)


def _on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(_sig, _on_signal)

_taken: set[int] = set()


def free_port() -> int:
    for port in PORTS:
        if port in _taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError("no free port in 8700-8749")


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# ---------------------------------------------------------------------------------- HTTP


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(port: int, path: str, headers: dict[str, str] | None = None,
          timeout: float = 30) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        connection.close()


def wire_bytes(port: int, path: str, headers: dict[str, str]) -> tuple[int, int, int]:
    """(request bytes, response bytes, status) of one request as sent on the socket."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             *(f"{k}: {v}" for k, v in headers.items()), "Connection: close", "", ""]
    request = "\r\n".join(lines).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    status = int(response.split(b" ", 2)[1]) if response else 0
    return len(request), len(response), status


class Check(Exception):
    """A server did not answer as it must before it is measured."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Check(message)


# ------------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    port: int
    process: Any
    log: Path

    def stop(self) -> None:
        PROCS.stop(self.process)


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HTCONTENT_", "DATABASE_URL", "REDIS_URL",
                                "PROMETHEUS_MULTIPROC_DIR", "GUNICORN_CMD_ARGS"))}
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


def start_gunicorn(name: str, app_args: list[str], env_extra: dict[str, str],
                   ready_path: str) -> Server:
    """gunicorn with the app's own gunicorn.conf.py (its worker class, WORKERS workers,
    THREADS threads for Flask; same keep-alive), the given app and environment; waits until
    ready_path answers."""
    port = free_port()
    log = RUN / f"{name}.log"
    log.unlink(missing_ok=True)
    metrics = RUN / f"metrics-{name}"
    shutil.rmtree(metrics, ignore_errors=True)
    metrics.mkdir(parents=True)
    env = {**_base_env(), "HTCONTENT_BIND": f"127.0.0.1:{port}", "HTCONTENT_WORKERS": WORKERS,
           "HTCONTENT_THREADS": THREADS, "PROMETHEUS_MULTIPROC_DIR": str(metrics), **env_extra}
    cmd = [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), *app_args]
    process = PROCS.start(name, cmd, env, log)
    server = Server(name, port, process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if fetch(port, ready_path, timeout=5).status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:]
    server.stop()
    raise Check(f"{name} did not become ready on port {port}; log tail:\n{tail}")


def start_ours(name: str, database: Path, rate_limit: str | None = RATE_LIMIT) -> Server:
    """Our app as deployed; rate limiting stays on (memory storage) with a limit the load
    never reaches (``rate_limit`` None: the configured default, for header sizes)."""
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    if rate_limit:
        env["HTCONTENT_RATE_LIMIT_ANON"] = rate_limit
    return start_gunicorn(name, [], env, "/readyz")


def start_floor(routes: dict[str, Answer]) -> Server:
    path = RUN / "floor-routes.json"
    path.write_text(json.dumps({url: {"body": base64.b64encode(a.body).decode(),
                                      "content_type": a.headers["content-type"]}
                                for url, a in routes.items()}))
    return start_gunicorn("floor", ["--pythonpath", str(BENCH), "floor:asgi"],
                          {"BENCH_FLOOR_FILE": str(path)}, next(iter(routes)))


def start_raw(routes: dict[str, Answer]) -> Server:
    """The floor's bytes from the event loop, no Flask (``floor:raw``): the server alone.
    Call after :func:`start_floor`, which wrote the routes file."""
    return start_gunicorn("raw", ["--pythonpath", str(BENCH), "floor:raw"],
                          {"BENCH_FLOOR_FILE": str(RUN / "floor-routes.json")},
                          next(iter(routes)))


def start_datasette(database: Path) -> Server:
    return start_gunicorn("datasette", ["-k", "uvicorn_worker.UvicornWorker", "--pythonpath",
                                        str(BENCH), "datasette_app:app"],
                          {"BENCH_DATASETTE_DB": str(database)}, "/-/versions.json")


# ----------------------------------------------------------------------------------- wrk

REPORT_LUA = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"mean":%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean))
end
"""

ROTATE_LUA = """
local paths = {}
local counter = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  counter = tonumber(args[2]) or 0
end
function request()
  counter = counter + 1
  return wrk.format(nil, paths[((counter - 1) % #paths) + 1])
end
""" + REPORT_LUA


class Pool:
    """Distinct URLs taken in turn across every wrk run, so none repeats until all are used
    (a response cache then has nothing to replay)."""

    def __init__(self, name: str, paths: list[str]) -> None:
        self.name = name
        self.paths = paths
        self.file = RUN / f"pool-{name}.txt"
        self.file.write_text("\n".join(paths) + "\n")
        self.offset = 0

    @property
    def wrapped(self) -> bool:
        return self.offset > len(self.paths)


@dataclass
class Run:
    rps: float
    p50: float  # ms
    p90: float
    p99: float
    requests: int
    errors: int
    bad_status: int
    bytes: int


def wrk(port: int, path: str, duration: float, connections: int,
        headers: tuple[str, ...] = (), pool: Pool | None = None) -> Run:
    script = RUN / ("rotate.lua" if pool else "report.lua")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s",
           "-s", str(script)]
    for header in headers:
        cmd += ["-H", header]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    if pool:
        cmd += ["--", str(pool.file), str(pool.offset)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    line = next((x for x in out.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    data = json.loads(line[len("BENCHJSON "):])
    if pool:
        pool.offset += data["requests"] + connections
    seconds = data["duration_us"] / 1e6
    errors = data["connect"] + data["read"] + data["write"] + data["timeout"]
    return Run(data["requests"] / seconds, data["p50"] / 1000, data["p90"] / 1000,
               data["p99"] / 1000, data["requests"], errors, data["status"], data["bytes"])


@dataclass
class Case:
    key: str
    label: str
    server: Server
    path: str
    connections: int
    headers: tuple[str, ...] = ()
    pool: Pool | None = None
    runs: list[Run] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50 for r in self.runs)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99 for r in self.runs)

    @property
    def mean_bytes(self) -> float:
        """Bytes per answer (headers included) over every run."""
        return sum(r.bytes for r in self.runs) / max(1, sum(r.requests for r in self.runs))

    @property
    def failures(self) -> int:
        return sum(r.errors + r.bad_status for r in self.runs)


@dataclass
class Settings:
    rounds: int
    duration: float
    warmup: float
    scale_rounds: int
    scale_duration: float


def measure(cases: list[Case], settings: Settings, rounds: int, duration: float,
            title: str) -> None:
    """Warm every case up, then run ``rounds`` rounds, each case once per round; the case
    order rotates from round to round so none is always first after an idle spell."""
    total = len(cases) * rounds
    print(f"  {title}: warm-up {settings.warmup:g}s x {len(cases)}, then {rounds} rounds of "
          f"{duration:g}s x {len(cases)} (~{(settings.warmup + rounds * duration) * len(cases):.0f}"
          " s)", flush=True)
    for case in cases:
        wrk(case.server.port, case.path, settings.warmup, case.connections, case.headers,
            case.pool)
    done = 0
    for number in range(rounds):
        shift = number % len(cases)
        for case in cases[shift:] + cases[:shift]:
            run = wrk(case.server.port, case.path, duration, case.connections, case.headers,
                      case.pool)
            case.runs.append(run)
            done += 1
            flag = f"  ({run.errors + run.bad_status} errors!)" if run.errors + run.bad_status \
                else ""
            print(f"    [{done:>3}/{total}] {case.label:<44} {run.rps:>9.0f} req/s  "
                  f"p50 {run.p50:7.2f} ms{flag}", flush=True)


# -------------------------------------------------------------------------------- results


@dataclass
class Row:
    section: str
    metric: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None  # None: informational

    @property
    def result(self) -> str:
        return "info" if self.ok is None else ("PASS" if self.ok else "FAIL")


ROWS: list[Row] = []
NOTES: list[str] = []
EXTRA_OUTPUT: list[str] = []


def tput(case: Case) -> str:
    text = f"{case.rps:,.0f} req/s (p50 {case.p50:.2f} ms)"
    if case.failures:
        text += f" [{case.failures} errors]"
    return text


def lat(case: Case) -> str:
    text = f"p50 {case.p50:.2f} ms ({case.rps:,.0f} req/s)"
    if case.failures:
        text += f" [{case.failures} errors]"
    return text


def paired(ours: Case, base: Case, value: Any) -> float:
    """The median over rounds of ``value(ours run) / value(base run)`` for runs of the same
    round: the machine's slow stretches (which last a minute or so) then move both sides of a
    ratio together instead of skewing one side's median."""
    ratios = [value(mine) / value(theirs)
              for mine, theirs in zip(ours.runs, base.runs, strict=False)
              if value(theirs)]
    return statistics.median(ratios) if ratios else 0.0


def throughput_row(section: str, metric: str, ours: Case, base: Case, at_least: float) -> None:
    ratio = paired(ours, base, lambda run: run.rps)
    ok = ratio >= at_least and not ours.failures and not base.failures
    ROWS.append(Row(section, metric, tput(ours), tput(base), ratio, f">= {at_least:g}x", ok))


def latency_row(section: str, metric: str, ours: Case, base: Case, at_most: float) -> None:
    ratio = ours.p50 / base.p50 if base.p50 else 0.0
    ok = ratio <= at_most and not ours.failures and not base.failures
    ROWS.append(Row(section, metric, lat(ours), lat(base), ratio, f"<= {at_most:g}x", ok))


def table(markdown: bool = False) -> str:
    head = ("#", "metric", "ours", "baseline", "ratio", "target", "result")
    body = [(r.section, r.metric, r.ours, r.baseline,
             "" if r.ratio is None else f"{r.ratio:.2f}", r.target, r.result) for r in ROWS]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row) for row in body]
    return "\n".join(lines)


# ------------------------------------------------------------------------------- datasets


def database(total: int) -> Path:
    started = time.perf_counter()
    path = generate.db_path(total)
    if not path.exists():
        print(f"  generating {total:,} indicators (cached afterwards; 100k takes ~10 min)",
              flush=True)
    path = generate.generate(total, log=lambda m: print("    " + m, flush=True))
    meta = json.loads(generate.meta_path(path).read_text())
    if time.perf_counter() - started > 5:
        NOTES.append(f"generated {total:,} indicators in {meta['seconds']} s this run")
    return path


def published_ids(path: Path) -> list[str]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in connection.execute(
            "SELECT id FROM records WHERE type = 'indicator' AND status = 'published' "
            "AND visibility = 'public' ORDER BY id")]
    finally:
        connection.close()


def head_seq(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(connection.execute("SELECT max(seq) FROM changes").fetchone()[0] or 0)
    finally:
        connection.close()


def _limited(paths: list[str], cap: int = 60_000) -> list[str]:
    return paths[:cap]


# -------------------------------------------------------------------- sections 1 and 2


def section_throughput(settings: Settings, sections: set[str]) -> None:
    print(f"\n== sections 1-2: throughput and 304s ({THROUGHPUT_SCALE:,} indicators, "
          "wrk -t1 -c8)", flush=True)
    path = database(THROUGHPUT_SCALE)
    ids = published_ids(path)
    rng = random.Random(7)
    single_path = f"/api/v1/indicators/{SINGLE_ID}"
    servers: list[Server] = []
    try:
        ours = start_ours("ours", path)
        servers.append(ours)
        # What our app answers: the floor will serve exactly these bytes.
        captured = {LIST_PATH: fetch(ours.port, LIST_PATH), single_path: fetch(ours.port,
                                                                               single_path)}
        listing, single = captured[LIST_PATH], captured[single_path]
        expect(listing.status == 200 and len(listing.json()["data"]) == 50,
               f"our list answered {listing.status}, not 50 records")
        expect(single.status == 200 and single.json()["data"]["id"] == SINGLE_ID,
               f"our record answered {single.status}")
        for url, answer in captured.items():
            again = fetch(ours.port, url, {"If-None-Match": answer.headers["etag"]})
            expect(again.status == 304, f"If-None-Match on {url} answered {again.status}")
        floor = start_floor(captured)
        servers.append(floor)
        raw = start_raw(captured)
        servers.append(raw)
        for server in (floor, raw):
            for url, answer in captured.items():
                copy = fetch(server.port, url)
                expect(copy.status == 200 and copy.body == answer.body
                       and copy.headers["content-type"] == answer.headers["content-type"],
                       f"{server.name} does not serve our bytes for {url}")
        datasette = start_datasette(path)
        servers.append(datasette)
        db_name = path.stem
        ds_list = (f"/{quote(db_name)}/records.json?type=indicator&status=published"
                   "&visibility=public&_size=50&_nocount=1&_nofacet=1&_shape=array")
        ds_single = f"/{quote(db_name)}/records/{SINGLE_ID}.json?_shape=array&_nofacet=1"
        rows = fetch(datasette.port, ds_list).json()
        expect(len(rows) == 50 and all(r["type"] == "indicator" for r in rows)
               and [r["id"] for r in rows] == [d["id"] for d in listing.json()["data"]],
               "Datasette's list is not the same 50 indicators")
        row = fetch(datasette.port, ds_single).json()
        expect(len(row) == 1 and row[0]["id"] == SINGLE_ID and "statement" in row[0]["content"],
               "Datasette's row is not the record")
        NOTES.append(f"list: ours {len(listing.body):,} B, Datasette "
                     f"{len(fetch(datasette.port, ds_list).body):,} B; single: ours "
                     f"{len(single.body):,} B, Datasette "
                     f"{len(fetch(datasette.port, ds_single).body):,} B (same rows; Datasette "
                     "returns `content` as a JSON string)")

        # Varied: every request a different page or record (no response cache can replay).
        shuffled = ids[:]
        rng.shuffle(shuffled)
        langs = ("", "&lang=en", "&lang=es")
        ours_pages = Pool("ours-pages", _limited([
            f"/api/v1/indicators?limit=50&cursor=i.0.{i}{lang}" for lang in langs
            for i in shuffled]))
        ds_pages = Pool("ds-pages", [f"{ds_list}&_next={quote(i)}" for i in shuffled])
        # Reads no cache holds: every request another id x lang x fields, as a CAD fleet asks
        # (at least 13,000 distinct URLs; each round walks a slice no other round used).
        field_sets = ("", "fields=statement", "fields=statement,category,settings",
                      "fields=statement,guidance,verified_on")
        queries = ["&".join(x for x in (lang[1:], only) if x) for only in field_sets
                   for lang in langs]
        single_urls = [f"/api/v1/indicators/{i}" + (f"?{query}" if query else "")
                       for query in queries for i in shuffled]
        rng.shuffle(single_urls)
        ours_ids = Pool("ours-ids", _limited(single_urls))
        expect(len(ours_ids.paths) >= 13_000,
               f"the uncached single pool holds only {len(ours_ids.paths):,} URLs")
        ds_ids = Pool("ds-ids", [f"/{quote(db_name)}/records/{quote(i)}.json?_shape=array"
                                 for i in shuffled])
        for pool, server in ((ours_pages, ours), (ds_pages, datasette), (ours_ids, ours),
                             (ds_ids, datasette)):
            for sample in pool.paths[:3]:
                answer = fetch(server.port, sample)
                expect(answer.status == 200 and len(answer.body) > 100,
                       f"{server.name} answered {answer.status} to {sample}")

        inm_list = f"If-None-Match: {listing.headers['etag']}"
        inm_single = f"If-None-Match: {single.headers['etag']}"
        c = 8
        cases = {
            "ours-list": Case("ours-list", "ours  list ?limit=50", ours, LIST_PATH, c),
            "floor-list": Case("floor-list", "floor list", floor, LIST_PATH, c),
            "ds-list": Case("ds-list", "datasette list _size=50", datasette, ds_list, c),
            "ours-single": Case("ours-single", "ours  single", ours, single_path, c),
            "floor-single": Case("floor-single", "floor single", floor, single_path, c),
            "ds-single": Case("ds-single", "datasette single", datasette, ds_single, c),
            "raw-list": Case("raw-list", "raw   list (event loop, no Flask)", raw, LIST_PATH, c),
            "raw-single": Case("raw-single", "raw   single", raw, single_path, c),
            "ours-pages": Case("ours-pages", "ours  list, varied pages", ours, LIST_PATH, c,
                               pool=ours_pages),
            "ds-pages": Case("ds-pages", "datasette list, varied pages", datasette, ds_list,
                             c, pool=ds_pages),
            "ours-ids": Case("ours-ids", "ours  single, id x lang x fields", ours, single_path,
                             c, pool=ours_ids),
            "ds-ids": Case("ds-ids", "datasette single, varied ids", datasette, ds_single, c,
                           pool=ds_ids),
        }
        if "conditional" in sections:
            cases["ours-304-list"] = Case("ours-304-list", "ours  list 304 (If-None-Match)",
                                          ours, LIST_PATH, c, (inm_list,))
            cases["ours-304-single"] = Case("ours-304-single", "ours  single 304", ours,
                                            single_path, c, (inm_single,))
        if "throughput" not in sections:
            for key in [k for k in cases
                        if k.startswith(("ds-", "raw-", "ours-pages", "ours-ids"))]:
                del cases[key]
        measure(list(cases.values()), settings, settings.rounds, settings.duration,
                "throughput")
        k = cases
        if "throughput" in sections:
            throughput_row("1", "GET /indicators?limit=50 vs floor", k["ours-list"],
                           k["floor-list"], 0.8)
            throughput_row("1", "GET /indicators?limit=50 vs Datasette", k["ours-list"],
                           k["ds-list"], 5)
            throughput_row("1", "GET /indicators/{id} vs floor", k["ours-single"],
                           k["floor-single"], 0.8)
            throughput_row("1", "GET /indicators/{id} vs Datasette", k["ours-single"],
                           k["ds-single"], 5)
            # For information: what the floor itself does against Datasette.
            for what, name in (("list", "list"), ("{id}", "single")):
                ratio = paired(k[f"floor-{name}"], k[f"ds-{name}"], lambda run: run.rps)
                ROWS.append(Row("1", f"(floor {what} vs Datasette: Flask served this way "
                                "against Datasette)", tput(k[f"floor-{name}"]),
                                tput(k[f"ds-{name}"]), ratio, "", None))
            # For information: ours against the server alone (the same bytes from the loop).
            for what, name in (("list", "list"), ("{id}", "single")):
                ratio = paired(k[f"ours-{name}"], k[f"raw-{name}"], lambda run: run.rps)
                ROWS.append(Row("1", f"(ours {what} vs raw: the same bytes from the event loop, "
                                "no Flask: what the server alone costs)", tput(k[f"ours-{name}"]),
                                tput(k[f"raw-{name}"]), ratio, "", None))
            throughput_row("1", "list, varied pages vs Datasette varied", k["ours-pages"],
                           k["ds-pages"], 5)
            throughput_row("1", "single, no cache holds it (id x lang x fields) vs Datasette "
                           "varied", k["ours-ids"], k["ds-ids"], 3)
            throughput_row("1", "single, no cache holds it (id x lang x fields) vs floor",
                           k["ours-ids"], k["floor-single"], 0.5)
            for pool in (ours_pages, ours_ids):
                if pool.wrapped:
                    NOTES.append(f"pool {pool.name} ({len(pool.paths):,} URLs) wrapped: some "
                                 "varied requests repeated a URL")
        if "conditional" in sections:
            throughput_row("2", "304 list (If-None-Match) vs floor 200", k["ours-304-list"],
                           k["floor-list"], 1)
            throughput_row("2", "304 single (If-None-Match) vs floor 200",
                           k["ours-304-single"], k["floor-single"], 1)
            sizes = [k[x].runs[-1].bytes / max(1, k[x].runs[-1].requests)
                     for x in ("ours-304-list", "ours-304-single")]
            NOTES.append(f"304 answers averaged {sizes[0]:.0f} B (list) and {sizes[1]:.0f} B "
                         "(single) on the wire, headers included")
    finally:
        for server in reversed(servers):
            server.stop()


# ---------------------------------------------------------------------------- section 3


#: Page sizes of the varied filtered and search rows, and how many results every URL in their
#: pools has after its cursor at every scale: pages are full everywhere, so a ratio measures
#: what scale costs, not how many records a page happens to render (at 1k a random
#: three-filter combination matches a handful of records; at 100k it fills any page).
VARIED_FILTER_LIMIT = 10
VARIED_SEARCH_LIMIT = 10


def _indicator_terms(path: Path) -> dict[tuple[str, str], set[str]]:
    """(filter, code) -> ids of the public published indicators carrying it."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found: dict[tuple[str, str], set[str]] = {}
        for name, value, record_id in connection.execute(
                "SELECT t.name, t.value, t.record_id FROM record_terms t JOIN records r"
                " ON r.id = t.record_id WHERE r.type = 'indicator' AND r.status = 'published'"
                " AND r.visibility = 'public'"):
            found.setdefault((name, value), set()).add(record_id)
        return found
    finally:
        connection.close()


def _search_hits(connection: sqlite3.Connection, query: str) -> int:
    """Public published records matching every word of ``query`` (as /search counts them)."""
    expression = " ".join(f'"{word}"' for word in query.lower().split())
    return int(connection.execute(
        "SELECT count(DISTINCT d.record_id) FROM search_fts JOIN search_docs d"
        " ON d.doc_id = search_fts.rowid JOIN records r ON r.id = d.record_id"
        " WHERE search_fts MATCH ? AND r.status = 'published' AND r.visibility = 'public'",
        (expression,)).fetchone()[0])


@functools.cache
def _varied_choices() -> tuple[list[tuple[tuple[str, str], ...]], list[str]]:
    """Filter combinations and search queries with a full page of results at the smallest
    scale (so at every scale), the same for all scales."""
    base = database(SCALES[0])
    terms = _indicator_terms(base)
    categories = [t.code for t in generate_vocab("indicator_category")]
    settings = [t.code for t in generate_vocab("setting")]
    combos: list[tuple[tuple[str, str], ...]] = []
    for category in categories:
        for setting in [None, *settings]:
            for kind in (None, "sex", "labor"):
                combo = [("category", category)]
                if setting:
                    combo.append(("setting", setting))
                if kind:
                    combo.append(("trafficking_type", kind))
                matching = set.intersection(*(terms.get(term, set()) for term in combo))
                if len(matching) > 2 * VARIED_FILTER_LIMIT:
                    combos.append(tuple(combo))
    rng = random.Random(1)
    words = generate.search_terms()
    candidates = sorted(set(words) | {f"{rng.choice(words)} {rng.choice(words)}"
                                      for _ in range(20_000)})
    connection = sqlite3.connect(f"file:{base}?mode=ro", uri=True)
    try:
        queries = [q for q in candidates
                   if _search_hits(connection, q) >= VARIED_SEARCH_LIMIT]
    finally:
        connection.close()
    return combos, queries


def _scale_pools(scale: int, path: Path, ids: list[str], head: int,
                 rng: random.Random) -> dict[str, Pool]:
    """Varied URLs for each measured endpoint at one scale (distinct, shuffled), each with a
    full page of results after its cursor."""
    cap = 40_000
    full = ids[:-50]  # a cursor here has a full page of 50 after it
    shuffled = full[:]
    rng.shuffle(shuffled)
    # Enough distinct URLs that even the 1k pools do not wrap into cache hits within a row:
    # three spellings of the language, and for lists two page sizes (both full pages).
    pages = [f"/api/v1/indicators?limit={limit}&cursor=i.0.{i}{lang}"
             for i in shuffled for limit in (50, 49)
             for lang in ("", "&lang=es", "&lang=en")][:cap]
    rng.shuffle(pages)
    combos, queries = _varied_choices()
    terms = _indicator_terms(path)
    matches = {combo: sorted(set.intersection(*(terms.get(term, set()) for term in combo)))
               for combo in combos}
    filtered: list[str] = []
    for _ in range(cap):
        combo = rng.choice(combos)
        cursor = rng.choice(matches[combo][:-VARIED_FILTER_LIMIT])
        query = "&".join(f"{name}={value}" for name, value in combo)
        lang = rng.choice(("", "&lang=es", "&lang=en"))
        filtered.append(f"/api/v1/indicators?{query}{lang}&limit={VARIED_FILTER_LIMIT}"
                        f"&cursor=i.0.{cursor}")
    filtered = list(dict.fromkeys(filtered))
    searches = [f"/api/v1/search?q={quote(q)}&limit={VARIED_SEARCH_LIMIT}" + lang
                for q in queries for lang in ("", "&lang=es", "&lang=en")]
    rng.shuffle(searches)
    # Every ordered choice of record types is its own URL: 65 x 3 languages x 200 limits, so
    # the pool does not wrap now that a no-op page costs no query.
    types = [""] + ["&types=" + ",".join(chosen) for size in range(1, len(SCHEMAS) + 1)
                    for chosen in itertools.permutations(SCHEMAS, size)]
    noops = [f"/api/v1/changes?since=c.{head}&lang={lang}&limit={limit}{t}"
             for lang in ("%2A", "en", "es") for limit in range(1, 201) for t in types]
    rng.shuffle(noops)
    return {"list": Pool(f"{scale}-list", pages), "filtered": Pool(f"{scale}-filtered", filtered),
            "search": Pool(f"{scale}-search", searches[:cap]),
            "changes": Pool(f"{scale}-changes", noops)}


def generate_vocab(name: str) -> Any:
    from schemas.vocabularies import VOCABULARIES

    return VOCABULARIES[name]


def _noop_sync_wire(path: Path, noop: str) -> tuple[int, int, int, int]:
    """A no-op sync as the SDK sends it (requests' default headers), and its 304 form, on a
    server with the default rate limit (its headers are part of every answer's size)."""
    server = start_ours("ours-wire", path, rate_limit=None)
    try:
        from htcontent._client import USER_AGENT

        sdk_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate",
                       "Accept": "application/json"}
        req, resp, status = wire_bytes(server.port, noop, sdk_headers)
        expect(status == 200, f"no-op sync answered {status}")
        etag = fetch(server.port, noop).headers["etag"]
        req304, resp304, status304 = wire_bytes(server.port, noop,
                                                {**sdk_headers, "If-None-Match": etag})
        return req, resp, req304 if status304 == 304 else -1, resp304
    finally:
        server.stop()


def section_scale(settings: Settings) -> None:
    print("\n== section 3: scale (median latency, wrk -t1 -c1)", flush=True)
    paths = {scale: database(scale) for scale in SCALES}
    results: dict[int, dict[str, Case]] = {}
    wire: dict[int, tuple[int, int, int, int]] = {}
    for scale in SCALES:
        path = paths[scale]
        head = head_seq(path)
        ids = published_ids(path)
        pools = _scale_pools(scale, path, ids, head, random.Random(scale))
        server = start_ours(f"ours-{scale}", path)
        try:
            noop = f"/api/v1/changes?since=c.{head}&lang=%2A&limit=200"
            fixed = {"list": LIST_PATH, "filtered": f"/api/v1/indicators?{FILTER}&limit=50",
                     "search": f"/api/v1/search?q={SEARCH_TERM}", "changes": noop}
            for name, url in fixed.items():
                answer = fetch(server.port, url)
                expect(answer.status == 200, f"{url} answered {answer.status} at {scale}")
                body = answer.json()
                if name == "changes":
                    expect(body["data"] == [] and not body["meta"]["has_more"],
                           f"the sync at c.{head} is not a no-op")
                else:
                    expect(len(body["data"]) > 0, f"{url} found nothing at {scale}")
                for sample in pools[name].paths[:3]:
                    got = fetch(server.port, sample)
                    expect(got.status == 200, f"{sample} answered {got.status}")
            if scale == SCALES[-1]:
                hits = fetch(server.port, fixed["search"]).json()["meta"]["total"]
                combos, queries = _varied_choices()
                NOTES.append(f"search `{SEARCH_TERM}` matches {hits:,} records at {scale:,}")
                NOTES.append(
                    f"varied rows: every URL has a full page after its cursor at every scale "
                    f"(list: 49 or 50; filtered: {VARIED_FILTER_LIMIT}, over {len(combos)} "
                    "combinations of category, setting and trafficking type; search: "
                    f"{VARIED_SEARCH_LIMIT}, over {len(queries):,} queries of the generated "
                    f"text's words, alone and in pairs, with at least {VARIED_SEARCH_LIMIT} "
                    "results at 1k; each without lang=, with lang=en and with lang=es)")
            wire[scale] = _noop_sync_wire(path, noop)
            cases = {}
            for name, url in fixed.items():
                cases[name] = Case(name, f"{scale:>6,} {name} (as deployed)", server, url, 1)
                cases[name + "-varied"] = Case(name + "-varied", f"{scale:>6,} {name} (varied)",
                                               server, url, 1, pool=pools[name])
            measure(list(cases.values()), settings, settings.scale_rounds,
                    settings.scale_duration, f"{scale:,} indicators")
            for pool in pools.values():
                if pool.wrapped:
                    NOTES.append(f"pool {pool.name} ({len(pool.paths):,} URLs) wrapped")
            results[scale] = cases
            sizes = ", ".join(f"{name} {cases[name + '-varied'].mean_bytes / 1024:.1f}"
                              for name in fixed)
            NOTES.append(f"average answer of the varied rows @{scale // 1000}k, KB: {sizes}")
        finally:
            server.stop()
    base = results[SCALES[0]]
    names = {"list": "list ?limit=50", "filtered": f"filtered list ?{FILTER}",
             "search": f"search ?q={SEARCH_TERM}", "changes": "no-op /changes"}
    for scale in SCALES[1:]:
        for key, label in names.items():
            for suffix, how in (("", ""), ("-varied", ", varied")):
                latency_row("3", f"{label}{how} @{scale // 1000}k vs 1k",
                            results[scale][key + suffix], base[key + suffix], 1.5)
    top = results[SCALES[-1]]
    for suffix, how in (("", ""), ("-varied", " varied")):
        case = top["search" + suffix]
        ROWS.append(Row("3", f"search{how} median @{SCALES[-1] // 1000}k", lat(case), "5 ms",
                        case.p50 / 5, "< 5 ms", case.p50 < 5 and not case.failures))
    for scale in SCALES:
        # The SDK's mirror keeps the ETag of its last empty page, so a no-op sync (from any
        # process) sends If-None-Match and gets a bodiless 304: that is the row. The first
        # no-op after a change is a 200 with the empty page: that is the note.
        req, resp, req304, resp304 = wire[scale]
        ok = req304 >= 0 and req304 + resp304 < 1024
        ROWS.append(Row("3", f"no-op sync on the wire @{scale // 1000}k (SDK: 304)",
                        f"{req304 + resp304:,} B (request {req304} + response {resp304})",
                        "1 KB", (req304 + resp304) / 1024, "< 1 KB", ok))
        NOTES.append(f"no-op sync @{scale // 1000}k without a remembered ETag (the first after "
                     f"a change): 200, {req + resp:,} B (request {req} + response {resp})")


# ---------------------------------------------------------------------------- section 4


def section_proxy(settings: Settings) -> None:
    print("\n== section 4: through the cluster's caching nginx (wrk -t1 -c8)", flush=True)
    if shutil.which("nginx") is None:
        ROWS.append(Row("4", "proxy list vs static nginx", "nginx not installed", "", None,
                        ">= 0.5x", False))
        return
    state = CACHE / "cluster"
    ports = (8100, 8101, 8102)
    if not all(port_free(p) for p in ports):
        ports = (free_port(), free_port(), free_port())
        NOTES.append(f"8100-8102 were busy: the cluster ran on {ports[0]} ({ports[1]}, "
                     f"{ports[2]})")
    env = {**_base_env(), "HTCONTENT_CLUSTER_DIR": str(state),
           "HTCONTENT_CLUSTER_PORT": str(ports[0]),
           "HTCONTENT_CLUSTER_API_PORTS": f"{ports[1]} {ports[2]}",
           # A database of its own, so a developer's `make cluster` data is left alone.
           "HTCONTENT_CLUSTER_DATABASE_URL":
               "postgresql://postgres@127.0.0.1:5432/htcontent_bench_cluster",
           "HTCONTENT_CLUSTER_REDIS_URL": "redis://127.0.0.1:6379/5",
           "HTCONTENT_RATE_LIMIT_ANON": RATE_LIMIT, "HTCONTENT_WORKERS": WORKERS,
           "HTCONTENT_THREADS": THREADS}
    script = str(ROOT / "deploy" / "cluster.sh")

    def cluster_stop() -> None:
        subprocess.run([script, "stop"], env=env, cwd=ROOT, timeout=120,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    if state.exists() and any(state.glob("*.pid")):
        cluster_stop()  # left over by an interrupted run of this script
    # A cold proxy cache and fresh logs each run (they are under bench/.cache/cluster).
    shutil.rmtree(state / "nginx-cache", ignore_errors=True)
    for old_log in state.glob("*.log"):
        old_log.unlink()
    PROCS.on_exit("cluster", cluster_stop)
    static_dir = RUN / "static-nginx"
    try:
        log = RUN / "cluster.log"
        print("  starting the cluster (deploy/cluster.sh start)", flush=True)
        with open(log, "wb") as out:
            started = subprocess.run([script, "start"], env=env, cwd=ROOT, timeout=300,
                                     stdout=out, stderr=subprocess.STDOUT)
        expect(started.returncode == 0, f"cluster.sh start failed; see {log}")
        proxy = Server("cluster-proxy", ports[0], None, log)
        answer = fetch(proxy.port, LIST_PATH)
        expect(answer.status == 200 and len(answer.json()["data"]) > 0,
               f"the proxy answered {answer.status}")
        # nginx serving the same bytes as a static file, same worker_processes and logging.
        shutil.rmtree(static_dir, ignore_errors=True)
        (static_dir / "www").mkdir(parents=True)
        (static_dir / "www" / "indicators.json").write_bytes(answer.body)
        static_port = free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = static_dir / "nginx.conf"
        conf.write_text(f"""{user}
worker_processes 2;
daemon off;
pid {static_dir}/nginx.pid;
error_log {static_dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {static_dir}/access.log;
    client_body_temp_path {static_dir}/body;
    proxy_temp_path {static_dir}/proxy;
    fastcgi_temp_path {static_dir}/fastcgi;
    uwsgi_temp_path {static_dir}/uwsgi;
    scgi_temp_path {static_dir}/scgi;
    server {{
        listen 127.0.0.1:{static_port};
        root {static_dir}/www;
        location = /api/v1/indicators {{
            default_type application/json;
            try_files /indicators.json =404;
        }}
    }}
}}
""")
        nginx = PROCS.start("static-nginx", ["nginx", "-c", str(conf), "-p", str(static_dir)],
                            _base_env(), static_dir / "stdout.log")
        static = Server("static-nginx", static_port, nginx, static_dir / "error.log")
        deadline = time.monotonic() + 15
        copy = None
        while time.monotonic() < deadline:
            try:
                copy = fetch(static_port, LIST_PATH)
                break
            except OSError:
                time.sleep(0.2)
        expect(copy is not None and copy.status == 200 and copy.body == answer.body,
               "the static nginx does not serve the same bytes")
        cached = fetch(proxy.port, LIST_PATH).headers.get("x-cache-status")
        cases = [Case("proxy", "cluster nginx list (anonymous)", proxy, LIST_PATH, 8),
                 Case("static", "static nginx, same bytes", static, LIST_PATH, 8)]
        measure(cases, settings, settings.rounds, settings.duration, "proxy")
        throughput_row("4", "list through caching nginx vs static nginx", cases[0], cases[1],
                       0.5)
        NOTES.append(f"proxy: {len(answer.body):,} B body (seed data on PostgreSQL), "
                     f"X-Cache-Status after warm-up: {cached}")
        PROCS.stop(nginx)
    finally:
        PROCS.done("cluster")


# ---------------------------------------------------------------------------- section 5


def section_sdk(settings: Settings, quick: bool) -> None:
    script = BENCH / "sdk_bench.py"
    print("\n== section 5: SDK", flush=True)
    if not script.exists():
        EXTRA_OUTPUT.append("Section 5 (SDK): bench/sdk_bench.py does not exist yet; skipped.")
        print("  bench/sdk_bench.py does not exist yet: skipped", flush=True)
        return
    # Its own interface (see its docstring): it serves the seed itself and synthesizes the
    # 100k-record snapshot from it; its work files go under bench/.cache and are removed.
    cmd = [str(BIN / "python"), str(script), "--records", "100000", "--workdir", str(CACHE)]
    if quick:
        cmd += ["--rounds", "2"]
    returncode, output = _run_script("sdk_bench", cmd, 1800)
    EXTRA_OUTPUT.append(f"Section 5 (SDK): `bench/sdk_bench.py` exited {returncode}:"
                        f"\n\n```\n{output.rstrip()}\n```")
    ROWS.append(Row("5", "bench/sdk_bench.py", f"exit {returncode}", "", None,
                    "see its output", None if returncode == 0 else False))


def _run_script(name: str, cmd: list[str], timeout: float) -> tuple[int | None, str]:
    """Run one of the bench's own scripts (its log in the run directory, printed after it);
    its exit status (None: stopped at the timeout) and output."""
    print(f"  {' '.join(cmd[1:])}", flush=True)
    log = RUN / f"{name}.log"
    log.unlink(missing_ok=True)
    process = PROCS.start(name, cmd, _base_env(), log)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        PROCS.stop(process)
    output = log.read_text(errors="replace")
    print(output, flush=True)
    return process.returncode, output


# ---------------------------------------------------------------------------- section 6


def section_webhooks(quick: bool) -> None:
    """``bench/webhooks_bench.py`` (its own servers, receiver and workers), as rows."""
    print("\n== section 6: webhooks", flush=True)
    cmd = [str(BIN / "python"), str(BENCH / "webhooks_bench.py"), "--workdir", str(CACHE),
           "--writes", "3" if quick else "5"]
    _, output = _run_script("webhooks_bench", cmd, 900)
    found = re.search(r"^BENCHJSON (.*)$", output, re.MULTILINE)
    expect(found is not None, "bench/webhooks_bench.py printed no result; see "
                              f"{RUN / 'webhooks_bench.log'}")
    result = json.loads(found.group(1))  # type: ignore[union-attr]
    setup = (f"{result['subscriptions']:,} subscriptions, {result['workers']} workers x "
             f"{result['threads']} threads on {result['database']}")
    ROWS.append(Row("6", f"webhook deliveries per second ({setup})",
                    f"{result['deliveries_per_s']:,.0f} /s", "", None, "", None))
    ROWS.append(Row("6", "write to delivery p50", f"{result['p50_s'] * 1000:,.0f} ms",
                    "1 s", result["p50_s"], "< 1 s", result["p50_s"] < 1.0))
    ROWS.append(Row("6", "write to delivery p99", f"{result['p99_s'] * 1000:,.0f} ms", "",
                    None, "", None))
    ROWS.append(Row("6", "events lost (all delivered)", f"{result['lost']}", "0", None, "0",
                    result["lost"] == 0))
    NOTES.append(f"webhooks: {setup}; {result['writes']} writes; {result['deliveries']:,} "
                 f"deliveries, {result['duplicates']} sent twice")


# ---------------------------------------------------------------------------------- main


def environment() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "?", ""
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return (f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}"
            f"{' (with uncommitted changes)' if dirty.strip() else ''}, {os.cpu_count()} cores, "
            f"{WORKERS} gunicorn worker(s) per server, {THREADS} thread(s) per worker of ours "
            "and the floor, load average "
            f"{os.getloadavg()[0]:.2f} at start, Python {platform.python_version()}, "
            f"{wrk_version.split(' Copyright')[0].strip()}")


def main() -> int:
    global WORKERS, THREADS  # noqa: PLW0603 - one setting for every server started
    global SCALES
    parser = argparse.ArgumentParser(description="Benchmark the API against its baselines.")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: fewer, shorter rounds")
    parser.add_argument("--only", action="append", default=[],
                        help="sections to run (1-6 or throughput, conditional, scale, proxy, "
                             "sdk, webhooks; comma-separated or repeated)")
    parser.add_argument("--markdown", type=Path, help="also write the results to this file")
    parser.add_argument("--scales", default=",".join(map(str, SCALES)),
                        help="indicator counts of section 3, the first is the reference "
                             "(default: %(default)s)")
    parser.add_argument("--workers", type=int, default=int(WORKERS),
                        help="gunicorn workers of every server (default %(default)s)")
    parser.add_argument("--threads", type=int, default=int(THREADS),
                        help="threads per worker that run Flask, in our app and the floor "
                             "(default %(default)s)")
    args = parser.parse_args()
    WORKERS = str(args.workers)
    THREADS = str(args.threads)
    wanted = set()
    for item in ",".join(args.only).split(","):
        item = item.strip().lower()
        if item:
            if SECTIONS.get(item, item) not in SECTIONS.values():
                parser.error(f"unknown section {item!r}")
            wanted.add(SECTIONS.get(item, item))
    sections = wanted or set(SECTIONS.values())
    SCALES = tuple(int(x) for x in args.scales.split(","))
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")
    settings = (Settings(rounds=3, duration=2, warmup=1, scale_rounds=2, scale_duration=2)
                if args.quick else
                Settings(rounds=5, duration=5, warmup=2, scale_rounds=3, scale_duration=4))
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / "report.lua").write_text(REPORT_LUA)
    (RUN / "rotate.lua").write_text(ROTATE_LUA)
    env_line = environment()
    print(f"bench: {env_line}", flush=True)
    print(f"bench: sections {', '.join(s for s in SECTIONS.values() if s in sections)}"
          f"{' (quick)' if args.quick else ''}; logs in {RUN.relative_to(ROOT)}", flush=True)
    started = time.perf_counter()
    failed: list[str] = []
    steps: list[tuple[str, Callable[[], None]]] = []
    if sections & {"throughput", "conditional"}:
        steps.append(("1-2", lambda: section_throughput(settings, sections)))
    if "scale" in sections:
        steps.append(("3", lambda: section_scale(settings)))
    if "proxy" in sections:
        steps.append(("4", lambda: section_proxy(settings)))
    if "sdk" in sections:
        steps.append(("5", lambda: section_sdk(settings, args.quick)))
    if "webhooks" in sections:
        steps.append(("6", lambda: section_webhooks(args.quick)))
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # report it, clean up, and go on with the next section
            failed.append(f"section {name} could not be measured: {exc}")
            print(f"bench: section {name} FAILED: {exc}", file=sys.stderr, flush=True)
            ROWS.append(Row(name, "section could not be measured", str(exc).splitlines()[0],
                            "", None, "", False))
    elapsed = time.perf_counter() - started
    mode = "quick" if args.quick else "full"
    settings_line = (f"{mode} run, {elapsed / 60:.1f} min: throughput {settings.rounds} rounds x "
                     f"{settings.duration:g}s (wrk -t1 -c8), scale {settings.scale_rounds} "
                     f"rounds x {settings.scale_duration:g}s (wrk -t1 -c1), warm-up "
                     f"{settings.warmup:g}s per case; medians of the rounds; a throughput "
                     "ratio is the median of its per-round ratios")
    print("\n" + table())
    for note in NOTES:
        print(f"note: {note}")
    for extra in EXTRA_OUTPUT:
        print(extra)
    print(f"bench: {settings_line}")
    if args.markdown:
        notes = "".join(f"- {note}\n" for note in NOTES)
        args.markdown.write_text(
            "# Benchmark results\n\n"
            f"{env_line}.\n\n{settings_line}. Produced by `make bench` (`bench/run.py`).\n\n"
            f"{table(markdown=True)}\n\n" + (f"Notes:\n\n{notes}\n" if notes else "")
            + "".join(f"{extra}\n\n" for extra in EXTRA_OUTPUT))
        print(f"bench: wrote {args.markdown}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
