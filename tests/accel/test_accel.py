"""The accelerator switch (``HTCONTENT_ACCEL``) and its bounded cache."""

from __future__ import annotations

import os
import subprocess
import sys

from api import accel
from api.accel import SizedCache
from tests.conftest import ROOT


def test_the_least_recently_used_go_first_within_the_bound(monkeypatch):
    monkeypatch.setattr(accel, "ENABLED", True)  # the structure itself, in either mode
    kept: SizedCache[str, bytes] = SizedCache(10, lambda _key, value: len(value))
    kept.put("a", b"1234")
    kept.put("b", b"1234")
    assert kept.get("a") == b"1234"  # a is now the most recently used
    kept.put("c", b"1234")  # 12 > 10: b goes
    assert kept.get("b") is None and kept.get("a") and kept.get("c")
    assert kept.cost == 8 and len(kept) == 2
    kept.put("huge", b"x" * 11)  # more than the bound on its own: not kept
    assert kept.get("huge") is None and kept.get("a") and kept.get("c")
    monkeypatch.setattr(accel, "ENABLED", False)
    kept.put("d", b"1")
    assert kept.get("d") is None  # off: nothing new is kept


PROBE = """
import json
from api import accel, create_app
from api.accel import memo
from api.config import TestConfig
from api.storage import db
url = {url!r}
db.upgrade(url)
app = create_app(TestConfig(url))
client = app.test_client()
first = client.get('/api/v1/indicators?limit=5&sort=updated_at')
second = client.get('/api/v1/indicators?limit=5&sort=updated_at')
print(json.dumps({{"enabled": accel.enabled(), "cache": "response_cache" in app.extensions,
                   "memo": len(memo.MEMO._values), "same": first.data == second.data,
                   "status": first.status_code}}))
"""


def _probe(tmp_path, value: str) -> dict:
    import json

    url = f"sqlite:///{tmp_path / (value + '.sqlite')}"
    env = {**os.environ, "HTCONTENT_ACCEL": value}
    env.pop("DATABASE_URL", None)
    out = subprocess.run([sys.executable, "-c", PROBE.format(url=url)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_off_turns_every_cache_and_the_fast_path_off(tmp_path):
    off = _probe(tmp_path, "off")
    assert off == {"enabled": False, "cache": False, "memo": 0, "same": True, "status": 200}
    on = _probe(tmp_path, "on")
    assert on["enabled"] and on["cache"] and on["same"] and on["memo"] > 0
