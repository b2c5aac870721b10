"""Fixtures: one `parley realtime` per test module, with its own apps file."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from parley_harness import RawClient, Server, make_app  # noqa: E402


@pytest.fixture
def clients():
    """Raw WebSocket clients opened by a test, closed after it."""
    opened = []

    def open_client(server, key, **kw):
        c = RawClient(server.ws_url(key), **kw)
        opened.append(c)
        return c

    yield open_client
    for c in opened:
        c.close()


@pytest.fixture(scope="module")
def apps():
    return {
        "main": make_app(max_event_payload_bytes=10240, max_channels_per_event=100, max_batch_size=10),
        "small": make_app(max_channels_per_event=3, max_batch_size=2, max_event_payload_bytes=1024),
    }


@pytest.fixture(scope="module")
def server(apps):
    s = Server(list(apps.values()))
    yield s
    s.stop()
