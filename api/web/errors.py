"""RFC 9457 problem details: the one renderer for every error on every path."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from flask import Flask, Response, request
from flask_restx import Api
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://htcontent.dev/problems/"
#: WSGI ``environ`` key of the request id the edge gave this request.
REQUEST_ID_KEY = "htcontent.request_id"
log = logging.getLogger("api")


class Problem(Exception):
    """An error the API answers on purpose. ``slug`` names its ``type``; ``errors`` maps fields
    (or parameters) to messages."""

    def __init__(self, status: int, detail: str, *, slug: str | None = None,
                 title: str | None = None, errors: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra


def bad_request(errors: dict[str, Any], detail: str | None = None) -> Problem:
    """400 for query parameters, with messages by parameter."""
    names = ", ".join(sorted(errors))
    return Problem(400, detail or f"Invalid query parameter(s): {names}.",
                   slug="invalid-parameters", title="Invalid query parameters", errors=errors)


def problem_body(problem: Problem, instance: str, request_id: str) -> bytes:
    """The RFC 9457 document of ``problem`` for the request at ``instance``."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + problem.slug if problem.slug else "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
        "request_id": request_id,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    body.update(problem.extra)
    # Validation messages of list items are keyed by index: non-string keys become strings.
    return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)


def request_id() -> str:
    """The id of the request being answered (given by the edge)."""
    return request.environ.get(REQUEST_ID_KEY, "")  # type: ignore[no-any-return]


def rate_limited(limit: str) -> Problem:
    """429: the client is over ``limit`` (such as "300 per 1 minute")."""
    return Problem(429, f"Rate limit exceeded ({limit}); retry after the Retry-After seconds.",
                   slug="rate-limited", title="Too many requests")


def too_many_failed_authentications(wait: int) -> Problem:
    """429: too many wrong keys from this client; ``wait`` seconds until it may try again."""
    return Problem(429, f"Too many failed authentications from this client; retry in {wait} "
                        "seconds.", slug="rate-limited", title="Too many requests",
                   headers={"Retry-After": str(wait)})


def problem_response(problem: Problem) -> Response:
    response = Response(problem_body(problem, request.path, request_id()),
                        status=problem.status, mimetype=PROBLEM_JSON)
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


_DETAILS = {
    404: "No resource lives at this address.",
    405: "This method is not allowed here.",
    413: "The request body is too large.",
    500: "The server failed to answer this request. It has been logged; "
         "quote the request id when you report it.",
}


def problem_of(exc: BaseException, environ: dict[str, Any]) -> Problem:
    """Any exception, as a problem; unexpected ones are logged and never described."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, HTTPException) and exc.code is not None and exc.code < 500:
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(sorted(exc.valid_methods))
        detail = _DETAILS.get(exc.code) or HTTPStatus(exc.code).description
        return Problem(exc.code, detail, headers=headers)
    method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
    if (isinstance(exc, OperationalError | PoolTimeout)  # no database, or no free connection
            or (isinstance(exc, HTTPException) and exc.code == 503)):
        log.warning("Unavailable on %s %s: %s", method, path, type(exc).__name__)
        return Problem(503, "The service is temporarily unavailable; retry shortly.",
                       headers={"Retry-After": "5"})
    log.error("Unhandled error on %s %s (request %s)", method, path,
              environ.get(REQUEST_ID_KEY), exc_info=exc)
    return internal_error()


def problem_from_exception(exc: BaseException) -> Response:
    """Any exception raised in the app, as a problem response."""
    return problem_response(problem_of(exc, request.environ))


def internal_error() -> Problem:
    """What a client is told of a failure of ours: logged, never described."""
    return Problem(500, _DETAILS[500])


class ProblemApi(Api):
    """flask-restx's Api, answering every error of its routes as problem+json."""

    def handle_error(self, e: Exception) -> Response:
        return problem_from_exception(e)

    # The contract is our own OpenAPI 3.1 file, rendered at /api/v1/docs; flask-restx's
    # Swagger 2.0 spec, its doc page and its root placeholder are not registered.
    def _register_specs(self, app_or_blueprint: Any) -> None:
        pass

    def _register_doc(self, app_or_blueprint: Any) -> None:
        pass

    def _register_apidoc(self, app: Any) -> None:
        pass


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, problem_from_exception)
    app.register_error_handler(Exception, problem_from_exception)


class AllowedHosts:
    """WSGI middleware: a request for a host name not in ``hosts`` is a 400 problem, before
    anything builds a link from it."""

    def __init__(self, wsgi_app: Any, hosts: list[str]) -> None:
        self.wsgi_app = wsgi_app
        self.hosts = hosts

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from werkzeug.sansio.utils import host_is_trusted

        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if host_is_trusted(host, self.hosts):
            return self.wsgi_app(environ, start_response)
        body = orjson.dumps({"type": "about:blank", "title": "Bad Request", "status": 400,
                             "detail": "This host name is not served here.",
                             "instance": environ.get("PATH_INFO", "/"), "request_id": ""})
        start_response("400 BAD REQUEST", [("Content-Type", PROBLEM_JSON),
                                           ("Content-Length", str(len(body)))])
        return [body]
