"""The floor: a bare Flask app that answers precomputed bytes, identical to our app's bodies.

``BENCH_FLOOR_FILE`` names a JSON file written by ``bench/run.py``: for each exact URL
(path and query) measured, the body (base64) and Content-Type captured from our app's real
response. Served by gunicorn exactly like the app (``gunicorn -c gunicorn.conf.py floor:asgi``:
the app's worker class, Flask on the worker's thread pool), it measures what Flask and the
server alone cost on this machine.

``raw`` answers the same bytes from the event loop with no Flask at all: what the server
itself costs, the true floor of an answer from memory (``bench/run.py`` reports ours against
it, for information).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from a2wsgi import WSGIMiddleware
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


#: The floor as gunicorn serves our app (api/edge/asgi.py): Flask on a pool of HTCONTENT_THREADS.
asgi = WSGIMiddleware(app, workers=int(os.environ.get("HTCONTENT_THREADS", "4")))
_RAW = {url: (body, [(b"content-type", content_type.encode()),
                     (b"content-length", str(len(body)).encode())])
        for url, (body, content_type) in ROUTES.items()}


async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The same bytes from the event loop: what the server alone costs."""
    query = scope["query_string"].decode("latin-1")
    found = _RAW.get(f"{scope['path']}?{query}" if query else scope["path"])
    if found is None:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    body, headers = found
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
