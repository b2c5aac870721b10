"""The HTTP API through the official Python SDK (PyPI `pusher`).

Its quirks the server must accept: numeric app ids only, `body_md5` (of the
empty body) signed on every GET, `data` as a JSON string, 200/202 expected.
"""

import json

import pytest
from pusher.errors import PusherBadAuth, PusherBadRequest, PusherBadStatus

from parley_harness import data_of, uniq


def subscribe(clients, server, app, sdk, channel, member=None):
    c = clients(server, app["key"])
    if channel.startswith(("private-", "presence-")):
        signed = sdk.authenticate(channel, c.socket_id, member)
        c.subscribe(channel, signed["auth"], signed.get("channel_data"))
    else:
        c.subscribe(channel)
    return c


def test_trigger_delivers_data_intact(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    name = uniq("py")
    c = subscribe(clients, server, app, sdk, name)
    payload = {"text": "héllo ✓", "n": 3, "nested": {"list": [1, None, True]}}
    assert sdk.trigger(name, "py-event", payload) == {}
    f = c.next(lambda f: f.get("event") == "py-event")
    assert f["channel"] == name
    assert isinstance(f["data"], str)
    assert data_of(f) == payload


def test_trigger_to_several_channels(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    names = [uniq("pym1"), uniq("pym2")]
    subs = [subscribe(clients, server, app, sdk, n) for n in names]
    sdk.trigger(names, "multi", {"k": "v"})
    for c in subs:
        assert data_of(c.next(lambda f: f.get("event") == "multi")) == {"k": "v"}


def test_socket_id_excludes_that_socket(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    name = uniq("pyothers")
    a = subscribe(clients, server, app, sdk, name)
    b = subscribe(clients, server, app, sdk, name)
    sdk.trigger(name, "excluded", {"x": 1}, socket_id=a.socket_id)
    sdk.trigger(name, "marker", {})
    a.next(lambda f: f.get("event") == "marker")
    b.next(lambda f: f.get("event") == "marker")
    assert a.received(lambda f: f.get("event") == "excluded") == []
    assert len(b.received(lambda f: f.get("event") == "excluded")) == 1


def test_trigger_batch(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    one, two = uniq("pyb1"), uniq("pyb2")
    c1 = subscribe(clients, server, app, sdk, one)
    c2 = subscribe(clients, server, app, sdk, two)
    sdk.trigger_batch(
        [
            {"channel": one, "name": "e1", "data": {"n": 1}},
            {"channel": two, "name": "e2", "data": {"n": 2}},
        ]
    )
    assert data_of(c1.next(lambda f: f.get("event") == "e1")) == {"n": 1}
    assert data_of(c2.next(lambda f: f.get("event") == "e2")) == {"n": 2}


def test_channels_info_get_with_body_md5(server, apps, clients):
    """GET requests from the Python SDK sign body_md5 of the empty body."""
    app = apps["main"]
    sdk = server.sdk(app)
    tag = uniq("pyl")
    pub = f"{tag}-pub"
    pres = f"presence-{tag}"
    subscribe(clients, server, app, sdk, pub)
    subscribe(clients, server, app, sdk, pres, {"user_id": "a"})
    subscribe(clients, server, app, sdk, pres, {"user_id": "a"})
    subscribe(clients, server, app, sdk, pres, {"user_id": "b"})
    everything = sdk.channels_info()
    assert pub in everything["channels"]
    assert pres in everything["channels"]
    filtered = sdk.channels_info(prefix_filter="presence-", attributes=["user_count"])
    assert filtered["channels"].get(pres) == {"user_count": 2}
    assert pub not in filtered["channels"]


def test_channel_info(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    pub = uniq("pyinfo")
    subscribe(clients, server, app, sdk, pub)
    subscribe(clients, server, app, sdk, pub)
    info = sdk.channel_info(pub, ["subscription_count"])
    assert info["occupied"] is True
    assert info["subscription_count"] == 2
    pres = uniq("presence-pyinfo")
    subscribe(clients, server, app, sdk, pres, {"user_id": 7})
    subscribe(clients, server, app, sdk, pres, {"user_id": 7})
    pinfo = sdk.channel_info(pres, ["user_count", "subscription_count"])
    assert pinfo == {"occupied": True, "user_count": 1, "subscription_count": 2}
    assert sdk.channel_info(uniq("pyempty"))["occupied"] is False


def test_users_info_deduplicated(server, apps, clients):
    app = apps["main"]
    sdk = server.sdk(app)
    pres = uniq("presence-pyusers")
    for uid in ("u1", "u1", "u2"):
        subscribe(clients, server, app, sdk, pres, {"user_id": uid, "user_info": {"uid": uid}})
    users = sdk.users_info(pres)["users"]
    assert sorted(u["id"] for u in users) == ["u1", "u2"]


def test_users_info_on_non_presence_is_400(server, apps):
    sdk = server.sdk(apps["main"])
    with pytest.raises(PusherBadRequest):
        sdk.users_info(uniq("public"))


def test_python_channel_auth_is_accepted(server, apps, clients):
    """Signatures made with the Python SDK's authenticate() work on the socket."""
    app = apps["main"]
    sdk = server.sdk(app)
    name = uniq("private-py")
    c = clients(server, app["key"])
    signed = sdk.authenticate(name, c.socket_id)
    c.subscribe(name, signed["auth"])
    sdk.trigger(name, "hidden", {"ok": True})
    assert data_of(c.next(lambda f: f.get("event") == "hidden")) == {"ok": True}


def test_wrong_secret_is_401(server, apps):
    bad = server.sdk(apps["main"], secret="not-it")
    with pytest.raises(PusherBadAuth):
        bad.trigger(uniq("x"), "ev", {})
    with pytest.raises(PusherBadAuth):
        bad.channels_info()


def test_unknown_app_id_is_404(server, apps):
    ghost = server.sdk(apps["main"], app_id="987654321")
    with pytest.raises(PusherBadStatus) as err:
        ghost.trigger(uniq("x"), "ev", {})
    assert str(err.value).startswith("404")


def test_too_many_channels_is_400(server, apps):
    small = server.sdk(apps["small"])
    with pytest.raises(PusherBadRequest):
        small.trigger([uniq("a"), uniq("b"), uniq("c"), uniq("d")], "ev", {})
    assert small.trigger([uniq("a"), uniq("b"), uniq("c")], "ev", {}) == {}


def test_oversize_event_is_413(server, apps):
    small = server.sdk(apps["small"])
    with pytest.raises(PusherBadStatus) as err:
        small.trigger(uniq("s"), "ev", "z" * 2048)
    assert str(err.value).startswith("413")
    assert small.trigger(uniq("s"), "ev", "z" * 512) == {}


def test_batch_over_limit_rejected(server, apps, clients):
    app = apps["small"]
    small = server.sdk(app)
    name = uniq("pybatch")
    c = subscribe(clients, server, app, small, name)
    with pytest.raises((PusherBadRequest, PusherBadStatus)):
        small.trigger_batch([{"channel": name, "name": "b", "data": {"n": n}} for n in range(3)])
    small.trigger(name, "marker", {})
    c.next(lambda f: f.get("event") == "marker")
    assert c.received(lambda f: f.get("event") == "b") == []


def test_response_is_json_object(server, apps):
    sdk = server.sdk(apps["main"])
    body = sdk.trigger(uniq("r"), "ev", json.dumps({"already": "encoded"}))
    assert body == {}
