"""User features and webhooks through the Python SDK: authenticate_user,
send_to_user, terminate_user_connections (which posts to
/users/{id}/terminate_connections WITHOUT the /apps/{id} prefix), and
validate_webhook on the server's webhook requests.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from parley_harness import Server, data_of, make_app, uniq


def signin(clients, server, app, sdk, user_id):
    c = clients(server, app["key"])
    signed = sdk.authenticate_user(c.socket_id, {"id": user_id, "user_info": {"via": "python"}})
    c.send({"event": "pusher:signin", "data": signed})
    ok = c.next(lambda f: f.get("event") in ("pusher:signin_success", "pusher:error"))
    assert ok["event"] == "pusher:signin_success", ok
    assert data_of(ok)["user_data"] == signed["user_data"]
    return c


def test_send_to_user_reaches_only_that_user(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    uid, other = uniq("pyu"), uniq("pyo")
    a1 = signin(clients, server, app, sdk, uid)
    a2 = signin(clients, server, app, sdk, uid)
    b = signin(clients, server, app, sdk, other)
    # pusher-js subscribes to its #server-to-user channel after signin; do the same.
    for c, u in ((a1, uid), (a2, uid), (b, other)):
        c.subscribe(f"#server-to-user-{u}", "")
    sdk.send_to_user(uid, "note", {"for": uid})
    for c in (a1, a2):
        f = c.next(lambda f: f.get("event") == "note")
        assert data_of(f) == {"for": uid}
    sdk.send_to_user(other, "marker", {})
    b.next(lambda f: f.get("event") == "marker")
    assert b.received(lambda f: f.get("event") == "note") == []


def test_terminate_user_connections_python_path(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    uid, other = uniq("pyt"), uniq("pyk")
    t1 = signin(clients, server, app, sdk, uid)
    t2 = signin(clients, server, app, sdk, uid)
    keep = signin(clients, server, app, sdk, other)
    assert sdk.terminate_user_connections(uid) == {}
    assert t1.wait_closed() == 4009
    assert t2.wait_closed() == 4009
    keep.ping()
    assert not keep.closed.is_set()


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        self.server.hooks.append((dict(self.headers), body))
        with self.server.cond:
            self.server.cond.notify_all()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def hooked():
    httpd = HTTPServer(("127.0.0.1", 0), _Receiver)
    httpd.hooks = []
    httpd.cond = threading.Condition()
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    app = make_app(
        webhooks=[
            {
                "url": f"http://127.0.0.1:{httpd.server_address[1]}/py-hook",
                "event_types": ["channel_occupied", "channel_vacated"],
            }
        ]
    )
    server = Server([app], env={"PARLEY_WEBHOOK_DELAY_MS": "200"})
    yield server, app, httpd
    server.stop()
    httpd.shutdown()


def test_webhooks_validate_with_python_sdk(hooked, clients):
    server, app, httpd = hooked
    sdk = server.sdk(app)
    name = uniq("pyhook")
    c = clients(server, app["key"])
    c.subscribe(name)

    def find(event_name):
        with httpd.cond:
            ok = httpd.cond.wait_for(
                lambda: any(
                    e["name"] == event_name and e.get("channel") == name
                    for _, body in httpd.hooks
                    for e in json.loads(body).get("events", [])
                ),
                timeout=10,
            )
        assert ok, f"no {event_name} webhook; got {httpd.hooks}"
        for headers, body in httpd.hooks:
            if any(e["name"] == event_name and e.get("channel") == name for e in json.loads(body)["events"]):
                return headers, body

    headers, body = find("channel_occupied")
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower["content-type"] == "application/json"
    data = sdk.validate_webhook(lower["x-pusher-key"], lower["x-pusher-signature"], body)
    assert data is not None, "signature must validate with the Python SDK"
    assert isinstance(data["time_ms"], int)
    forged = server.sdk(app, secret="wrong")
    assert forged.validate_webhook(lower["x-pusher-key"], lower["x-pusher-signature"], body) is None

    c.send({"event": "pusher:unsubscribe", "data": {"channel": name}})
    headers, body = find("channel_vacated")
    lower = {k.lower(): v for k, v in headers.items()}
    assert sdk.validate_webhook(lower["x-pusher-key"], lower["x-pusher-signature"], body) is not None
