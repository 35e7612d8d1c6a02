"""`make cluster` as one system: two API instances (two workers each) on PostgreSQL and Redis
behind a caching nginx, all real processes on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import IN_CI, ROOT, free_port

pytestmark = pytest.mark.cluster
SERVER = os.environ.get("HTCONTENT_CLUSTER_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    if shutil.which("nginx") is None:
        if IN_CI:
            pytest.fail("nginx is required in CI (.ci/run installs it)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    name = f"htc_cluster_{uuid.uuid4().hex[:10]}"
    database = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    state = tmp_path_factory.mktemp("cluster")
    ports = [free_port() for _ in range(3)]
    env = {**os.environ, "HTCONTENT_CLUSTER_DIR": str(state),
           "HTCONTENT_CLUSTER_DATABASE_URL": database,
           "HTCONTENT_CLUSTER_REDIS_URL": "redis://127.0.0.1:6379/0",
           "HTCONTENT_CLUSTER_PORT": str(ports[0]),
           "HTCONTENT_CLUSTER_API_PORTS": f"{ports[1]} {ports[2]}",
           "HTCONTENT_CACHE_MAX_AGE": "2", "HTCONTENT_RATE_LIMIT_ANON": "100000/minute",
           "HTCONTENT_RATE_LIMIT_KEY": "40/minute",
           # its webhook workers may send to a receiver on loopback, retrying each second
           "HTCONTENT_WEBHOOKS_ALLOW_PRIVATE": "1", "HTCONTENT_WEBHOOKS_RETRY_SCHEDULE": "1,1,1",
           "HTCONTENT_WEBHOOKS_POLL_MS": "100"}
    started = subprocess.run([str(ROOT / "deploy" / "cluster.sh"), "start"], env=env,
                             capture_output=True, text=True, timeout=180)
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        from api import create_app
        from api.storage import db
        from api.web.auth import create_key

        app = create_app({"DATABASE_URL": database})
        with app.app_context():
            suffix = uuid.uuid4().hex[:6]
            keys = {scope: create_key(db.session(), f"{scope}-{suffix}", scopes).key
                    for scope, scopes in {"editor": ["write", "read:restricted"],
                                          "reader": ["read:restricted"],
                                          "approver": ["approve", "read:restricted"],
                                          "hooks": ["webhooks"],
                                          "limited": []}.items()}
        app.extensions["db_engine"].dispose()
        yield {"proxy": f"http://127.0.0.1:{ports[0]}",
               "a": f"http://127.0.0.1:{ports[1]}", "b": f"http://127.0.0.1:{ports[2]}",
               "keys": {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()},
               "state": Path(state)}
    finally:
        subprocess.run([str(ROOT / "deploy" / "cluster.sh"), "stop"], env=env, timeout=120)
        admin = create_engine(make_url(SERVER).set(drivername="postgresql+psycopg"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


NEW = {"id": "cluster-line", "verified_on": "2026-11-28",
       "sources": [{"url": "https://example.org/c", "title": "Cluster test"}],
       "name": {"en": "Cluster line"}, "organization": {"en": "Test"}, "purpose": "report_tip",
       "channels": [{"kind": "voice", "value": "+15555550100"}]}


def test_a_write_through_one_instance_is_read_through_the_other_at_once(cluster):
    editor = cluster["keys"]["editor"]
    created = requests.post(f"{cluster['a']}/api/v1/hotlines", json=NEW, headers=editor,
                            timeout=10)
    assert created.status_code == 201
    other = requests.get(f"{cluster['b']}/api/v1/hotlines/cluster-line", timeout=10)
    assert other.status_code == 200 and other.json()["data"]["version"] == 1
    patched = requests.patch(f"{cluster['b']}/api/v1/hotlines/cluster-line",
                             json={"notes": {"en": "Via B."}},
                             headers={**editor, "If-Match": created.headers["ETag"]}, timeout=10)
    assert patched.status_code == 200
    assert requests.get(f"{cluster['a']}/api/v1/hotlines/cluster-line",
                        timeout=10).json()["data"]["notes"] == "Via B."


def test_a_retired_record_leaves_both_instances_and_the_proxy_within_max_age(cluster):
    url = "/api/v1/hotlines/eeoc"
    first = requests.get(cluster["proxy"] + url, timeout=10)
    cached = requests.get(cluster["proxy"] + url, timeout=10)
    assert first.status_code == cached.status_code == 200
    assert cached.headers["X-Cache-Status"] == "HIT"
    editor = cluster["keys"]["editor"]
    etag = requests.get(cluster["a"] + url, headers=editor, timeout=10).headers["ETag"]
    proposed = requests.delete(cluster["a"] + url, headers={**editor, "If-Match": etag},
                               timeout=10)
    assert proposed.status_code == 202  # a hotline off the screens: a second person approves
    assert requests.get(cluster["b"] + url, timeout=10).status_code == 200
    approved = requests.post(f"{cluster['b']}/api/v1/proposals/{proposed.json()['data']['id']}"
                             "/approve", headers=cluster["keys"]["approver"], timeout=10)
    assert approved.status_code == 200, approved.text
    retired_at = time.monotonic()
    assert requests.get(cluster["a"] + url, timeout=10).status_code == 410
    assert requests.get(cluster["b"] + url, timeout=10).status_code == 410
    while requests.get(cluster["proxy"] + url, timeout=10).status_code == 200:
        assert time.monotonic() - retired_at < 2 + 1, "the proxy kept it past max-age"
        time.sleep(0.2)
    assert requests.get(cluster["proxy"] + url, timeout=10).status_code == 410


def test_rate_limits_are_shared_by_the_instances(cluster):
    limited = cluster["keys"]["limited"]
    statuses = [requests.get(f"{cluster[side]}/api/v1/vocabularies", headers=limited,
                             timeout=10).status_code
                for side in ["a", "b"] * 21]
    assert statuses.count(200) == 40 and statuses[-2:] == [429, 429]


def test_keyed_responses_never_reach_anonymous_callers_from_the_cache(cluster):
    restricted = "/api/v1/hotlines/hstu-operational-line"
    keyed = requests.get(cluster["proxy"] + restricted, headers=cluster["keys"]["reader"],
                         timeout=10)
    assert keyed.status_code == 200 and keyed.headers["X-Cache-Status"] == "BYPASS"
    assert keyed.headers["Cache-Control"] == "private, no-store"
    for _ in range(2):
        assert requests.get(cluster["proxy"] + restricted, timeout=10).status_code == 404
    listing = "/api/v1/hotlines?limit=200"
    anonymous = [requests.get(cluster["proxy"] + listing, timeout=10) for _ in range(2)]
    assert anonymous[1].headers["X-Cache-Status"] == "HIT"
    agency = requests.get(cluster["proxy"] + listing, headers=cluster["keys"]["reader"],
                          timeout=10)
    ids = {r["id"] for r in agency.json()["data"]}
    assert "hstu-operational-line" in ids and agency.headers["X-Cache-Status"] == "BYPASS"
    again = requests.get(cluster["proxy"] + listing, timeout=10).json()
    assert "hstu-operational-line" not in {r["id"] for r in again["data"]}


def test_the_clusters_two_webhook_workers_deliver_each_event_once_in_order(cluster):
    """A subscription made through the proxy is served by the cluster's two workers (on
    PostgreSQL row locks): every write through either instance arrives once, in order, signed."""
    import json

    import standardwebhooks

    from tests.webhooks.receiver import Receiver

    receiver = Receiver().start()
    try:
        made = requests.post(f"{cluster['proxy']}/api/v1/webhooks", timeout=10,
                             headers=cluster["keys"]["hooks"],
                             json={"url": receiver.url, "types": ["indicator"]})
        assert made.status_code == 201, made.text
        secret = made.json()["data"]["secret"]
        editor = cluster["keys"]["editor"]
        for n, instance in enumerate(("a", "b", "a", "b")):
            answer = requests.patch(
                f"{cluster[instance]}/api/v1/indicators/isolated-from-family", timeout=10,
                json={"guidance": {"en": f"Cluster edit {n}."}},
                headers={**editor, "If-Match": "*"})
            assert answer.status_code == 200, answer.text
        received = receiver.wait_for(4, timeout=30)
        time.sleep(1.0)  # nothing more arrives
        assert len(receiver.requests) == 4
        events = [json.loads(got.body) for got in received]
        assert [e["data"]["record"]["guidance"]["en"] for e in events] == [
            f"Cluster edit {n}." for n in range(4)]  # every language: lang=*
        seqs = [e["data"]["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        for got in received:
            assert standardwebhooks.Webhook(secret).verify(got.body, got.headers)
        workers = sorted(cluster["state"].glob("webhooks-*.log"))
        assert len(workers) == 2 and all(
            "delivering webhooks" in log.read_text() for log in workers)
    finally:
        receiver.stop()
