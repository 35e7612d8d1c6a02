"""The HT Content API: ``create_app()`` builds the Flask app."""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import cli, db, errors, fastpath, http, meta, observability, protection
from .config import Config
from .errors import ProblemApi


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides :class:`Config` (read from the environment)."""
    app = Flask(__name__, static_folder=None)
    app.config.update((config or Config()).as_dict() if not isinstance(config, dict)
                      else {**Config().as_dict(), **config})
    app.json.sort_keys = False  # type: ignore[attr-defined]

    fastpath.init_app(app)  # innermost WSGI middleware: before the two below
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
    fastpath.bind_engine(app, app.extensions["db_engine"])

    api = ProblemApi(app, prefix="/api/v1", doc=False, add_specs=False,
                     title="HT Content API", version=meta.API_VERSION)
    from .audit import ns as audit_ns
    from .records import namespaces
    from .search import ns as search_ns
    from .sync import ns_changes, ns_export
    from .vocabularies import ns as vocabularies_ns

    api.add_resource(meta.Index, "", endpoint="index")
    for namespace in (*namespaces(), search_ns, vocabularies_ns, audit_ns, ns_changes, ns_export):
        api.add_namespace(namespace)
    meta.init_app(app)
    cli.init_app(app)
    return app
