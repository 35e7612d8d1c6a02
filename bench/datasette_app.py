"""The peer: Datasette's ASGI app on the benchmark's SQLite file, at its fastest settings.

Served by gunicorn with uvicorn's worker (``-k uvicorn_worker.UvicornWorker``), as many
workers as our app. ``BENCH_DATASETTE_DB`` names the database file. It is opened immutable
(Datasette skips change detection and file locking, its fastest mode for read-only data);
facet suggestions, facets and the facet time limit are off; each query in ``bench/run.py``
also passes ``_nocount=1`` and ``_nofacet=1``.
"""

from __future__ import annotations

import os

from datasette.app import Datasette

datasette = Datasette(
    immutables=[os.environ["BENCH_DATASETTE_DB"]],
    settings={
        "suggest_facets": False,
        "allow_facet": False,
        "default_facet_size": 0,
        "facet_time_limit_ms": 1,
        "allow_download": False,
        "sql_time_limit_ms": 10_000,
    },
)
app = datasette.app()
