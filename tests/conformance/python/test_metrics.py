"""`/metrics` read by Prometheus' own parsers (the `prometheus_client` package's OpenMetrics
parser, which refuses a metric family declared twice, and its classic text parser), the
bearer token (PARLEY_METRICS_TOKEN) and the separate listen address (PARLEY_METRICS_ADDR).
"""

import urllib.error
import urllib.request

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from parley_harness import Server, make_app, uniq

OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"


def get(url: str, token: str | None = None):
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def exercise(server: Server, app: dict, clients) -> None:
    """Touches every kind of metric: a connection, a subscription, frames both ways, an API call."""
    c = clients(server, app["key"])
    name = uniq("metrics")
    c.subscribe(name, "")
    server.sdk(app).trigger(name, "tick", {"n": 1})
    c.next(lambda f: f.get("event") == "tick")


def check_with_both_parsers(text: str) -> None:
    families = {f.name: f for f in parse_openmetrics(text)}  # raises on any violation
    assert families["parley_realtime_connections"].type == "gauge"
    assert families["parley_realtime_connections_accepted"].type == "counter"
    assert families["parley_realtime_subscriptions"].samples, text
    # The classic parser reads OpenMetrics' `_total` samples as families of their own (type
    # "unknown"); what it must never see is one declared family typed twice, as the gauge and the
    # counter that once shared `parley_realtime_connections` were.
    typed = {}
    for family in parse_text(text):
        if family.type == "unknown":
            continue
        assert family.name not in typed, f"{family.name} declared twice"
        typed[family.name] = family.type
    assert typed["parley_realtime_connections"] == "gauge", typed


def test_the_whole_output_parses_as_openmetrics_and_as_text(server, apps, clients):
    exercise(server, apps["main"], clients)
    status, headers, text = get(f"http://127.0.0.1:{server.port}/metrics")
    assert status == 200, text
    assert headers["Content-Type"] == OPENMETRICS
    check_with_both_parsers(text)


@pytest.fixture(scope="module")
def guarded():
    app = make_app()
    s = Server([app], env={"PARLEY_METRICS_TOKEN": "scrape-me"})
    yield s, app
    s.stop()


def test_a_token_refuses_scrapers_without_it(guarded, clients):
    server, app = guarded
    url = f"http://127.0.0.1:{server.port}/metrics"
    for token in (None, "wrong", "scrape-me-not", ""):
        status, headers, _ = get(url, token)
        assert status == 401, token
        assert headers.get("WWW-Authenticate") == "Bearer"
    exercise(server, app, clients)
    status, _, text = get(url, "scrape-me")
    assert status == 200
    check_with_both_parsers(text)


@pytest.fixture(scope="module")
def separate():
    app = make_app()
    s = Server([app], env={"PARLEY_METRICS_ADDR": "127.0.0.1:0", "PARLEY_METRICS_TOKEN": "ops"})
    yield s, app
    s.stop()


def test_a_separate_address_serves_them_and_the_realtime_port_does_not(separate, clients):
    server, app = separate
    assert server.metrics_port, "".join(server.output)
    exercise(server, app, clients)
    status, _, _ = get(f"http://127.0.0.1:{server.port}/metrics", "ops")
    assert status == 404
    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    assert get(url)[0] == 401
    status, headers, text = get(url, "ops")
    assert status == 200
    assert headers["Content-Type"] == OPENMETRICS
    check_with_both_parsers(text)
