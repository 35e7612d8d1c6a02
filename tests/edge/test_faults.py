"""Faults survived, nothing lost: workers killed mid-write, PostgreSQL stopped and restarted,
Redis gone. Every service here is a private, real process started for the test."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text

from api.storage import db
from api.storage.models import Record, RecordVersion
from tests.conftest import IN_CI, free_port, serving

pytestmark = pytest.mark.cluster


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _gunicorn_master(port: int) -> int:
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            environ = Path(cmdline).with_name("environ").read_bytes()
        except OSError:
            continue
        if f"HTCONTENT_BIND=127.0.0.1:{port}".encode() in environ and \
                b"gunicorn" in Path(cmdline).read_bytes():
            pid = int(Path(cmdline).parent.name)
            if _children(pid):
                return pid
    raise AssertionError("gunicorn master not found")


def test_killing_workers_during_idempotent_writes_loses_nothing(editor_app, tmp_path):
    """SIGKILL the workers again and again while clients write; clients retry with the same
    Idempotency-Key. Every acknowledged record is there exactly once afterwards."""
    url = editor_app.config["DATABASE_URL"]
    headers = editor_app.keys.editor
    acknowledged: list[str] = []
    with serving(url, tmp_path / "gunicorn.log", HTCONTENT_WORKERS="2") as base:
        master = _gunicorn_master(int(base.rsplit(":", 1)[1]))

        def writer(number: int) -> None:
            for i in range(12):
                record_id = f"fault-{number}-{i}"
                body = {"id": record_id, "verified_on": "2026-11-28",
                        "sources": [{"url": "https://example.org/f", "title": "Fault test"}],
                        "name": {"en": f"Line {record_id}"}, "organization": {"en": "Test"},
                        "purpose": "report_tip",
                        "channels": [{"kind": "voice", "value": "+15555550100"}]}
                key = str(uuid.uuid4())
                for _attempt in range(60):
                    try:
                        response = requests.post(f"{base}/api/v1/hotlines", json=body,
                                                 headers={**headers, "Idempotency-Key": key},
                                                 timeout=10)
                    except requests.RequestException:
                        time.sleep(0.1)
                        continue
                    if response.status_code == 201:
                        acknowledged.append(record_id)
                        break
                    assert response.status_code >= 500, response.text
                    time.sleep(0.1)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        kills = 0
        while any(thread.is_alive() for thread in threads) and kills < 8:
            time.sleep(0.3)
            for child in _children(master):
                os.kill(child, signal.SIGKILL)
                kills += 1
        for thread in threads:
            thread.join(timeout=120)
    assert kills >= 2
    assert len(acknowledged) == 36
    with editor_app.app_context():
        session = db.session()
        for record_id in acknowledged:
            assert session.get(Record, record_id) is not None, record_id
        versions = session.execute(
            select(RecordVersion.record_id, func.count()).where(
                RecordVersion.record_id.like("fault-%")).group_by(RecordVersion.record_id)).all()
        assert {rid: n for rid, n in versions} == {rid: 1 for rid in acknowledged}
        if session.get_bind().dialect.name == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"


@pytest.fixture
def private_redis(tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL)
    for _ in range(50):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                          text=True).stdout.strip() == "PONG":
            break
        time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0", process
    process.kill()
    process.wait()


def test_the_api_keeps_serving_when_redis_goes_away(seeded_url, tmp_path, private_redis):
    redis_url, redis = private_redis
    log = tmp_path / "server.log"
    with serving(seeded_url, log, REDIS_URL=redis_url, HTCONTENT_RATE_LIMIT_ANON="1000/minute",
                 HTCONTENT_WORKERS="1") as base:
        before = requests.get(f"{base}/api/v1/hotlines", timeout=5)
        assert before.status_code == 200 and before.headers["X-RateLimit-Limit"] == "1000"
        redis.kill()
        redis.wait()
        after = [requests.get(f"{base}/api/v1/hotlines", timeout=5) for _ in range(3)]
        assert [r.status_code for r in after] == [200, 200, 200]
        assert after[-1].headers.get("X-RateLimit-Limit") == "1000"  # limits per process now
    assert "unreachable" in log.read_text().lower()


@pytest.fixture
def private_postgres() -> Iterator[dict]:
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not binaries or shutil.which("su") is None:
        if IN_CI:
            pytest.fail("PostgreSQL server binaries are required in CI")
        pytest.skip("no PostgreSQL server binaries")
    bin_dir = binaries[-1]
    home = Path(tempfile.mkdtemp(prefix="htc-pg-"))  # outside pytest's private tmp tree:
    os.chmod(home, 0o755)  # the postgres user must reach it
    data = home / "pgdata"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    port = free_port()

    def as_postgres(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)],
                              capture_output=True, text=True, timeout=120)

    assert as_postgres(f"{bin_dir}/initdb", "-D", str(data), "-A", "trust",
                       "-U", "postgres").returncode == 0
    start = (f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"),
             "-o", f"'-p {port} -k {data} -c listen_addresses=127.0.0.1'", "start")
    stop = (f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-m", "fast", "stop")
    assert as_postgres(*start).returncode == 0
    yield {"url": f"postgresql://postgres@127.0.0.1:{port}/postgres",
           "start": lambda: as_postgres(*start), "stop": lambda: as_postgres(*stop)}
    as_postgres(*stop)
    shutil.rmtree(home, ignore_errors=True)


def test_postgres_outage_answers_503_fast_and_recovers(private_postgres, tmp_path):
    from api import create_app
    from seed.loader import load_seed
    from tests.conftest import SEED_DIR

    url = private_postgres["url"]
    db.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    app.extensions["db_engine"].dispose()
    with serving(url, tmp_path / "gunicorn.log", HTCONTENT_WORKERS="1") as base:
        assert requests.get(f"{base}/api/v1/hotlines", timeout=5).status_code == 200
        assert private_postgres["stop"]().returncode == 0
        for path in ("/api/v1/hotlines", "/api/v1/search?q=visa", "/readyz"):
            started = time.monotonic()
            response = requests.get(base + path, timeout=10)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Content-Type"] == "application/problem+json"
            assert time.monotonic() - started < 2.0
        write = requests.post(f"{base}/api/v1/hotlines", json={}, timeout=10,
                              headers={"Authorization": "Bearer htc_000000000000_" + "a" * 43})
        assert write.status_code == 503
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert private_postgres["start"]().returncode == 0
        deadline = time.monotonic() + 10
        while requests.get(f"{base}/readyz", timeout=5).status_code != 200:
            assert time.monotonic() < deadline, "no recovery without a restart"
            time.sleep(0.2)
        assert requests.get(f"{base}/api/v1/hotlines", timeout=5).status_code == 200


@pytest.fixture
def small_disk() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="htc-disk-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs",
                              str(directory)], capture_output=True, text=True)
    if mounted.returncode != 0:
        if IN_CI:
            pytest.fail(f"cannot mount a small tmpfs: {mounted.stderr}")
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield directory
    subprocess.run(["umount", "-l", str(directory)], check=False)
    shutil.rmtree(directory, ignore_errors=True)


def test_a_full_disk_refuses_writes_with_503_and_keeps_reads(small_disk, tmp_path):
    from api import create_app
    from api.web.auth import create_key
    from seed.loader import load_seed
    from tests.conftest import SEED_DIR

    url = f"sqlite:///{small_disk / 'htcontent.sqlite'}"
    db.upgrade(url)
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
        key = create_key(db.session(), "disk-editor", ["write"]).key
    app.extensions["db_engine"].dispose()
    body = {"id": "disk-line", "verified_on": "2026-11-28",
            "sources": [{"url": "https://example.org/d", "title": "Disk test"}],
            "name": {"en": "Disk line " + "x" * 150}, "organization": {"en": "Test"},
            "purpose": "report_tip", "channels": [{"kind": "voice", "value": "+15555550100"}],
            "notes": {"en": "n" * 1900, "es": "n" * 1900}}
    headers = {"Authorization": f"Bearer {key}"}
    with serving(url, tmp_path / "gunicorn.log", HTCONTENT_WORKERS="1") as base:
        filler = small_disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        refused = [requests.post(f"{base}/api/v1/hotlines", json={**body, "id": f"disk-{i}"},
                                 headers=headers, timeout=10) for i in range(5)]
        assert 503 in [r.status_code for r in refused], [r.status_code for r in refused]
        for response in refused:
            if response.status_code == 503:
                assert response.headers["Content-Type"] == "application/problem+json"
        assert requests.get(f"{base}/api/v1/hotlines/hsi-tip-line", timeout=5).status_code == 200
        assert requests.get(f"{base}/api/v1/search?q=visa", timeout=5).status_code == 200
        filler.unlink()
        again = requests.post(f"{base}/api/v1/hotlines", json={**body, "id": "disk-after"},
                              headers=headers, timeout=10)
        assert again.status_code == 201
