"""The HT Content API: ``create_app()`` builds the Flask app."""

from __future__ import annotations

from typing import Any

from flask import Flask

from api import cli
from api.accel import response_cache
from api.accel.record_reads import RecordReads
from api.config import Config
from api.edge import observability
from api.edge.limits import RateLimits
from api.edge.pipeline import Edge
from api.storage import db
from api.web import auth, embed, errors, meta
from api.web.errors import ProblemApi
from schemas.registry import REGISTRY, REVIEW_DAYS


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides :class:`Config` (read from the environment)."""
    unknown = sorted(set(REVIEW_DAYS) - set(REGISTRY.types))
    if unknown:
        raise ValueError(f"HTCONTENT_REVIEW_DAYS names no record type: {', '.join(unknown)} "
                         f"(types: {', '.join(REGISTRY.types)})")
    app = Flask(__name__, static_folder=None)
    app.config.update((config or Config()).as_dict() if not isinstance(config, dict)
                      else {**Config().as_dict(), **config})
    app.json.sort_keys = False  # type: ignore[attr-defined]

    observability.configure_logging(app)
    errors.init_app(app)
    db.init_app(app)
    # The WSGI chain, outermost first: ProxyFix (when behind proxies), the host check, the
    # edge (what every request gets), the response cache (when the accelerator is on), Flask.
    cache = response_cache.make(app, app.wsgi_app, RecordReads)
    response_cache.bind_engine(app, app.extensions["db_engine"])
    app.wsgi_app = Edge(  # type: ignore[method-assign]
        cache or app.wsgi_app, app.url_map, app.config["BASE_PATH"],
        auth.identifier(app.extensions["db_sessionmaker"]), RateLimits(app.config), cache)
    if app.config.get("ALLOWED_HOSTS"):
        app.wsgi_app = errors.AllowedHosts(app.wsgi_app,  # type: ignore[method-assign]
                                           app.config["ALLOWED_HOSTS"])
    if app.config.get("PROXY_COUNT"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count,  # type: ignore[method-assign]
                                x_host=count)

    api = ProblemApi(app, prefix="/api/v1", doc=False, add_specs=False,
                     title="HT Content API", version=meta.API_VERSION)
    from api.web.audit import ns as audit_ns
    from api.web.cards import ns as cards_ns
    from api.web.proposals import ns as proposals_ns
    from api.web.records import namespaces
    from api.web.review import ns as review_ns
    from api.web.search import ns as search_ns
    from api.web.sync import ns_changes, ns_export
    from api.web.vocabularies import ns as vocabularies_ns
    from api.web.webhooks import ns as webhooks_ns

    api.add_resource(meta.Index, "", endpoint="index")
    for namespace in (*namespaces(), search_ns, vocabularies_ns, review_ns, proposals_ns,
                      webhooks_ns, cards_ns, audit_ns, ns_changes, ns_export):
        api.add_namespace(namespace)
    meta.init_app(app)
    embed.init_app(app)
    cli.init_app(app)
    return app
