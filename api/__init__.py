"""The HT Content API: ``create_app()`` builds the Flask app."""

from __future__ import annotations

from typing import Any

from flask import Flask

from api import cli
from api.accel import response_cache
from api.config import Config
from api.edge import observability, protection
from api.storage import db
from api.web import errors, http, meta
from api.web.errors import ProblemApi


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides :class:`Config` (read from the environment)."""
    app = Flask(__name__, static_folder=None)
    app.config.update((config or Config()).as_dict() if not isinstance(config, dict)
                      else {**Config().as_dict(), **config})
    app.json.sort_keys = False  # type: ignore[attr-defined]

    response_cache.init_app(app)  # innermost WSGI middleware: before the two below
    if app.config.get("ALLOWED_HOSTS"):
        app.wsgi_app = errors.AllowedHosts(app.wsgi_app,  # type: ignore[method-assign]
                                           app.config["ALLOWED_HOSTS"])
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count,  # type: ignore[method-assign]
                                x_host=count)
    observability.init_app(app)  # first: times and logs everything below
    errors.init_app(app)
    http.init_app(app)  # request id, then authentication ...
    protection.init_app(app)  # ... then rate limits, CORS, security headers
    db.init_app(app)
    response_cache.bind_engine(app, app.extensions["db_engine"])

    api = ProblemApi(app, prefix="/api/v1", doc=False, add_specs=False,
                     title="HT Content API", version=meta.API_VERSION)
    from api.web.audit import ns as audit_ns
    from api.web.records import namespaces
    from api.web.search import ns as search_ns
    from api.web.sync import ns_changes, ns_export
    from api.web.vocabularies import ns as vocabularies_ns

    api.add_resource(meta.Index, "", endpoint="index")
    for namespace in (*namespaces(), search_ns, vocabularies_ns, audit_ns, ns_changes, ns_export):
        api.add_namespace(namespace)
    meta.init_app(app)
    cli.init_app(app)
    return app
