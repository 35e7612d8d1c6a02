"""Rate limits (Flask-Limiter), CORS (flask-cors) and security headers.

Limits are per anonymous client (IP address) and per API key, from configuration; storage is
Redis when ``REDIS_URL`` is set (shared by every process), memory otherwise. Repeated failed
authentications from one client are limited separately, so keys cannot be guessed quickly.
"""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from flask_limiter import HeaderNames, Limiter

from api.edge import memory_limits  # noqa: F401 - registers sweptmemory://
from api.web.errors import Problem


def make_limiter() -> Limiter:
    """One limiter per app (each app has its own storage: memory, or Redis when configured)."""
    return Limiter(
        key_func=_client_key,
        default_limits=[_limit_for_client],
        default_limits_exempt_when=lambda: request.method == "OPTIONS",
        headers_enabled=True,
        # Flask-Limiter would put its own Retry-After on every response (and overwrite a
        # 503's); it writes this header instead, which becomes Retry-After on 429s only.
        header_name_mapping={HeaderNames.RETRY_AFTER: "X-Limiter-Retry-After"},
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )

#: Set on every response with a body (see :func:`_security_headers`).
SECURITY_HEADERS = ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                    "Content-Security-Policy")
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; frame-ancestors 'none'")


def _viewer_name() -> str | None:
    from api.web.auth import current_viewer

    try:
        return current_viewer().name
    except Problem:
        return None


def _client_key() -> str:
    name = _viewer_name()
    return f"key:{name}" if name else f"ip:{request.remote_addr or 'unknown'}"


def _limit_for_client() -> str:
    config = current_app.config
    return config["RATE_LIMIT_KEY"] if _viewer_name() else config["RATE_LIMIT_ANON"]


def _security_headers(response: Response) -> Response:
    headers = response.headers
    if response.status_code != 304:  # a 304 has no body: the client keeps the 200's headers
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Frame-Options"] = "DENY"
        headers["Content-Security-Policy"] = (DOCS_CSP if request.path.startswith("/api/v1/docs")
                                              else JSON_CSP)
    limiter_retry_after = headers.pop("X-Limiter-Retry-After", None)
    if response.status_code == 429 and "Retry-After" not in headers and limiter_retry_after:
        headers["Retry-After"] = limiter_retry_after
    # IETF RateLimit fields beside Flask-Limiter's X-RateLimit-* ones.
    if "X-RateLimit-Limit" in headers:
        headers["RateLimit-Limit"] = headers["X-RateLimit-Limit"]
        headers["RateLimit-Remaining"] = headers["X-RateLimit-Remaining"]
        reset = int(headers.get("X-RateLimit-Reset", "0") or 0)
        headers["RateLimit-Reset"] = str(max(0, reset - int(time.time())))
    return response


def init_app(app: Flask) -> None:
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "sweptmemory://"
    app.after_request(_security_headers)  # registered first: runs after Flask-Limiter's headers
    limiter = make_limiter()
    limiter.init_app(app)
    app.extensions["rate_limiter"] = limiter
    CORS(app, resources={r"/*": {"origins": "*"}}, send_wildcard=True,
         methods=["GET", "HEAD", "OPTIONS"], supports_credentials=False,
         # Content-Language and Last-Modified are CORS-safelisted: readable without this.
         expose_headers=["ETag", "Link", "X-Request-ID", "RateLimit-Limit",
                         "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"],
         allow_headers=["Accept-Language", "If-None-Match", "If-Modified-Since",
                        "X-Request-ID"], max_age=600)
