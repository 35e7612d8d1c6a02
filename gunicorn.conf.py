"""gunicorn settings for `make run` and the cluster (override with GUNICORN_CMD_ARGS)."""

import os

bind = os.environ.get("HTCONTENT_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("HTCONTENT_WORKERS", "2"))
threads = int(os.environ.get("HTCONTENT_THREADS", "4"))
timeout = 30
graceful_timeout = 20
keepalive = 5
# Request size limits are enforced by the app, which answers problem+json (414/431) instead of
# gunicorn's HTML error pages.
limit_request_line = 0
limit_request_field_size = 0
accesslog = os.environ.get("HTCONTENT_ACCESS_LOG", "-")
wsgi_app = "api:create_app()"
