"""Webhook benchmark: deliveries per second, and the time from a write to its delivery, with
1,000 subscriptions.

Run by hand (``make bench`` runs it as section 6)::

    .venv/bin/python bench/webhooks_bench.py [--subscriptions 1000] [--writes 5]

What it does, all on loopback:

1. makes a fresh database (PostgreSQL at ``HTCONTENT_BENCH_PG`` (default
   ``postgresql://postgres@127.0.0.1:5432/postgres``), a database of its own, dropped at the
   end; ``--sqlite`` for a SQLite file instead), migrates and seeds it;
2. starts a receiver (uvicorn, one process: it answers 204 and notes when each delivery
   arrived and which change it tells of) and ``--subscriptions`` subscriptions to it, then the
   delivery workers as deployed (``flask --app api webhooks work``: two on PostgreSQL, one on
   SQLite, ``--threads`` each);
3. makes ``--writes`` writes (an indicator edited), ``--gap`` seconds apart, each told to every
   subscription, and waits until every event arrived.

It prints the deliveries per second (all events over the time from the first write to the last
arrival) and the time from each write's commit to each of its deliveries (p50, p99, max); the
target is a p50 under 1 s. It exits 1 if the target is missed or an event is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET_P50_S = 1.0
SECRET_KEY = "bench-only-secrets-key"

RECEIVER = '''
import json, time
ARRIVALS = []

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/stats":
        out = json.dumps(ARRIVALS).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})
        return
    event = json.loads(body)
    ARRIVALS.append((time.time(), event["data"].get("seq", 0),
                     dict(scope["headers"]).get(b"webhook-id", b"").decode()))
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def database(sqlite: bool, workdir: Path) -> tuple[str, Any]:
    """A fresh database URL and a function that removes it."""
    if sqlite:
        return f"sqlite:///{workdir / 'webhooks.sqlite'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(os.environ.get("HTCONTENT_BENCH_PG",
                                     "postgresql://postgres@127.0.0.1:5432/postgres"))
    server = server.set(drivername="postgresql+psycopg")
    name = f"htc_bench_webhooks_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=5)
    parser.add_argument("--gap", type=float, default=4.0, help="seconds between writes")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: 2 on PostgreSQL, 1 on SQLite)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workers_wanted = args.workers or (1 if args.sqlite else 2)
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="webhooks-bench-") as temp:
        workdir = Path(temp)
        url, drop = database(args.sqlite, workdir)
        env = {**os.environ, "DATABASE_URL": url, "HTCONTENT_SECRET_KEY": SECRET_KEY,
               "HTCONTENT_WEBHOOKS_ALLOW_PRIVATE": "1", "PYTHONPATH": str(ROOT)}
        processes: list[subprocess.Popen[bytes]] = []
        try:
            return run(args, workers_wanted, workdir, url, env, processes)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
            drop()


def run(args: argparse.Namespace, workers_wanted: int, workdir: Path, url: str,
        env: dict[str, str], processes: list[subprocess.Popen[bytes]]) -> int:
    os.environ.update({"DATABASE_URL": url, "HTCONTENT_SECRET_KEY": SECRET_KEY,
                       "HTCONTENT_WEBHOOKS_ALLOW_PRIVATE": "1"})
    sys.path.insert(0, str(ROOT))
    from api import create_app
    from api.services import delivery
    from api.storage import clock, db, publish, store
    from api.storage import webhooks as subscriptions
    from api.storage.models import Record
    from api.web.auth import create_key
    from schemas.records import load_content
    from seed.loader import load_seed

    print(f"  database: {url.split('@')[-1]}", flush=True)
    db.upgrade(url)
    app = create_app()
    with app.app_context():
        load_seed(db.session(), ROOT / "seed")
    (workdir / "receiver.py").write_text(RECEIVER)
    port = free_port()
    with open(workdir / "receiver.log", "ab") as log:
        processes.append(subprocess.Popen(
            [str(BIN / "uvicorn"), "receiver:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", "--no-access-log"], cwd=workdir, env=env,
            stdout=log, stderr=log))
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{base}/stats", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    with app.app_context():
        session = db.session()
        create_key(session, "bench", ["webhooks"])  # the subscriptions' owner
        box = delivery.secret_box(app)
        for n in range(args.subscriptions):
            subscriptions.create(session, box, owner="bench", url=f"{base}/hook/{n}",
                                 types=["indicator"], events=["record.updated"],
                                 description=None, now=clock.utcnow())
        session.commit()
    for n in range(workers_wanted):
        with open(workdir / f"worker-{n}.log", "ab") as log:
            processes.append(subprocess.Popen(
                [str(BIN / "flask"), "--app", "api", "webhooks", "work", "--threads",
                 str(args.threads)], cwd=ROOT, env=env, stdout=log, stderr=log))
    time.sleep(2.0)  # workers up, idle
    print(f"  {args.subscriptions:,} subscriptions, {workers_wanted} worker(s) x "
          f"{args.threads} threads; {args.writes} writes {args.gap:g} s apart", flush=True)
    written: dict[int, float] = {}
    with app.app_context():
        session = db.session()
        record = session.get(Record, "isolated-from-family")
        assert record is not None
        for n in range(args.writes):
            content = load_content("indicator", {
                **record.content, "guidance": {"en": f"Bench write {n} at {time.time()}."}})
            publish.save(session, "indicator", content, actor="bench", action="patch")
            session.commit()
            written[store.state(session)[0]] = time.time()
            time.sleep(args.gap)
    expected = args.subscriptions * args.writes
    deadline = time.time() + 120
    arrivals: list[list[Any]] = []
    while time.time() < deadline:
        arrivals = requests.get(f"{base}/stats", timeout=10).json()
        if len({(seq, hook) for _, seq, hook in arrivals}) >= expected:
            break
        time.sleep(0.5)
    unique = {hook: (at, seq) for at, seq, hook in arrivals}
    if len(unique) < expected:
        for log in sorted(workdir.glob("*.log")):
            print(f"  --- {log.name} (last lines)\n" + "\n".join(
                log.read_text(errors="replace").splitlines()[-15:]), flush=True)
    if not unique:
        print("  nothing was delivered: FAIL", flush=True)
        return 1
    latencies = [at - written[seq] for at, seq in unique.values() if seq in written]
    lost = expected - len(latencies)
    first_write = min(written.values())
    span = max(at for at, _ in unique.values()) - first_write if unique else float("inf")
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    result = {"subscriptions": args.subscriptions, "writes": args.writes,
              "workers": workers_wanted, "threads": args.threads,
              "database": "sqlite" if args.sqlite else "postgresql",
              "deliveries": len(latencies), "duplicates": len(arrivals) - len(unique),
              "lost": lost, "per_write_span_s": round(max(latencies), 3),
              "deliveries_per_s": round(statistics.median(_rates(unique, written)), 1),
              "p50_s": round(p50, 3), "p99_s": round(p99, 3),
              "overall_s": round(span, 3)}
    print("  " + json.dumps(result), flush=True)
    print(f"BENCHJSON {json.dumps(result)}", flush=True)
    ok = lost == 0 and p50 < TARGET_P50_S
    print(f"  write to delivery p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
          f"(target p50 < {TARGET_P50_S:g} s): {'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


def _rates(unique: dict[str, tuple[float, int]], written: dict[int, float]) -> list[float]:
    """Per write: its deliveries over the time from its commit to its last delivery."""
    last: dict[int, float] = {}
    count: dict[int, int] = {}
    for at, seq in unique.values():
        last[seq] = max(at, last.get(seq, 0.0))
        count[seq] = count.get(seq, 0) + 1
    return [count[seq] / max(last[seq] - written[seq], 1e-9) for seq in written if seq in last]


if __name__ == "__main__":
    sys.exit(main())
