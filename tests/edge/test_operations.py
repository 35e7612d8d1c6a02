"""Operations: JSON request logs (never the key) and Prometheus metrics, from the live server."""

from __future__ import annotations

import json
import re
import time

import requests

from tests.conftest import serving


def test_logs_and_metrics_of_the_live_server(editor_app, tmp_path):
    log = tmp_path / "server.log"
    key = editor_app.keys.editor["Authorization"]
    with serving(editor_app.config["DATABASE_URL"], log, HTCONTENT_ACCESS_LOG="") as base:
        ok = requests.get(f"{base}/api/v1/hotlines", headers={"Authorization": key,
                                                              "X-Request-ID": "trace-me-1"})
        assert ok.status_code == 200
        for _ in range(3):
            requests.get(f"{base}/api/v1/indicators/no-such-thing", timeout=5)
        scraped = requests.get(f"{base}/metrics", timeout=5)
        time.sleep(0.3)
    assert scraped.status_code == 200 and scraped.headers["Content-Type"].startswith(
        "text/plain")
    text = scraped.text
    assert re.search(r'htcontent_http_requests_total\{method="GET",route="/api/v1/indicators/'
                     r'<string:record_id>",status="404"\} 3\.0', text), text[:2000]
    assert 'htcontent_http_request_duration_seconds_bucket{le="0.005",method="GET",route=' \
        '"/api/v1/hotlines",status="200"}' in text
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    [entry] = [line for line in lines if line.get("request_id") == "trace-me-1"]
    assert entry["method"] == "GET" and entry["path"] == "/api/v1/hotlines"
    assert entry["status"] == 200 and entry["duration_ms"] > 0 and entry["key"] == "editor"
    secret = key.removeprefix("Bearer ")
    assert secret not in log.read_text()
