"""Configuration, read from the environment (``DATABASE_URL``, ``REDIS_URL``, ``HTCONTENT_*``)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{ROOT / 'instance' / 'htcontent.sqlite'}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


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
        # Tests that are about limits set their own; the rest should never meet one.
        self.RATE_LIMIT_ANON = self.RATE_LIMIT_KEY = "100000/minute"
