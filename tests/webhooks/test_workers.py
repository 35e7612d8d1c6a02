"""Delivery workers as processes (``flask --app api webhooks work``): a worker killed with
SIGKILL mid-delivery loses nothing (the event is sent again with the same ``webhook-id``), a
receiver down for a minute gets every event in order once it is back, and two workers on
PostgreSQL never send one event at the same time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import IN_CI, ROOT, free_port, is_postgres
from tests.webhooks.conftest import hooks_app, subscribe
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import guidance

PG_SERVER = os.environ.get("HTCONTENT_CLUSTER_SERVER",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


def start_worker(database_url: str, log: Path, threads: int = 4,
                 *more: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url,
           "HTCONTENT_SECRET_KEY": "test-only-secrets-key",
           "HTCONTENT_WEBHOOKS_ALLOW_PRIVATE": "1", "HTCONTENT_WEBHOOKS_RETRY_SCHEDULE": "1,1,1",
           "HTCONTENT_WEBHOOKS_POLL_MS": "50", "HTCONTENT_WEBHOOKS_TIMEOUT": "5"}
    flask = str(Path(sys.executable).parent / "flask")
    with open(log, "ab") as out:  # the worker keeps its own copy of the descriptor
        return subprocess.Popen([flask, "--app", "api", "webhooks", "work", "--threads",
                                 str(threads), *more], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=out)


def finish(worker: subprocess.Popen[bytes]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()


def ordered_unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def test_a_worker_killed_mid_delivery_loses_nothing(databases, receiver, tmp_path):
    app = hooks_app(databases.new())
    receiver.answer = lambda got: (204, 0.6)  # each delivery takes a while
    made = subscribe(app, app.keys.partner, receiver.url)
    seqs = [guidance(app, n) for n in range(4)]
    url = str(app.extensions["db_engine"].url.render_as_string(hide_password=False))
    first = start_worker(url, tmp_path / "worker-1.log")
    try:
        deadline = time.monotonic() + 30
        while len(receiver.arrivals) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(receiver.arrivals) >= 2, (tmp_path / "worker-1.log").read_text()
        in_flight = receiver.arrivals[-1].id
        first.send_signal(signal.SIGKILL)  # mid-delivery: no goodbye, no commit
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    second = start_worker(url, tmp_path / "worker-2.log")
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            done = ordered_unique([got.id for got in receiver.succeeded()])
            if len(done) >= 4:
                break
            time.sleep(0.05)
    finally:
        finish(second)
    expected = [f"msg_{made['id']}_{seq}" for seq in _seqs(app, made, len(seqs))]
    arrived = [got.id for got in receiver.arrivals]
    assert ordered_unique(arrived) == expected  # every event, in order
    assert arrived.count(in_flight) >= 2  # sent again, with the same webhook-id
    bodies = {got.id: got.body for got in receiver.arrivals}
    assert all(got.body == bodies[got.id] for got in receiver.arrivals)  # and the same body
    app.extensions["db_engine"].dispose()


def _seqs(app, made, count: int) -> list[int]:
    """The change numbers of the last ``count`` changes (the edits made in the test)."""
    from api.storage import db
    from api.storage.models import Change

    with app.app_context():
        from sqlalchemy import select
        return list(reversed(db.session().scalars(
            select(Change.seq).order_by(Change.seq.desc()).limit(count)).all()))


@pytest.mark.skipif(is_postgres(), reason="a minute long: run once, in the SQLite suite")
def test_a_receiver_down_for_a_minute_then_back_gets_every_event_in_order(
        databases, receiver, tmp_path):
    app = hooks_app(databases.new())
    made = subscribe(app, app.keys.partner, receiver.url)
    receiver.stop()
    url = str(app.extensions["db_engine"].url.render_as_string(hide_password=False))
    worker = start_worker(url, tmp_path / "worker.log")
    try:
        for n in range(3):
            guidance(app, n)
        time.sleep(60)
        failures = app.test_client().get(made["deliveries"] + "?limit=200",
                                         headers=app.keys.partner).get_json()
        assert failures["meta"]["total"] >= 20  # tried about every second
        assert {d["error"] for d in failures["data"]} == {"connection refused"}
        assert {d["event_id"] for d in failures["data"]} == {failures["data"][0]["event_id"]}
        receiver.start()
        received = receiver.wait_for(3, timeout=20)
    finally:
        finish(worker)
    types = [json.loads(got.body)["data"]["version"] for got in received]
    assert types == sorted(types) and len(set(types)) == 3
    assert [got.id for got in received] == [
        f"msg_{made['id']}_{seq}" for seq in _seqs(app, made, 3)]
    app.extensions["db_engine"].dispose()


def _succeeded(port: int) -> float:
    """``htcontent_webhook_deliveries_total{outcome="succeeded"}`` of a worker's /metrics."""
    import requests

    text_ = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text_.splitlines()
               if line.startswith('htcontent_webhook_deliveries_total{outcome="succeeded"}'))


@pytest.fixture
def postgres_url():
    """A database of its own on the PostgreSQL server (row locks are PostgreSQL's)."""
    name = f"htc_workers_{uuid.uuid4().hex[:10]}"
    server = make_url(PG_SERVER).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any reason PostgreSQL is not there
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.skipif(is_postgres(), reason="uses the PostgreSQL server itself: run once")
def test_two_workers_on_postgresql_never_send_one_event_at_the_same_time(
        postgres_url, tmp_path):
    app = hooks_app(postgres_url)
    receiver = Receiver(answer=lambda got: (204, 0.02)).start()
    try:
        hooks = [subscribe(app, app.keys.partner, f"{receiver.url}/{n}") for n in range(20)]
        for n in range(6):
            guidance(app, n)
        ports = [free_port() for _ in range(2)]
        workers = [start_worker(postgres_url, tmp_path / f"worker-{n}.log", 4,
                                "--metrics-port", str(ports[n])) for n in range(2)]
        try:
            received = receiver.wait_for(120, timeout=60)
            time.sleep(0.3)
            counted = sum(_succeeded(port) for port in ports)
        finally:
            for worker in workers:
                finish(worker)
        time.sleep(0.2)
        received = receiver.succeeded()
        seqs = _seqs(app, hooks[0], 6)
        with app.app_context():
            from api.storage import db
            failed = db.session().execute(text(
                "SELECT event_id, error, status_code FROM webhook_deliveries"
                " WHERE outcome != 'succeeded'")).all()
        for n, hook in enumerate(hooks):
            mine = [got.id for got in received if got.path == f"/hook/{n}"]
            expected = [f"msg_{hook['id']}_{seq}" for seq in seqs]
            assert mine == expected, failed  # once each, in order
        spans: dict[str, list[tuple[float, float]]] = {}
        for got in receiver.arrivals:
            spans.setdefault(got.id, []).append((got.started, got.finished))
        assert all(len(found) == 1 for found in spans.values())
        logs = [(tmp_path / f"worker-{n}.log").read_text() for n in range(2)]
        assert all("delivering webhooks" in log for log in logs), logs
        assert counted == 120  # each worker's /metrics counts what it sent
    finally:
        receiver.stop()
        app.extensions["db_engine"].dispose()
