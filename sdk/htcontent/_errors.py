"""The exception tree: every error carries the HTTP status, the problem body and the request id."""

from __future__ import annotations

from typing import Any


class HTContentError(Exception):
    """Base class of every error the SDK raises."""


class APIConnectionError(HTContentError):
    """The API could not be reached (refused, reset, DNS...)."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(f"{message} ({url})" if url else message)
        self.url = url


class APITimeoutError(APIConnectionError):
    """The API did not answer within the timeout."""


class APIStatusError(HTContentError):
    """The API answered with an error status (an RFC 9457 problem)."""

    def __init__(self, status: int, problem: dict[str, Any], request_id: str | None,
                 method: str = "", url: str = "") -> None:
        self.status = status
        self.problem = problem
        self.request_id = request_id
        self.method = method
        self.url = url
        title = problem.get("title") or "Error"
        detail = problem.get("detail") or ""
        where = f" on {method} {url}" if method else ""
        errors = problem.get("errors")
        extra = f"; errors: {errors}" if errors else ""
        super().__init__(f"{status} {title}{where}: {detail}{extra} (request id {request_id})")

    @property
    def errors(self) -> dict[str, Any]:
        """Messages by field or parameter (400 and 422)."""
        value = self.problem.get("errors")
        return value if isinstance(value, dict) else {}


class BadRequestError(APIStatusError):
    """400: a parameter or the body is malformed."""


class AuthenticationError(APIStatusError):
    """401: the API key is wrong, revoked, malformed, or missing."""


class PermissionDeniedError(APIStatusError):
    """403: the API key lacks the scope this needs."""


class NotFoundError(APIStatusError):
    """404: no such record (or not visible with this key)."""


class GoneError(APIStatusError):
    """410: the record was retired (``retired_at`` says when)."""

    @property
    def retired_at(self) -> str | None:
        value = self.problem.get("retired_at")
        return value if isinstance(value, str) else None


class PreconditionFailedError(APIStatusError):
    """412 (stale If-Match) or 428 (If-Match missing)."""


class UnprocessableEntityError(APIStatusError):
    """422: the record is not valid; :attr:`errors` says why, by field."""


class RateLimitError(APIStatusError):
    """429: a rate limit was reached; :attr:`retry_after` says how long to wait."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the API failed or is unavailable."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
    404: NotFoundError, 410: GoneError, 412: PreconditionFailedError,
    428: PreconditionFailedError, 422: UnprocessableEntityError, 429: RateLimitError,
}


def error_for(status: int, problem: dict[str, Any], request_id: str | None, method: str,
              url: str, retry_after: float | None = None) -> APIStatusError:
    """The exception for an error response."""
    if status == 429:
        return RateLimitError(status, problem, request_id, method, url, retry_after=retry_after)
    cls = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    return cls(status, problem, request_id, method, url)
