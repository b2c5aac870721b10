"""Harness for the Python part of the conformance suite.

Spawns `parley realtime` (``$PARLEY_BIN`` or ``target/debug/parley``) with an
apps file on port 0, waits for the ``listening on http://127.0.0.1:PORT`` line
(no sleeps), and offers a raw WebSocket client that records Pusher frames.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pusher
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_WAIT = 5.0
_ids = itertools.count(701000)


def parley_bin() -> Path:
    env = os.environ.get("PARLEY_BIN")
    return Path(env).resolve() if env else REPO_ROOT / "target" / "debug" / "parley"


def make_app(**overrides) -> dict:
    app_id = str(next(_ids))
    app = {
        "id": app_id,  # numeric, as the Python SDK requires
        "key": f"pykey-{app_id}-{secrets.token_hex(4)}",
        "secret": f"pysecret-{secrets.token_hex(12)}",
        "enabled": True,
        "client_events": True,
    }
    app.update(overrides)
    return app


def uniq(prefix: str = "c") -> str:
    return f"{prefix}-{secrets.token_hex(5)}"


class Server:
    def __init__(self, apps: list[dict], env: dict | None = None, ready_timeout: float = 15.0):
        binary = parley_bin()
        if not binary.exists():
            raise RuntimeError(f"parley binary not found at {binary} (cargo build -p parley, or set PARLEY_BIN)")
        self.apps = apps
        self.dir = tempfile.mkdtemp(prefix="parley-py-")
        apps_file = Path(self.dir) / "apps.json"
        apps_file.write_text(json.dumps({"apps": apps}))
        child_env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("REVERB_", "PARLEY_", "PUSHER_"))
        }
        child_env.update(
            {
                "REVERB_SERVER_HOST": "127.0.0.1",
                "REVERB_SERVER_PORT": "0",
                "PARLEY_APPS_FILE": str(apps_file),
                "PARLEY_DATA_DIR": str(Path(self.dir) / "data"),
            }
        )
        child_env.setdefault("RUST_LOG", "info")
        child_env.update(env or {})
        self.proc = subprocess.Popen(
            [str(binary), "realtime"],
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.output: list[str] = []
        ready = threading.Event()
        port_box: list[int] = []
        # Printed before the listening line when PARLEY_METRICS_ADDR is set.
        self.metrics_port: int | None = None

        def reader():
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                metrics = re.search(r"metrics served at http://127\.0\.0\.1:(\d+)/metrics", line)
                if metrics:
                    self.metrics_port = int(metrics.group(1))
                if not port_box:
                    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
                    if m:
                        port_box.append(int(m.group(1)))
                        ready.set()
            ready.set()  # exited

        threading.Thread(target=reader, daemon=True).start()
        if not ready.wait(ready_timeout) or not port_box:
            self.stop()
            raise RuntimeError("server did not start; output:\n" + "".join(self.output))
        self.host = "127.0.0.1"
        self.port = port_box[0]

    def ws_url(self, key: str) -> str:
        return f"ws://{self.host}:{self.port}/app/{key}?protocol=7&client=py&version=1.0&flash=false"

    def sdk(self, app: dict, **overrides) -> pusher.Pusher:
        opts = dict(app_id=app["id"], key=app["key"], secret=app["secret"], host=self.host, port=self.port, ssl=False)
        opts.update(overrides)
        return pusher.Pusher(**opts)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def data_of(frame: dict):
    d = frame.get("data")
    if isinstance(d, str):
        try:
            return json.loads(d)
        except ValueError:
            return d
    return d


class RawClient:
    """A WebSocket client speaking raw Pusher frames, recording every frame."""

    def __init__(self, url: str, established: bool = True):
        # Entered as a context manager (closed in close()), as websockets 17 expects.
        self.ws = connect(url, proxy=None, compression=None, ping_interval=None, open_timeout=DEFAULT_WAIT).__enter__()
        self.frames: list[dict] = []
        self.taken: set[int] = set()
        self.cond = threading.Condition()
        self.close_code: int | None = None
        self.closed = threading.Event()
        self.socket_id: str | None = None
        threading.Thread(target=self._read, daemon=True).start()
        if established:
            f = self.next(lambda f: f.get("event") == "pusher:connection_established")
            self.socket_id = data_of(f)["socket_id"]

    def _read(self):
        try:
            for msg in self.ws:
                try:
                    frame = json.loads(msg)
                except ValueError:
                    frame = {"event": "<unparseable>", "raw": msg}
                with self.cond:
                    self.frames.append(frame)
                    self.cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            code = self.ws.close_code  # the code the server sent (1006 when it sent none)
            with self.cond:
                self.close_code = code if code is not None else 1006
                self.closed.set()
                self.cond.notify_all()

    def next(self, pred, timeout: float = DEFAULT_WAIT) -> dict:
        if isinstance(pred, str):
            name = pred
            pred = lambda f: f.get("event") == name  # noqa: E731
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, f in enumerate(self.frames):
                    if i not in self.taken and pred(f):
                        self.taken.add(i)
                        return f
                if self.closed.is_set():
                    raise AssertionError(f"socket closed ({self.close_code}) waiting for a frame; frames: {self.frames}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out waiting for a frame; frames: {self.frames}")
                self.cond.wait(left)

    def received(self, pred) -> list[dict]:
        with self.cond:
            return [f for f in self.frames if pred(f)]

    def send(self, obj: dict):
        self.ws.send(json.dumps(obj))

    def ping(self):
        self.send({"event": "pusher:ping", "data": {}})
        return self.next("pusher:pong")

    def subscribe(self, channel: str, auth: str | None = None, channel_data: str | None = None) -> dict:
        data = {"channel": channel}
        if auth is not None:
            data["auth"] = auth
        if channel_data is not None:
            data["channel_data"] = channel_data
        self.send({"event": "pusher:subscribe", "data": data})
        reply = self.next(
            lambda f: (
                f.get("channel") == channel
                and f.get("event") in ("pusher_internal:subscription_succeeded", "pusher:subscription_error")
            )
            or f.get("event") == "pusher:error"
        )
        assert reply["event"] == "pusher_internal:subscription_succeeded", reply
        return reply

    def wait_closed(self, timeout: float = DEFAULT_WAIT) -> int:
        assert self.closed.wait(timeout), f"socket not closed; frames: {self.frames}"
        return self.close_code

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass
