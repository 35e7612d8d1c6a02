"""Webhook tests: an app of its own per test (seeded, with keys) that may send to loopback, a
receiver on loopback, and a deliverer driven step by step in the test's thread."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from api import create_app
from api.config import TestConfig
from api.services import delivery, targets
from api.storage import db
from seed.loader import load_seed
from tests.conftest import SEED_DIR, Keys
from tests.webhooks.receiver import Receiver

#: Retries one second apart, as the issue asks tests to run them.
SCHEDULE = (1.0, 1.0, 1.0)


def hooks_app(url: str, **settings: Any) -> Flask:
    """A seeded app on ``url`` with keys, sending webhooks anywhere on loopback."""
    db.upgrade(url)
    config = TestConfig(url)
    config.WEBHOOKS_ALLOW_PRIVATE = True
    config.WEBHOOKS_RETRY_SCHEDULE = SCHEDULE
    config.WEBHOOKS_TIMEOUT = 2.0
    for name, value in settings.items():
        setattr(config, name, value)
    app = create_app(config)
    with app.app_context():
        load_seed(db.session(), SEED_DIR)
    app.keys = Keys(app)  # type: ignore[attr-defined]
    return app


def offline_resolver(host: str, port: Any, **kwargs: Any) -> list[Any]:
    """Numeric addresses (every spelling the system reads) and ``localhost`` only: no test
    asks a DNS server anything."""
    if host == "localhost":
        host = "127.0.0.1"
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "getaddrinfo", offline_resolver)


@pytest.fixture
def hooks(databases: Any) -> Iterator[Flask]:
    app = hooks_app(databases.new())
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().start()
    yield found
    found.stop()


def subscribe(app: Flask, key: dict[str, str], url: str, **fields: Any) -> dict[str, Any]:
    answer = app.test_client().post("/api/v1/webhooks", json={"url": url, **fields}, headers=key)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["data"]  # type: ignore[no-any-return]


def drain(deliverer: delivery.Deliverer, until: Callable[[], bool] | None = None,
          timeout: float = 20.0) -> None:
    """Step the deliverer until nothing is due (and ``until()`` holds, if given), waiting out
    retry delays."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = deliverer.step()
        if not busy and (until is None or until()):
            return
        if not busy:
            time.sleep(0.05)
    raise AssertionError("deliveries did not finish in time")
