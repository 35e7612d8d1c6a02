"""SDK benchmark: offline use of a large snapshot, and the cost of a no-op sync.

Run by hand::

    .venv/bin/python bench/sdk_bench.py --records 100000

What it does:

1. serves the seeded app with gunicorn on a loopback port (8851, or the next free one up to
   8859) on a fresh SQLite database in a temporary directory (``flask --app api db upgrade``,
   ``flask --app api seed --quiet``), exports the seed through the SDK, counts the HTTP
   requests of a no-op ``sync()`` (on the wire and as reported), and stops the server;
2. synthesizes an export of ``--records`` records in the exact export format (the seed
   records, plus copies of its indicators with new ids ``bench-ind-000001``..., in the API's
   type-then-id order, ``meta.sync_token`` kept) and writes it as ``Client.export`` does
   (the JSON and its SQLite index);
3. with the API unreachable (the stopped server's port), measures after a warm-up, over
   ``--rounds`` rounds (medians): a new ``Client(snapshot_path=...)`` to its first
   ``indicators.get(id)``; to the first record of a filtered ``list``; a full iteration; the
   same through the old approach (``json.loads`` of the whole file, then a scan); a plain
   export without an index (indexed once on first use); a sync mirror used as the snapshot;
   and a first ``get`` in a fresh Python process (interpreter start and imports included).

The target is load-to-first-get under 1 s; the script prints PASS or FAIL against it and
exits 1 on FAIL. Everything it writes goes to one temporary directory (``--workdir`` to choose
its parent, e.g. ``bench/.cache``; it is removed at the end, files ~2.5 GB at 100k records
counted together), and it stops only the server it started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORTS = range(8851, 8860)
TARGET_S = 1.0
FILTER = {"setting": "traffic_stop"}

sys.path.insert(0, str(ROOT / "sdk"))
from htcontent import Client, Mirror  # noqa: E402
from htcontent._client import _shown  # noqa: E402
from htcontent._records import Indicator  # noqa: E402
from htcontent._snapshot import _matches, index_path, write_snapshot  # noqa: E402


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@contextlib.contextmanager
def served_app(workdir: Path) -> Iterator[str]:
    """The seeded app on a fresh SQLite database, served by gunicorn on a loopback port."""
    database = workdir / "app.sqlite"
    metrics = workdir / "metrics"
    metrics.mkdir()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "FLASK_APP": "api",
           "HTCONTENT_BIND": f"127.0.0.1:{port}", "PROMETHEUS_MULTIPROC_DIR": str(metrics),
           "HTCONTENT_RATE_LIMIT_ANON": "100000/minute",
           "HTCONTENT_RATE_LIMIT_KEY": "100000/minute"}
    flask = str(BIN / "flask")
    say(f"- migrating and seeding {database}")
    subprocess.run([flask, "--app", "api", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([flask, "--app", "api", "seed", "--quiet"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    log = (workdir / "gunicorn.log").open("ab")
    say(f"- starting gunicorn on 127.0.0.1:{port}")
    process = subprocess.Popen([str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or slow to first answer
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()  # only the server this script started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        say("- gunicorn stopped")


class Counting(requests.Session):
    """Counts the HTTP requests actually sent."""

    sent = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent += 1
        return super().request(*args, **kwargs)


def synthesize(seed: dict[str, Any], records: int) -> dict[str, Any]:
    """An export of ``records`` records: the seed's, then copies of its indicators."""
    data = list(seed["data"])
    indicators = [d for d in data if d["type"] == "indicator"]
    extra = max(0, records - len(data))
    for number in range(1, extra + 1):
        copy = json.loads(json.dumps(indicators[(number - 1) % len(indicators)]))
        copy["id"] = f"bench-ind-{number:06d}"
        copy["statement"]["en"] = f"{copy['statement']['en']} (#{number})"
        data.append(copy)
    data.sort(key=lambda d: (d["type"], d["id"]))  # the API's order: by type, then id
    return {"data": data, "meta": {**seed["meta"], "count": len(data)}}


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def rounds(label: str, function: Callable[[], Any], count: int) -> tuple[float, Any]:
    """The median time of ``count`` rounds after one warm-up."""
    say(f"- {label}: warm-up + {count} rounds")
    _, result = timed(function)
    times = []
    for _ in range(count):
        elapsed, result = timed(function)
        times.append(elapsed)
    return statistics.median(times), result


def old_records(path: Path) -> list[dict[str, Any]]:
    """What the SDK did before the index: parse the whole export."""
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["data"]
    return records


def old_get(path: Path, record_id: str) -> Indicator:
    for data in old_records(path):
        if data["id"] == record_id and data.get("type") == "indicator":
            return Indicator.from_dict(_shown(data, "en"))
    raise LookupError(record_id)


def old_list(path: Path, lang: str, filters: dict[str, Any]) -> Iterator[Indicator]:
    for data in old_records(path):
        if data.get("type") != "indicator":
            continue
        if _matches(data, filters):  # the SDK's own filter rule, as the old scan applied it
            yield Indicator.from_dict(_shown(data, lang))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="parent of the temporary directory (default: the system's)")
    args = parser.parse_args()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    target_id = f"bench-ind-{max(1, (args.records - 100) // 2):06d}"

    with tempfile.TemporaryDirectory(prefix="htc-sdk-bench-", dir=args.workdir) as temporary:
        workdir = Path(temporary)
        snapshot = workdir / f"snapshot-{args.records}.json"
        with served_app(workdir) as base:
            unreachable = base  # once the server is stopped
            seed_path = workdir / "seed-export.json"
            with Client(base) as client:
                count = client.export(seed_path)
            say(f"- exported the seed: {count} records")
            mirror = workdir / "partner.sqlite"
            with Client(base) as client:
                first_sync = client.sync(mirror)
            session = Counting()
            with Client(base, session=session) as client:
                no_op = client.sync(mirror)
            sync_line = (f"no-op sync: {no_op.requests} request(s) reported, {session.sent} "
                         f"sent on the wire (first sync: {first_sync.requests}, "
                         f"{first_sync.upserted} upserted)")

        seed = json.loads(seed_path.read_text(encoding="utf-8"))
        say(f"- synthesizing {args.records} records")
        body = synthesize(seed, args.records)
        say(f"- writing {snapshot.name} and its index (as Client.export does)")
        write_seconds, _ = timed(lambda: write_snapshot(snapshot, body))
        legacy = workdir / f"legacy-{args.records}.json"
        shutil.copyfile(snapshot, legacy)
        index_path(legacy).unlink(missing_ok=True)
        say("- writing the same records to a sync mirror")
        big_mirror = workdir / f"mirror-{args.records}.sqlite"
        big_mirror.unlink(missing_ok=True)
        synced = Mirror(big_mirror)
        synced.apply([{"op": "upsert", "id": d["id"], "type": d["type"],
                       "version": d["version"], "record": d} for d in body["data"]],
                     body["meta"]["sync_token"])
        synced.close()
        total_indicators = sum(1 for d in body["data"] if d["type"] == "indicator")
        body.clear()  # free the memory before measuring
        size_mb = snapshot.stat().st_size / 1e6
        index_mb = index_path(snapshot).stat().st_size / 1e6

        def new_client(path: Path = snapshot) -> Client:
            return Client(unreachable, snapshot_path=path, max_retries=0, timeout=2)

        def new_get(path: Path = snapshot) -> Any:
            with new_client(path) as client:
                record = client.indicators.get(target_id)
                assert client.last_response_source == "snapshot"
                return record

        def new_first() -> Any:
            with new_client() as client:
                return next(iter(client.indicators.list(lang="es", **FILTER)))

        def new_all() -> int:
            with new_client() as client:
                return sum(1 for _ in client.indicators.list())

        def new_filtered() -> int:
            with new_client() as client:
                return sum(1 for _ in client.indicators.list(lang="es", **FILTER))

        results: dict[str, float] = {}
        results["get"], got = rounds("new: load to first get", new_get, args.rounds)
        results["first"], first = rounds("new: first filtered item", new_first, args.rounds)
        results["filtered"], matched = rounds("new: whole filtered list", new_filtered,
                                              args.rounds)
        results["all"], seen = rounds("new: every indicator", new_all, args.rounds)
        results["mirror"], from_mirror = rounds("mirror as snapshot: first get",
                                                lambda: new_get(big_mirror), args.rounds)
        old_rounds = max(1, min(args.rounds, 3))
        results["old_get"], old_got = rounds("old: load to first get",
                                             lambda: old_get(snapshot, target_id), old_rounds)
        results["old_first"], old_first = rounds(
            "old: first filtered item",
            lambda: next(old_list(snapshot, "es", FILTER)), old_rounds)
        results["old_all"], old_seen = rounds(
            "old: every indicator", lambda: sum(1 for _ in old_list(snapshot, "en", {})),
            old_rounds)
        assert got == old_got == from_mirror and got.raw == old_got.raw
        assert first == old_first and seen == old_seen == total_indicators
        say("- plain export without an index: first use (indexes it), then a new client")
        index_path(legacy).unlink(missing_ok=True)
        legacy_first, _ = timed(lambda: new_get(legacy))
        legacy_then, _ = timed(lambda: new_get(legacy))

        say("- fresh process: interpreter start, imports, client, first get")
        code = ("import time; started = time.perf_counter()\n"
                "from htcontent import Client\n"
                f"client = Client({unreachable!r}, snapshot_path={str(snapshot)!r}, "
                "max_retries=0, timeout=2)\n"
                f"client.indicators.get({target_id!r})\n"
                "print(time.perf_counter() - started)")
        in_process, wall = [], []
        for _ in range(max(3, args.rounds)):
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                 text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "sdk")})
            wall.append(time.perf_counter() - started)
            in_process.append(float(out.stdout))

    def ratio(old: float, new: float) -> str:
        return f"{old / new:,.0f}x faster" if new else "-"

    print(f"\nSDK offline snapshot: {args.records:,} records ({total_indicators:,} indicators), "
          f"{size_mb:,.0f} MB JSON + {index_mb:,.0f} MB index; "
          f"medians of {args.rounds} rounds (old: {old_rounds}) after a warm-up, warm OS cache")
    print(f"  writing the export + index (Client.export's disk part): {write_seconds:8.3f} s")
    print(f"  load to first get({target_id}):   new {results['get']:8.4f} s   "
          f"old {results['old_get']:8.3f} s   {ratio(results['old_get'], results['get'])}")
    print(f"  first item of list({FILTER}):  new {results['first']:8.4f} s   "
          f"old {results['old_first']:8.3f} s   "
          f"{ratio(results['old_first'], results['first'])}")
    print(f"  every indicator ({seen:,}):           new {results['all']:8.3f} s   "
          f"old {results['old_all']:8.3f} s   {ratio(results['old_all'], results['all'])}")
    print(f"  whole filtered list ({matched:,} records): new {results['filtered']:8.3f} s")
    print(f"  sync mirror as snapshot, first get:    new {results['mirror']:8.4f} s")
    print(f"  plain export, no index: first get {legacy_first:.3f} s (indexes it once), "
          f"next client {legacy_then:.4f} s")
    print(f"  fresh process to first get: {statistics.median(in_process):.3f} s after start, "
          f"{statistics.median(wall):.3f} s wall incl. interpreter start")
    print(f"  {sync_line}")
    passed = results["get"] < TARGET_S
    print(f"{'PASS' if passed else 'FAIL'}: load to first get {results['get']:.4f} s "
          f"(target < {TARGET_S} s)")
    if no_op.requests != 1 or session.sent != 1:
        print("FAIL: a no-op sync should be exactly one request")
        passed = False
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
