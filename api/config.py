"""Configuration, read from the environment (``DATABASE_URL``, ``REDIS_URL``, ``HTCONTENT_*``)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'instance' / 'htcontent.sqlite'}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _floats(name: str, default: tuple[float, ...]) -> tuple[float, ...]:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        values = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise ValueError(f"{name} must be seconds separated by commas, like 5,300,1800") from None
    if not values or any(value < 0 for value in values):
        raise ValueError(f"{name} must be seconds separated by commas, like 5,300,1800")
    return values


class Config:
    """Settings for a running server; every value can be overridden by an environment variable."""

    def __init__(self) -> None:
        self.DATABASE_URL = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        #: ``max-age`` of anonymous GET responses, in seconds.
        self.CACHE_MAX_AGE = _int("HTCONTENT_CACHE_MAX_AGE", 60)
        #: Where ``flask seed`` reads the seed files from.
        self.SEED_DIR = os.environ.get("HTCONTENT_SEED_DIR") or str(ROOT / "seed")
        #: Seconds to wait for a database connection before answering 503.
        self.DB_CONNECT_TIMEOUT = _int("HTCONTENT_DB_CONNECT_TIMEOUT", 3)
        #: Requests per client: anonymous (per IP address) and per API key.
        self.RATE_LIMIT_ANON = os.environ.get("HTCONTENT_RATE_LIMIT_ANON") or "300/minute"
        self.RATE_LIMIT_KEY = os.environ.get("HTCONTENT_RATE_LIMIT_KEY") or "3000/minute"
        #: Failed authentications allowed per client before 429.
        self.RATE_LIMIT_AUTH_FAILURES = (os.environ.get("HTCONTENT_RATE_LIMIT_AUTH_FAILURES")
                                         or "10/minute")
        self.RATELIMIT_KEY_PREFIX = "htcontent"
        #: How many reverse proxies to trust for X-Forwarded-For/-Proto/-Host (0: none).
        self.PROXY_COUNT = _int("HTCONTENT_PROXY_COUNT", 0)
        #: Host names this API answers to (others get 400); empty: any.
        hosts = os.environ.get("HTCONTENT_TRUSTED_HOSTS", "")
        self.ALLOWED_HOSTS = [h.strip() for h in hosts.split(",") if h.strip()]
        #: Per-process cache of anonymous public answers, in MB (0: off), and the largest
        #: answer it keeps, in KB. See api/accel/response_cache.py.
        self.RESPONSE_CACHE_MB = _int("HTCONTENT_RESPONSE_CACHE_MB", 64)
        self.RESPONSE_CACHE_ENTRY_KB = _int("HTCONTENT_RESPONSE_CACHE_ENTRY_KB", 4096)
        #: 0 (the default): every cached answer first checks the data version, so a write
        #: anywhere is seen at once. N > 0: the version is checked at most every N ms, so
        #: cached answers touch no database, and another process's writes show up to N ms late.
        self.RESPONSE_CACHE_TRUST_MS = _int("HTCONTENT_RESPONSE_CACHE_TRUST_MS", 0)
        #: Webhooks (api/services/delivery.py): retry delays in seconds (the last repeats),
        #: the time a receiver has to answer, private and loopback targets and plain http
        #: (tests, closed networks), how long failing lasts before a subscription stops,
        #: how often idle workers look for work, and delivery threads per worker.
        self.WEBHOOKS_RETRY_SCHEDULE = _floats("HTCONTENT_WEBHOOKS_RETRY_SCHEDULE",
                                               (5, 300, 1800, 7200, 18000, 36000, 86400))
        self.WEBHOOKS_TIMEOUT = float(os.environ.get("HTCONTENT_WEBHOOKS_TIMEOUT") or 10)
        self.WEBHOOKS_ALLOW_PRIVATE = _flag("HTCONTENT_WEBHOOKS_ALLOW_PRIVATE")
        self.WEBHOOKS_DISABLE_AFTER = _int("HTCONTENT_WEBHOOKS_DISABLE_AFTER", 3 * 24 * 3600)
        self.WEBHOOKS_POLL_MS = _int("HTCONTENT_WEBHOOKS_POLL_MS", 200)
        self.WEBHOOKS_THREADS = _int("HTCONTENT_WEBHOOKS_THREADS", 8)
        #: Subscriptions one thread claims at a time (their events are sent side by side).
        self.WEBHOOKS_BATCH = _int("HTCONTENT_WEBHOOKS_BATCH", 16)
        #: Days delivery attempts are kept (``/webhooks/{id}/deliveries``).
        self.WEBHOOKS_KEEP_DAYS = _int("HTCONTENT_WEBHOOKS_KEEP_DAYS", 30)
        #: Deliver in a thread of each server process too (``make run``; on SQLite one
        #: process delivers at a time). Otherwise run ``flask --app api webhooks work``.
        self.WEBHOOKS_INLINE = _flag("HTCONTENT_WEBHOOKS_INLINE")
        #: Encrypts webhook signing secrets at rest; required with PostgreSQL (every instance
        #: the same). Unset with SQLite: a key file made once under instance/.
        self.SECRETS_KEY = os.environ.get("HTCONTENT_SECRET_KEY") or None
        self.BASE_PATH = "/api/v1"
        # flask-restx defaults that would leak internals into error bodies.
        self.ERROR_INCLUDE_MESSAGE = False
        self.RESTX_ERROR_404_HELP = False
        self.JSON_SORT_KEYS = False
        self.MAX_CONTENT_LENGTH = 1024 * 1024

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k.isupper()}


class TestConfig(Config):
    """Like :class:`Config`, for tests: same environment, nothing cached by intermediaries."""

    TESTING = True

    def __init__(self, database_url: str | None = None) -> None:
        super().__init__()
        if database_url:
            self.DATABASE_URL = database_url
        self.TESTING = True
        # Webhook secrets are encrypted with a key of the tests' own (no key file made).
        self.SECRETS_KEY = self.SECRETS_KEY or "test-only-secrets-key"
        # Tests that are about limits set their own; the rest should never meet one.
        self.RATE_LIMIT_ANON = self.RATE_LIMIT_KEY = "100000/minute"
