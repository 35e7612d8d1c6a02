"""The floor: a bare Flask app that answers precomputed bytes, identical to our app's bodies.

``BENCH_FLOOR_FILE`` names a JSON file written by ``bench/run.py``: for each exact URL
(path and query) measured, the body (base64) and Content-Type captured from our app's real
response. Served by gunicorn exactly like the app (``gunicorn -c gunicorn.conf.py floor:app``),
it measures what Flask and gunicorn alone cost on this machine.
"""

from __future__ import annotations

import base64
import json
import os

from flask import Flask, Response, abort, request


def _load() -> dict[str, tuple[bytes, str]]:
    with open(os.environ["BENCH_FLOOR_FILE"], encoding="utf-8") as handle:
        routes = json.load(handle)
    return {url: (base64.b64decode(item["body"]), item["content_type"])
            for url, item in routes.items()}


ROUTES = _load()
app = Flask(__name__)


@app.route("/<path:_path>")
def serve(_path: str) -> Response:
    query = request.query_string.decode("latin-1")
    found = ROUTES.get(f"{request.path}?{query}" if query else request.path)
    if found is None:
        abort(404)
    body, content_type = found
    return Response(body, content_type=content_type)
