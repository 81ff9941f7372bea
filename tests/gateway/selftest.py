#!/usr/bin/python3
"""
Self-test of the loopback gateway against a fake device written with
websockets' client and cryptography (no portacoded needed).

    /usr/bin/python3 tests/gateway/selftest.py

Prints one line per check and a closing "N passed, N failed"; exits 1 on any
failure.
"""

import asyncio
import base64
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import traceback

import websockets
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gateway as G  # noqa: E402


class FakeDevice:
    """Speaks the device side of reference section 1.2 and the frames."""

    def __init__(self, key, url, ca_path=None, **connect_kw):
        self.key = key
        self.url = url
        self.ca_path = ca_path
        self.connect_kw = connect_kw
        self.ws = None

    def pub_b64(self):
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode()

    async def connect(self, sign_with=None):
        """Open and authenticate; returns the gateway's final auth text."""
        ctx = None
        if self.url.startswith("wss:"):
            ctx = ssl.create_default_context(cafile=self.ca_path)
        self.ws = await websockets.connect(self.url, ssl=ctx,
                                           compression=None,
                                           **self.connect_kw)
        await self.ws.send(self.pub_b64())
        first = await self.ws.recv()
        try:
            challenge = json.loads(first)["challenge"]
        except (ValueError, KeyError):
            return first
        key = sign_with or self.key
        sig = key.sign(challenge.encode(), padding.PKCS1v15(),
                       hashes.SHA256())
        await self.ws.send(json.dumps(
            {"signature": base64.b64encode(sig).decode()}))
        return await self.ws.recv()

    async def send(self, payload, channel=0, **extra):
        frame = {"channel": channel, "payload": payload}
        frame.update(extra)
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout=5.0):
        msg = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(msg) if isinstance(msg, str) else msg

    async def recv_until(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("fake device: nothing matching")
            m = await self.recv(left)
            if pred(m):
                return m

    async def close(self):
        if self.ws is not None:
            await self.ws.close()


def blocking(fn, *a, **kw):
    return asyncio.to_thread(fn, *a, **kw)


async def check_auth_and_sessions(gw, key):
    dev = FakeDevice(key, gw.url, gw.ca_path)
    assert await dev.connect() == "ok"
    await blocking(gw.wait_device, 5)
    assert gw.auth_ok_count == 1 and gw.auth_attempts == 1

    # request_client_sessions -> empty list
    await dev.send({"event": "request_client_sessions"})
    m = await dev.recv()
    assert m == {"channel": 0, "payload": {"cmd": "client_sessions_update",
                                           "sessions": []}}, m
    # a new session is pushed
    a = await blocking(gw.add_session, "dashboard")
    m = await dev.recv()
    sess = m["payload"]["sessions"]
    assert m["payload"]["cmd"] == "client_sessions_update"
    assert sess == [{"channel_name": a.channel_name,
                     "connection_type": "dashboard", "project_id": None,
                     "project_folder_path": None, "user_id": 1}], sess
    b = await blocking(gw.add_session, "project", None, "/srv/p")
    m = await dev.recv()
    assert [s["channel_name"] for s in m["payload"]["sessions"]] == \
        [a.channel_name, b.channel_name]
    assert m["payload"]["sessions"][1]["connection_type"] == "project"
    assert m["payload"]["sessions"][1]["project_folder_path"] == "/srv/p"
    assert isinstance(m["payload"]["sessions"][1]["project_id"], str)

    # clock sync
    await dev.send({"event": "clock_sync_request",
                    "request_id": "clock_sync:abcdefgh"})
    m = await dev.recv()
    p = m["payload"]
    assert m["channel"] == 0 and p["event"] == "clock_sync_response"
    assert p["request_id"] == "clock_sync:abcdefgh"
    for k in ("server_time", "server_receive_time", "server_send_time"):
        assert isinstance(p[k], int) and abs(p[k] - G.now_ms()) < 5000, p
    assert p["server_time_iso"].endswith("Z")
    gw.answer_clock_sync = False
    await dev.send({"event": "clock_sync_request", "request_id": "x"})
    try:
        await dev.recv(0.5)
        raise AssertionError("clock sync answered while disabled")
    except asyncio.TimeoutError:
        pass
    gw.answer_clock_sync = True

    # client -> device: device_id removed, source_client_session added
    await blocking(a.send, {"cmd": "system_info", "request_id": "r1"})
    m = await dev.recv()
    assert m == {"channel": 0, "payload": {
        "cmd": "system_info", "request_id": "r1",
        "source_client_session": a.channel_name}}, m

    # device -> sessions: client_sessions routes and is removed
    await dev.send({"event": "system_info", "info": {}, "request_id": "r1",
                    "client_sessions": [a.channel_name],
                    "reply_channel": a.channel_name})
    ev = await blocking(a.wait_event, "system_info", 5)
    assert ev == {"event": "system_info", "info": {}, "request_id": "r1",
                  "reply_channel": a.channel_name,
                  "device_id": G.DEFAULT_DEVICE_ID}, ev
    assert not b.events_named("system_info")
    await dev.send({"event": "broadcast_me"})
    await blocking(a.wait_event, "broadcast_me", 5)
    await blocking(b.wait_event, "broadcast_me", 5)
    await dev.send({"event": "to_nobody", "client_sessions": ["nope"]})
    await blocking(gw.wait_for, lambda: any(
        e.get("event") == "to_nobody" for e in gw.unrouted), 5)
    # the raw frame log keeps routing fields
    f = await blocking(gw.wait_frame, "system_info", 5)
    assert f["json"]["payload"]["client_sessions"] == [a.channel_name]

    # session removal is pushed
    await blocking(b.close)
    m = await dev.recv()
    assert [s["channel_name"] for s in m["payload"]["sessions"]] == \
        [a.channel_name]

    # device_status on disconnect
    await dev.close()
    await blocking(gw.wait_offline, 5)
    ev = await blocking(a.wait_event, {"event": "device_status",
                                       "device": {"online": False}}, 5)
    assert ev["device"]["id"] == G.DEFAULT_DEVICE_ID
    assert 1000 in gw.device_close_codes, gw.closes


async def check_raw_frames(gw, key):
    dev = FakeDevice(key, gw.url, gw.ca_path, max_size=8 * 1024 * 1024,
                     close_timeout=1)
    assert await dev.connect() == "ok"
    await blocking(gw.wait_device, 5)
    await blocking(gw.send_raw_text, "not json")
    assert await dev.ws.recv() == "not json"
    await blocking(gw.send_binary, b"\x00\x01")
    assert await dev.ws.recv() == b"\x00\x01"
    await blocking(gw.send_raw_frame, 0x2, b"\xff" * 70000)
    assert await dev.ws.recv() == b"\xff" * 70000
    await blocking(gw.send_raw_frame, 0x1, "[" * 300)
    assert await dev.ws.recv() == "[" * 300
    frames = [G.build_frame(0x1, "ab", fin=False),
              G.build_frame(0x0, "cd", fin=False),
              G.build_frame(0x0, "ef")]
    await blocking(gw.send_raw_bytes, b"".join(frames))
    assert await dev.ws.recv() == "abcdef"
    assert await blocking(gw.ping, 5, b"x") < 5

    # a masked server frame is a protocol error for a client
    n0 = len(gw.closes)
    await blocking(gw.send_raw_frame, 0x1, "{}", mask=True)
    try:
        await dev.ws.recv()
        raise AssertionError("masked frame accepted by websockets")
    except websockets.ConnectionClosed:
        pass
    await blocking(gw.wait_for, lambda: len(gw.closes) > n0, 5)
    assert gw.closes[-1]["code"] == 1002, gw.closes[-1]
    assert await dev.connect() == "ok"
    await blocking(gw.wait_device, 5)

    n0 = len(gw.closes)
    await blocking(gw.send_invalid_utf8)
    try:
        await dev.ws.recv()
        raise AssertionError("invalid UTF-8 accepted by websockets")
    except websockets.ConnectionClosed:
        pass
    await blocking(gw.wait_for, lambda: len(gw.closes) > n0, 5)
    assert gw.closes[-1]["code"] == 1007 and not gw.closes[-1]["by_gateway"]

    # 20 MiB against a client limited to 8 MiB: the client closes 1009
    for fragment in (None, 1024 * 1024):
        assert await dev.connect() == "ok"
        await blocking(gw.wait_device, 5)
        n0 = len(gw.closes)
        await blocking(gw.send_large, 20 * 1024 * 1024, fragment)
        try:
            await dev.ws.recv()
            raise AssertionError("20 MiB accepted")
        except websockets.ConnectionClosed:
            pass
        await blocking(gw.wait_for, lambda: len(gw.closes) > n0, 10)
        assert gw.closes[-1]["code"] == 1009, gw.closes[-1]


async def check_pongs_restart_drop(gw, key):
    dev = FakeDevice(key, gw.url, gw.ca_path, ping_interval=0.3,
                     ping_timeout=0.5, close_timeout=0.5)
    assert await dev.connect() == "ok"
    conn = await blocking(gw.wait_device, 5)
    await asyncio.sleep(1.0)            # pongs come back
    assert dev.ws.open
    await blocking(gw.stop_pongs)
    try:
        await asyncio.wait_for(dev.ws.wait_closed(), 5)
    except asyncio.TimeoutError:
        raise AssertionError("client did not notice missing pongs")
    # websockets fails the connection with 1011; unanswered, it reads 1006
    assert dev.ws.close_code in (1006, 1011), dev.ws.close_code

    # reconnect replaces the paused connection
    n_ok = gw.auth_ok_count
    assert await dev.connect() == "ok"
    # The new connection replaces the paused one once its auth completes.
    await blocking(gw.wait_for,
                   lambda: gw.auth_ok_count > n_ok and
                   gw.device() is not conn, 5)
    await blocking(gw.wait_for, lambda: conn.closed, 5)

    # restart: client sees 1001, same port accepts again
    port = gw.port
    await blocking(gw.restart)
    await asyncio.wait_for(dev.ws.wait_closed(), 5)
    assert dev.ws.close_code == 1001, dev.ws.close_code
    assert gw.port == port
    assert await dev.connect() == "ok"
    await blocking(gw.wait_device, 5)

    # drop with and without a close frame
    await blocking(gw.drop_device, 4001, "bye")
    await asyncio.wait_for(dev.ws.wait_closed(), 5)
    assert dev.ws.close_code == 4001
    assert await dev.connect() == "ok"
    await blocking(gw.wait_device, 5)
    await blocking(gw.drop_device)
    await asyncio.wait_for(dev.ws.wait_closed(), 5)
    assert dev.ws.close_code == 1006
    await dev.close()


async def check_rejections(gw, key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    a0 = gw.auth_attempts
    ok0 = gw.auth_ok_count
    dev = FakeDevice(other, gw.url, gw.ca_path)
    assert json.loads(await dev.connect()) == G.REJECT_UNKNOWN
    dev = FakeDevice(key, gw.url, gw.ca_path)
    r = await dev.connect(sign_with=other)
    assert json.loads(r) == G.REJECT_BAD_SIGNATURE, r
    gw.set_auth_mode(G.AUTH_REJECT)
    assert json.loads(await dev.connect()) == G.REJECT_NOT_AUTHORIZED
    gw.set_auth_mode(G.AUTH_BAD_SIGNATURE)
    assert json.loads(await dev.connect()) == G.REJECT_BAD_SIGNATURE
    gw.set_auth_mode(G.AUTH_UNKNOWN)
    assert json.loads(await dev.connect()) == G.REJECT_UNKNOWN
    gw.set_auth_mode(G.AUTH_NORMAL)
    # garbage instead of a key
    ws = await websockets.connect(gw.url, ssl=ssl.create_default_context(
        cafile=gw.ca_path) if gw.tls else None)
    await ws.send("not base64!")
    assert json.loads(await ws.recv()) == G.REJECT_BAD_KEY
    await ws.close()
    assert gw.auth_attempts == a0 + 6, gw.auth_attempts
    assert gw.auth_ok_count == ok0
    assert await dev.connect() == "ok"
    # wrong path
    try:
        await websockets.connect(gw.url.replace("/gateway", "/other"),
                                 ssl=ssl.create_default_context(
                                     cafile=gw.ca_path) if gw.tls else None)
        raise AssertionError("wrong path accepted")
    except websockets.InvalidStatusCode as e:
        assert e.status_code == 404
    await dev.close()


async def check_ipv6(gw, key):
    if len(gw._servers) < 2:
        return "skipped (no ::1)"
    url = gw.url.replace("localhost", "[::1]")
    dev = FakeDevice(key, url, gw.ca_path)
    assert await dev.connect() == "ok"
    await dev.close()


CHECKS = [check_auth_and_sessions, check_raw_frames, check_pongs_restart_drop,
          check_rejections, check_ipv6]


def main():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    passed = failed = 0
    for tls in (True, False):
        for check in CHECKS:
            tmp = tempfile.mkdtemp(prefix="pcgw-selftest-")
            gw = G.Gateway(tls=tls, tmpdir=tmp)
            name = "%s[%s]" % (check.__name__, "wss" if tls else "ws")
            try:
                gw.start()
                gw.register_key(key.public_key().public_bytes(
                    serialization.Encoding.PEM,
                    serialization.PublicFormat.SubjectPublicKeyInfo))
                t0 = time.monotonic()
                note = asyncio.run(asyncio.wait_for(check(gw, key), 60))
                print("ok   %s (%.1fs)%s" % (name, time.monotonic() - t0,
                                            " " + note if note else ""))
                passed += 1
            except Exception:
                failed += 1
                print("FAIL %s" % name)
                traceback.print_exc()
                print(gw.describe(40))
            finally:
                gw.stop()
                shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
