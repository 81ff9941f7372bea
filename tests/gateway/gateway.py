#!/usr/bin/python3
"""
Loopback Portacode gateway for the integration tests and the README demo.

It plays the server side of the device protocol (WEBSOCKET_PROTOCOL-1.4.11.md,
reference section 1): the RSA challenge handshake, client sessions and their
routing fields, clock sync and device_status.  The WebSocket layer is Debian's
python3-websockets 10.4 (legacy asyncio server); signatures are checked with
python3-cryptography.

Tests use the thread-friendly Gateway class: its asyncio loop runs in a
background thread and every public method blocks until done.

    gw = Gateway(tls=True, tmpdir=d)
    gw.start()
    gw.register_key("/path/id_portacode.pub")
    ... start the daemon with gw.url and gw.ca_path ...
    gw.wait_device(15)
    s = gw.add_session("dashboard")
    ev = s.request({"cmd": "system_info"})
    gw.stop()

Run with /usr/bin/python3 (python3 on PATH may not see Debian's packages):
    gateway.py --serve [--tls] [--register PUB.pem]
    gateway.py --demo --daemon PATH_TO_PORTACODED [--tls]
"""

import argparse
import asyncio
import base64
import datetime
import http
import ipaddress
import itertools
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import websockets
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

GATEWAY_PATH = "/gateway"
DEFAULT_DEVICE_ID = 1

# Auth modes: how the gateway answers an otherwise good handshake.
AUTH_NORMAL = "normal"          # check key and signature, say ok
AUTH_REJECT = "reject"          # valid signature, but the gateway says no
AUTH_BAD_SIGNATURE = "bad_signature"  # claim the signature does not verify
AUTH_UNKNOWN = "unknown"        # treat every key as unregistered
AUTH_MODES = (AUTH_NORMAL, AUTH_REJECT, AUTH_BAD_SIGNATURE, AUTH_UNKNOWN)

REJECT_UNKNOWN = {"error": "unknown device"}
REJECT_BAD_KEY = {"error": "invalid public key"}
REJECT_BAD_SIGNATURE = {"error": "invalid signature"}
REJECT_NOT_AUTHORIZED = {"error": "device not authorized"}


class GatewayError(Exception):
    pass


class DeviceOffline(GatewayError):
    pass


class GatewayTimeout(AssertionError):
    """A wait ran out; an AssertionError so pytest reports a plain failure."""


def now_ms():
    return int(time.time() * 1000)


def iso_ms(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def short(obj, limit=300):
    if isinstance(obj, (bytes, bytearray)):
        text = repr(bytes(obj[:limit]))
        n = len(obj)
    else:
        text = obj if isinstance(obj, str) else json.dumps(obj)
        n = len(text)
        text = text[:limit]
    if n > limit:
        text += "... (%d bytes)" % n
    return text


# ---------------------------------------------------------------------------
# Certificates

def make_certificates(directory, names=("localhost", "127.0.0.1", "::1")):
    """
    A throwaway CA and a server certificate for `names` (DNS names or IP
    addresses; by default localhost, 127.0.0.1 and ::1).  Writes ca.pem
    (what the daemon's CAFile points at), server.pem and server.key into
    directory and returns their paths.
    """
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    start = now - datetime.timedelta(hours=1)
    end = now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "portacoded tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, "portacoded test CA %s"
                           % secrets.token_hex(4)),
    ])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0),
                       critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                       critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(
            key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_path = os.path.join(directory, "ca.pem")
    cert_path = os.path.join(directory, "server.pem")
    key_path = os.path.join(directory, "server.key")
    pem = serialization.Encoding.PEM
    with open(ca_path, "wb") as f:
        f.write(ca_cert.public_bytes(pem))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(pem))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(ca_path, 0o644)
    return ca_path, cert_path, key_path


def spki_der(key_or_path):
    """DER SubjectPublicKeyInfo from a PEM file path, PEM bytes/text,
    base64 DER text, DER bytes, or a cryptography key object."""
    obj = key_or_path
    if hasattr(obj, "public_bytes") or hasattr(obj, "public_key"):
        pub = obj.public_key() if hasattr(obj, "private_bytes") else obj
        return pub.public_bytes(serialization.Encoding.DER,
                                serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(obj, str) and os.path.exists(obj):
        with open(obj, "rb") as f:
            obj = f.read()
    if isinstance(obj, str):
        obj = obj.encode()
    if b"-----BEGIN" in obj:
        pub = serialization.load_pem_public_key(obj)
    else:
        try:
            pub = serialization.load_der_public_key(obj)
        except ValueError:
            pub = serialization.load_der_public_key(
                base64.b64decode(obj.strip(), validate=True))
    return pub.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


# ---------------------------------------------------------------------------
# Matching helpers shared by sessions and the frame log

def subset_match(pattern, obj):
    if not isinstance(obj, dict):
        return False
    for k, v in pattern.items():
        if k not in obj:
            return False
        if isinstance(v, dict) and isinstance(obj[k], dict):
            if not subset_match(v, obj[k]):
                return False
        elif obj[k] != v:
            return False
    return True


def make_matcher(match):
    """str: event name; dict: subset of fields; callable: predicate."""
    if match is None:
        return lambda e: True
    if isinstance(match, str):
        return lambda e: isinstance(e, dict) and e.get("event") == match
    if isinstance(match, dict):
        return lambda e: subset_match(match, e)
    if callable(match):
        def safe(e):
            try:
                return bool(match(e))
            except (KeyError, TypeError, AttributeError, IndexError):
                return False
        return safe
    raise TypeError("cannot match with %r" % (match,))


# ---------------------------------------------------------------------------
# State

class DeviceConn:
    """One WebSocket connection from a device."""

    def __init__(self, cid, ws):
        self.id = cid
        self.ws = ws
        self.opened = time.monotonic()
        self.device_id = None
        self.authenticated = False
        self.auth_result = None
        self.paused = False
        self.closed_by_gateway = False
        self.closed = False
        self.key_text = None
        self.headers = dict(ws.request_headers.raw_items()) \
            if hasattr(ws, "request_headers") else {}

    def __repr__(self):
        return "<conn %d device=%s auth=%s>" % (self.id, self.device_id,
                                                 self.authenticated)


class Session:
    """
    A client session (what a browser tab is to the real gateway).
    Its events list holds every event the gateway delivered to it.
    """

    def __init__(self, gw, channel_name, kind, project_id, folder, device_id,
                 user_id):
        self.gw = gw
        self.channel_name = channel_name
        self.kind = kind
        self.project_id = project_id
        self.folder = folder
        self.device_id = device_id
        self.user_id = user_id
        self.events = []
        self.closed = False
        self._cursor = 0
        self._rid = itertools.count(1)

    def __repr__(self):
        return "<session %s %s>" % (self.channel_name, self.kind)

    def as_wire(self):
        return {
            "channel_name": self.channel_name,
            "connection_type": "dashboard" if self.kind == "dashboard"
            else "project",
            "project_id": self.project_id,
            "project_folder_path": self.folder,
            "user_id": self.user_id,
        }

    def send(self, payload, channel=0):
        """Send a command as this session (client-side message format)."""
        msg = {"device_id": self.device_id, "channel": channel,
               "payload": payload}
        return self.gw._call(self.gw._client_message(self, msg))

    def mark(self):
        with self.gw._cond:
            return len(self.events)

    def wait_event(self, match=None, timeout=10.0, since=None, consume=True,
                   what=None):
        """
        First event at or after `since` (default: after the last event a
        previous consuming wait returned) that matches.  match: event name,
        dict of fields, or predicate; what: its description for the
        failure message.
        """
        pred = make_matcher(match)
        start = self._cursor if since is None else since
        box = {}

        def found():
            for i in range(start, len(self.events)):
                if pred(self.events[i]):
                    box["i"] = i
                    return True
            return False

        self.gw._wait(found, timeout, lambda: "session %s: no event matching "
                      "%s within %.1fs; got %s" % (
                          self.channel_name, what or repr(match), timeout,
                          [short(e, 200) for e in self.events[start:][-15:]]))
        i = box["i"]
        if consume and since is None:
            self._cursor = i + 1
        return self.events[i]

    def request(self, payload, timeout=10.0, event=None, match=None):
        """
        Send a command with a request_id (one is made up when absent) and
        return the first event echoing it.  With event=NAME, events of other
        names echoing the id are skipped, except an error event, which fails
        at once.  match= overrides all that with a predicate/pattern.
        """
        payload = dict(payload)
        if "request_id" not in payload:
            payload["request_id"] = "t%d-%s" % (next(self._rid),
                                                secrets.token_hex(3))
        rid = payload["request_id"]
        since = self.mark()
        self.send(payload)
        if match is not None:
            return self.wait_event(match, timeout, since=since)

        def mine(e):
            if e.get("request_id") != rid:
                return False
            return event is None or e.get("event") in (event, "error")
        ev = self.wait_event(mine, timeout, since=since,
                             what="%s echoing request_id %r of %s" % (
                                 event or "an event", rid, payload.get("cmd")))
        if event is not None and ev.get("event") != event:
            raise AssertionError("%s (request_id %r) answered with %s"
                                 % (payload.get("cmd"), rid, ev))
        return ev

    def request_retry(self, payload, event, timeout=20.0, every=3.0):
        """Repeat a request (fresh request_id each time) until an `event`
        answer arrives; for moments when a worker may be restarting."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise GatewayTimeout("%s not answered with %s within %.1fs;"
                                     " last: %s" % (payload.get("cmd"), event,
                                                    timeout, last))
            p = dict(payload)
            p.pop("request_id", None)
            try:
                return self.request(p, min(every, left), event=event)
            except AssertionError as e:
                last = str(e)[:300]
                time.sleep(0.2)
            except DeviceOffline as e:
                last = str(e)
                time.sleep(0.2)

    def events_named(self, name):
        with self.gw._cond:
            return [e for e in self.events if e.get("event") == name]

    def close(self):
        self.gw.remove_session(self)


class Gateway:
    """Loopback gateway; every public method is blocking and thread-safe."""

    def __init__(self, tls=True, tmpdir=None, device_id=DEFAULT_DEVICE_ID,
                 ipv6=True, log=None, port=0,
                 cert_names=("localhost", "127.0.0.1", "::1")):
        self.tls = tls
        self.cert_names = tuple(cert_names)
        self.ipv6 = ipv6
        self.default_device_id = device_id
        self._log_fn = log
        self._own_tmp = tmpdir is None
        self.tmpdir = tmpdir or tempfile.mkdtemp(prefix="pcgw-")
        os.makedirs(self.tmpdir, exist_ok=True)
        self.ca_path = None
        self.cert_path = None
        self.key_path = None
        self.port = port
        self.host = "localhost"

        # knobs
        self.auth_mode = AUTH_NORMAL
        self.answer_clock_sync = True
        self.answer_client_sessions = True
        self.auth_timeout = 10.0
        self.close_timeout = 2.0

        # state, guarded by _cond
        self._cond = threading.Condition()
        self._keys = {}                 # DER SPKI -> device id
        self._sessions = {}             # channel name -> Session
        self._devices = {}              # device id -> DeviceConn (online)
        self.conns = []                 # every DeviceConn ever
        self.connections = 0            # WebSocket connections accepted
        self.auth_attempts = 0          # first (public key) frames received
        self.auth_ok_count = 0
        self.auth_log = []              # dicts: t, conn, result, detail
        self.frames = []                # device -> gateway after auth
        self.sent = []                  # gateway -> device after auth
        self.closes = []                # dicts: conn, code, reason, by_gateway
        self.unrouted = []              # device events no session got
        self.history = []               # (t, text) for failure reports

        self._t0 = time.monotonic()
        self._cid = itertools.count(1)
        self._sid = itertools.count(1)
        self._loop = None
        self._thread = None
        self._servers = []
        self._tasks = set()

    # -- lifecycle -------------------------------------------------------

    @property
    def url(self):
        scheme = "wss" if self.tls else "ws"
        return "%s://%s:%d%s" % (scheme, self.host, self.port, GATEWAY_PATH)

    def start(self):
        if self.tls and self.ca_path is None:
            self.ca_path, self.cert_path, self.key_path = \
                make_certificates(self.tmpdir, self.cert_names)
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run_loop, args=(ready,),
                                        name="gateway", daemon=True)
        self._thread.start()
        ready.wait()
        self._call(self._listen())
        self._note("listening on %s" % self.url)
        return self

    def stop(self):
        if self._loop is None:
            return
        try:
            self._call(self._shutdown(), timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            self._loop = None
            if self._own_tmp:
                shutil.rmtree(self.tmpdir, ignore_errors=True)

    def restart(self, down_for=0.0, abort=False):
        """Close the listener and every connection, listen again on the same
        port (after down_for seconds)."""
        self._note("restart (down for %.1fs)" % down_for)
        self._call(self._restart(down_for, abort),
                   timeout=down_for + self.close_timeout + 15)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- keys and knobs --------------------------------------------------

    def register_key(self, key, device_id=None):
        """Register a device public key: PEM file path, PEM text, base64 DER
        or a cryptography key.  Returns the device id."""
        der = spki_der(key)
        with self._cond:
            if device_id is None:
                device_id = self._keys.get(der, self.default_device_id)
            self._keys[der] = device_id
        return device_id

    def unregister_keys(self):
        with self._cond:
            self._keys.clear()

    def set_auth_mode(self, mode):
        if mode not in AUTH_MODES:
            raise ValueError(mode)
        self.auth_mode = mode

    # -- sessions --------------------------------------------------------

    def add_session(self, kind="dashboard", project_id=None, folder=None,
                    device_id=None, name=None, user_id=1):
        if kind not in ("dashboard", "project"):
            raise ValueError(kind)
        if kind == "project" and project_id is None:
            project_id = str(uuid.uuid4())
        if name is None:
            alphabet = string.ascii_letters
            name = "specific..inmemory!" + "".join(
                secrets.choice(alphabet) for _ in range(12))
        dev = self.default_device_id if device_id is None else device_id
        s = Session(self, name, kind, project_id, folder, dev, user_id)
        self._call(self._add_session(s))
        return s

    def remove_session(self, s):
        self._call(self._remove_session(s))

    @property
    def sessions(self):
        with self._cond:
            return list(self._sessions.values())

    # -- device link -----------------------------------------------------

    def device(self, device_id=None):
        with self._cond:
            return self._devices.get(self.default_device_id
                                     if device_id is None else device_id)

    @property
    def online(self):
        return self.device() is not None

    def wait_device(self, timeout=15.0, device_id=None):
        """Wait until the device is connected and authenticated."""
        dev = self.default_device_id if device_id is None else device_id
        self._wait(lambda: dev in self._devices, timeout,
                   lambda: "device %s did not authenticate within %.1fs "
                   "(connections %d, auth attempts %d, auth log %s)" % (
                       dev, timeout, self.connections, self.auth_attempts,
                       self.auth_log[-5:]))
        return self._devices[dev]

    def wait_auth(self, count, timeout=15.0):
        """Wait until auth_ok_count >= count; returns the connection."""
        self._wait(lambda: self.auth_ok_count >= count and
                   self.default_device_id in self._devices, timeout,
                   lambda: "auth_ok_count %d < %d after %.1fs (attempts %d, "
                   "closes %s)" % (self.auth_ok_count, count, timeout,
                                   self.auth_attempts, self.closes[-5:]))
        return self._devices[self.default_device_id]

    def wait_offline(self, timeout=10.0, device_id=None):
        dev = self.default_device_id if device_id is None else device_id
        self._wait(lambda: dev not in self._devices, timeout,
                   lambda: "device %s still online after %.1fs"
                   % (dev, timeout))

    def wait_for(self, predicate, timeout=10.0, what=None):
        """Wait until predicate() (evaluated with the gateway state locked)
        is true; re-evaluated on every state change."""
        self._wait(predicate, timeout,
                   lambda: "%s not true within %.1fs" % (
                       what or getattr(predicate, "__name__", "condition"),
                       timeout))

    def wait_frame(self, match=None, timeout=10.0, since=0):
        """A device frame (parsed JSON object) at index >= since matching
        match (str: payload event/cmd; dict: subset of the frame; callable).
        Returns the log entry (dict with t, conn, json, data)."""
        if isinstance(match, str):
            name = match
            pred = make_matcher(lambda f: isinstance(f.get("payload"), dict)
                                and name in (f["payload"].get("event"),
                                             f["payload"].get("cmd")))
        else:
            pred = make_matcher(match)
        box = {}

        def found():
            for i in range(since, len(self.frames)):
                j = self.frames[i]["json"]
                if j is not None and pred(j):
                    box["i"] = i
                    return True
            return False

        self._wait(found, timeout, lambda: "no device frame matching %r "
                   "within %.1fs; last frames %s" % (
                       match, timeout,
                       [short(f["data"], 200) for f in self.frames[since:][-10:]]))
        return self.frames[box["i"]]

    def frames_matching(self, match, since=0):
        if isinstance(match, str):
            name = match
            pred = make_matcher(lambda f: isinstance(f.get("payload"), dict)
                                and name in (f["payload"].get("event"),
                                             f["payload"].get("cmd")))
        else:
            pred = make_matcher(match)
        with self._cond:
            return [f for f in self.frames[since:]
                    if f["json"] is not None and pred(f["json"])]

    @property
    def device_close_codes(self):
        """Close codes of device connections the gateway did not close
        itself: the code in the device's close frame, or 1006 when the TCP
        connection ended without one."""
        with self._cond:
            return [c["code"] for c in self.closes if not c["by_gateway"]]

    @property
    def auth_ok_times(self):
        with self._cond:
            return [a["t"] for a in self.auth_log if a["result"] == "ok"]

    @property
    def auth_attempt_times(self):
        with self._cond:
            return [a["t"] for a in self.auth_log if a["result"] != "timeout"]

    def send_raw_text(self, text, device_id=None):
        """Send a text frame to the device exactly as given."""
        self._call(self._send_text(self._need_device(device_id), text))

    def send_json(self, obj, device_id=None):
        self.send_raw_text(json.dumps(obj), device_id)

    def send_binary(self, data, device_id=None):
        """A binary frame sent through websockets."""
        self._call(self._send_binary(self._need_device(device_id), data))

    def send_raw_frame(self, opcode, payload, fin=True, rsv=0, mask=False,
                       device_id=None):
        """Write a hand-built server frame straight to the transport (any
        opcode, any payload, invalid UTF-8 included; masked only when asked,
        which a client must refuse)."""
        frame = build_frame(opcode, payload, fin, rsv, mask)
        conn = self._need_device(device_id)
        self._call(self._write_transport(conn, frame, "raw frame op=%d %s"
                                         % (opcode, short(payload, 80))))

    send_raw_bytes_frame = send_raw_frame

    def send_raw_bytes(self, data, device_id=None):
        """Write bytes (e.g. several frames from build_frame) to the
        transport in one go, so no other frame can land in between."""
        conn = self._need_device(device_id)
        self._call(self._write_transport(conn, bytes(data), "%d raw bytes"
                                         % len(data)))

    def send_invalid_utf8(self, device_id=None):
        """A text frame whose JSON contains bytes that are not UTF-8."""
        payload = (b'{"channel": 0, "payload": {"cmd": "system_info", '
                   b'"request_id": "bad-\xff\xfe-utf8"}}')
        self.send_raw_frame(0x1, payload, device_id=device_id)

    def send_large(self, size=20 * 1024 * 1024, fragment=None,
                   device_id=None):
        """
        Send a JSON text message of about `size` bytes (a system_info
        command with padding), in one frame or in fragments of `fragment`
        bytes.  Returns at once: the send finishes (or fails) in the
        background since a device that enforces a limit stops reading.
        """
        head = '{"channel": 0, "payload": {"cmd": "system_info", "pad": "'
        tail = '"}}'
        body = "a" * max(0, size - len(head) - len(tail))
        text = head + body + tail
        conn = self._need_device(device_id)
        if fragment:
            parts = [text[i:i + fragment] for i in range(0, len(text),
                                                          fragment)]
        else:
            parts = None
        self._call(self._send_large(conn, text, parts))

    def ping(self, timeout=5.0, data=None, device_id=None):
        """Send a WebSocket ping; returns the seconds until the pong."""
        conn = self._need_device(device_id)
        return self._call(self._ping(conn, data, timeout), timeout + 5)

    def stop_pongs(self, device_id=None):
        """Stop reading from the device connection: its pings go unanswered
        and nothing it sends is processed."""
        conn = self._need_device(device_id)
        self._call(self._pause(conn, True))

    def resume_reading(self, device_id=None):
        conn = self._need_device(device_id)
        self._call(self._pause(conn, False))

    def drop_device(self, code=None, reason="", device_id=None):
        """Close the device connection: with a close frame when code is
        given, else by aborting the TCP connection."""
        conn = self._need_device(device_id)
        self._call(self._drop(conn, code, reason))

    def push_sessions(self, device_id=None):
        """Send client_sessions_update now."""
        conn = self._need_device(device_id)
        self._call(self._push_sessions(conn.device_id))

    def describe(self, last=80):
        """Recent gateway history, for failure reports."""
        with self._cond:
            lines = ["%8.3f %s" % (t, text) for t, text in self.history[-last:]]
            head = ("gateway %s: connections=%d auth_attempts=%d auth_ok=%d "
                    "closes=%s" % (self.url if self.port else "-",
                                   self.connections, self.auth_attempts,
                                   self.auth_ok_count,
                                   [(c["code"], c["reason"], c["by_gateway"])
                                    for c in self.closes]))
        return "\n".join([head] + lines)

    # -- thread plumbing -------------------------------------------------

    def _run_loop(self, ready):
        asyncio.set_event_loop(self._loop)
        self._loop.call_soon(ready.set)
        self._loop.run_forever()

    def _call(self, coro, timeout=60.0):
        if self._loop is None:
            coro.close()
            raise GatewayError("gateway not running")
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(timeout)

    def _wait(self, pred, timeout, describe):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise GatewayTimeout(describe())
                self._cond.wait(min(left, 0.25))

    def _changed(self):
        with self._cond:
            self._cond.notify_all()

    def _note(self, text):
        with self._cond:
            self.history.append((time.monotonic() - self._t0, text))
            if len(self.history) > 5000:
                del self.history[:1000]
            self._cond.notify_all()
        if self._log_fn:
            self._log_fn(text)

    def _need_device(self, device_id):
        conn = self.device(device_id)
        if conn is None:
            raise DeviceOffline("device %s is not connected"
                                % (device_id or self.default_device_id))
        return conn

    def _spawn(self, coro):
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- loop side: listening --------------------------------------------

    def _bind(self):
        """Listening sockets on 127.0.0.1 and (when available) ::1, same
        port.  Port 0 picks a port free on both."""
        for _ in range(20):
            socks = []
            s4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s4.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s4.bind(("127.0.0.1", self.port))
            s4.listen(64)
            socks.append(s4)
            port = s4.getsockname()[1]
            if self.ipv6 and socket.has_ipv6:
                s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                try:
                    s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    s6.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s6.bind(("::1", port))
                    s6.listen(64)
                    socks.append(s6)
                except OSError as e:
                    s6.close()
                    if e.errno == 98 and self.port == 0:   # EADDRINUSE
                        s4.close()
                        continue
            return port, socks
        raise GatewayError("no port free on both 127.0.0.1 and ::1")

    def _ssl_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx

    async def _listen(self):
        port, socks = self._bind()
        self.port = port
        ctx = self._ssl_context() if self.tls else None
        for s in socks:
            server = await websockets.serve(
                self._handler, sock=s, ssl=ctx,
                process_request=self._process_request,
                compression=None, ping_interval=None, ping_timeout=None,
                max_size=None, close_timeout=self.close_timeout,
                logger=_quiet_logger())
            self._servers.append(server)

    async def _process_request(self, path, headers):
        if path.split("?", 1)[0] != GATEWAY_PATH:
            self._note("HTTP request for %r refused (404)" % path)
            return (http.HTTPStatus.NOT_FOUND, [], b"not found\n")
        return None

    async def _close_all(self, abort):
        with self._cond:
            conns = [c for c in self.conns if not c.closed]
        for c in conns:
            c.closed_by_gateway = True
            if abort or c.paused:
                c.ws.transport.abort()
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for server in servers:
            try:
                await asyncio.wait_for(server.wait_closed(),
                                       self.close_timeout + 5)
            except asyncio.TimeoutError:
                pass

    async def _restart(self, down_for, abort):
        await self._close_all(abort)
        if down_for:
            await asyncio.sleep(down_for)
        await self._listen()
        self._note("listening again on port %d" % self.port)

    async def _shutdown(self):
        await self._close_all(abort=False)
        for task in list(self._tasks):
            task.cancel()

    # -- loop side: a device connection ----------------------------------

    async def _handler(self, ws):
        conn = DeviceConn(next(self._cid), ws)
        with self._cond:
            self.conns.append(conn)
            self.connections += 1
        peer = ws.remote_address
        self._note("conn %d: WebSocket open from %s (%s)" % (
            conn.id, peer, conn.headers.get("User-Agent", "no user-agent")))
        try:
            if await self._authenticate(conn):
                await self._go_online(conn)
                async for message in ws:
                    self._on_frame(conn, message)
        except websockets.ConnectionClosed:
            pass
        finally:
            await self._finish(conn)

    async def _finish(self, conn):
        ws = conn.ws
        with self._cond:
            if self._devices.get(conn.device_id) is conn:
                del self._devices[conn.device_id]
                went_offline = True
            else:
                went_offline = False
        if went_offline:
            self._device_status(conn.device_id, False)
        if not conn.paused:
            try:
                await asyncio.wait_for(ws.wait_closed(),
                                       self.close_timeout + 2)
            except asyncio.TimeoutError:
                ws.transport.abort()
        rcvd = ws.close_rcvd
        sent = ws.close_sent
        if rcvd is not None:
            code, reason = rcvd.code, rcvd.reason
        else:
            code, reason = 1006, ""
        by_gateway = conn.closed_by_gateway or (
            sent is not None and ws.close_rcvd_then_sent is False)
        conn.closed = True
        with self._cond:
            self.closes.append({"conn": conn.id, "code": code,
                                "reason": reason, "by_gateway": by_gateway,
                                "authenticated": conn.authenticated,
                                "t": time.monotonic()})
        self._note("conn %d: closed code=%s reason=%r by %s" % (
            conn.id, code, reason, "gateway" if by_gateway else "device"))

    async def _authenticate(self, conn):
        ws = conn.ws
        try:
            first = await asyncio.wait_for(ws.recv(), self.auth_timeout)
        except asyncio.TimeoutError:
            self._auth_result(conn, "timeout", "no public key frame")
            conn.closed_by_gateway = True
            await ws.close(1008, "authentication timeout")
            return False
        with self._cond:
            self.auth_attempts += 1
        conn.key_text = first
        if not isinstance(first, str):
            return await self._reject(conn, REJECT_BAD_KEY, "binary key frame")
        try:
            der = base64.b64decode(first.strip(), validate=True)
            pub = serialization.load_der_public_key(der)
            der = pub.public_bytes(
                serialization.Encoding.DER,
                serialization.PublicFormat.SubjectPublicKeyInfo)
        except (ValueError, TypeError) as e:
            return await self._reject(conn, REJECT_BAD_KEY,
                                      "bad public key: %s" % e)
        with self._cond:
            device_id = self._keys.get(der)
        if device_id is None or self.auth_mode == AUTH_UNKNOWN:
            return await self._reject(conn, REJECT_UNKNOWN,
                                      "key not registered")
        conn.device_id = device_id

        challenge = secrets.token_urlsafe(32)
        await ws.send(json.dumps({"challenge": challenge}))
        try:
            reply = await asyncio.wait_for(ws.recv(), self.auth_timeout)
        except asyncio.TimeoutError:
            return await self._reject(conn, {"error": "timeout"},
                                      "no signature frame")
        try:
            sig_b64 = json.loads(reply)["signature"]
            sig = base64.b64decode(sig_b64, validate=True)
        except (ValueError, TypeError, KeyError) as e:
            return await self._reject(conn, REJECT_BAD_SIGNATURE,
                                      "bad signature frame %s: %s"
                                      % (short(reply, 100), e))
        if not isinstance(pub, rsa.RSAPublicKey):
            return await self._reject(conn, REJECT_BAD_KEY, "not an RSA key")
        try:
            pub.verify(sig, challenge.encode(), padding.PKCS1v15(),
                       hashes.SHA256())
        except InvalidSignature:
            return await self._reject(conn, REJECT_BAD_SIGNATURE,
                                      "signature does not verify")
        if self.auth_mode == AUTH_BAD_SIGNATURE:
            return await self._reject(conn, REJECT_BAD_SIGNATURE,
                                      "knob: bad_signature")
        if self.auth_mode == AUTH_REJECT:
            return await self._reject(conn, REJECT_NOT_AUTHORIZED,
                                      "knob: reject")
        await ws.send("ok")
        conn.authenticated = True
        self._auth_result(conn, "ok", "%d-bit RSA key" % pub.key_size)
        return True

    async def _reject(self, conn, reply, detail):
        self._auth_result(conn, "rejected", detail)
        conn.closed_by_gateway = True
        try:
            await conn.ws.send(json.dumps(reply))
            await conn.ws.close(1008, "authentication failed")
        except websockets.ConnectionClosed:
            pass
        return False

    def _auth_result(self, conn, result, detail):
        conn.auth_result = result
        with self._cond:
            self.auth_log.append({"t": time.monotonic(), "conn": conn.id,
                                  "result": result, "detail": detail})
            if result == "ok":
                self.auth_ok_count += 1
        self._note("conn %d: auth %s (%s)" % (conn.id, result, detail))

    async def _go_online(self, conn):
        with self._cond:
            old = self._devices.get(conn.device_id)
            self._devices[conn.device_id] = conn
        if old is not None and not old.closed:
            self._note("conn %d replaces conn %d" % (conn.id, old.id))
            old.closed_by_gateway = True
            if old.paused:
                old.ws.transport.abort()
            else:
                self._spawn(old.ws.close(4000, "replaced by a new connection"))
        self._device_status(conn.device_id, True)

    def _on_frame(self, conn, message):
        entry = {"t": time.monotonic(), "conn": conn.id, "data": message,
                 "binary": not isinstance(message, str), "json": None}
        try:
            entry["json"] = json.loads(message)
        except ValueError:
            pass
        with self._cond:
            self.frames.append(entry)
        self._note("conn %d <- %s" % (conn.id, short(message)))
        frame = entry["json"]
        if entry["binary"] or not isinstance(frame, dict):
            return
        payload = frame.get("payload")
        channel = frame.get("channel")
        if isinstance(payload, dict):
            event = payload.get("event")
            if event == "clock_sync_request":
                if self.answer_clock_sync:
                    self._clock_sync(conn, payload, entry["t"])
                return
            if event == "request_client_sessions":
                if self.answer_client_sessions:
                    self._spawn(self._push_sessions(conn.device_id))
                return
            self._route(conn.device_id, channel, payload)
        else:
            # legacy raw terminal channel data: broadcast
            self._route(conn.device_id, channel,
                        {"channel": channel, "payload": payload})

    def _clock_sync(self, conn, payload, t_recv):
        recv_ms = now_ms() - int((time.monotonic() - t_recv) * 1000)
        send_ms = now_ms()
        reply = {"event": "clock_sync_response", "server_time": send_ms,
                 "server_time_iso": iso_ms(send_ms),
                 "server_receive_time": recv_ms, "server_send_time": send_ms}
        if "request_id" in payload:
            reply["request_id"] = payload["request_id"]
        self._spawn(self._send_frame(conn, {"channel": 0, "payload": reply}))

    def _route(self, device_id, channel, payload):
        """Device -> sessions: client_sessions picks the targets and is
        removed; device_id is added."""
        event = dict(payload)
        targets = event.pop("client_sessions", None)
        event["device_id"] = device_id
        with self._cond:
            mine = [s for s in self._sessions.values()
                    if s.device_id == device_id]
            if targets is None:
                chosen = mine
            elif isinstance(targets, list):
                by_name = {s.channel_name: s for s in mine}
                chosen = [by_name[n] for n in targets
                          if isinstance(n, str) and n in by_name]
            else:
                chosen = []
            for s in chosen:
                s.events.append(json.loads(json.dumps(event)))
            if not chosen:
                self.unrouted.append(event)
            self._cond.notify_all()

    def _deliver(self, s, event):
        with self._cond:
            s.events.append(event)
            self._cond.notify_all()

    def _device_status(self, device_id, online):
        with self._cond:
            targets = [s for s in self._sessions.values()
                       if s.device_id == device_id]
        for s in targets:
            self._deliver(s, {"event": "device_status",
                              "device": {"id": device_id, "online": online}})
        self._note("device %s %s" % (device_id,
                                     "online" if online else "offline"))

    # -- loop side: sending ----------------------------------------------

    async def _send_text(self, conn, text):
        with self._cond:
            self.sent.append({"t": time.monotonic(), "conn": conn.id,
                              "data": text if len(text) < 4096
                              else short(text, 4096)})
        self._note("conn %d -> %s" % (conn.id, short(text)))
        try:
            await conn.ws.send(text)
        except (websockets.ConnectionClosed, websockets.InvalidState):
            self._note("conn %d: send failed, connection closed" % conn.id)

    async def _send_frame(self, conn, frame):
        await self._send_text(conn, json.dumps(frame))

    async def _send_binary(self, conn, data):
        self._note("conn %d -> binary %s" % (conn.id, short(data)))
        await conn.ws.send(bytes(data))

    async def _write_transport(self, conn, data, what):
        self._note("conn %d -> %s" % (conn.id, what))
        conn.ws.transport.write(data)

    async def _send_large(self, conn, text, parts):
        self._note("conn %d -> large message, %d bytes%s" % (
            conn.id, len(text),
            " in %d fragments" % len(parts) if parts else ""))

        async def go():
            try:
                await conn.ws.send(parts if parts else text)
                self._note("conn %d: large message sent" % conn.id)
            except (websockets.ConnectionClosed,
                    websockets.InvalidState) as e:
                self._note("conn %d: large message interrupted (%s)"
                           % (conn.id, type(e).__name__))
        self._spawn(go())

    async def _ping(self, conn, data, timeout):
        t0 = time.monotonic()
        waiter = await conn.ws.ping(data)
        try:
            await asyncio.wait_for(waiter, timeout)
        except asyncio.TimeoutError:
            raise GatewayTimeout("no pong within %.1fs" % timeout)
        return time.monotonic() - t0

    async def _pause(self, conn, pause):
        conn.paused = pause
        if pause:
            conn.ws.transport.pause_reading()
        else:
            conn.ws.transport.resume_reading()
        self._note("conn %d: reading %s" % (conn.id,
                                            "paused" if pause else "resumed"))

    async def _drop(self, conn, code, reason):
        conn.closed_by_gateway = True
        if code is None:
            self._note("conn %d: abort" % conn.id)
            conn.ws.transport.abort()
        else:
            self._note("conn %d: close %d" % (conn.id, code))
            await conn.ws.close(code, reason)

    async def _push_sessions(self, device_id):
        with self._cond:
            conn = self._devices.get(device_id)
            sessions = [s.as_wire() for s in self._sessions.values()
                        if s.device_id == device_id]
        if conn is None:
            return
        await self._send_frame(conn, {"channel": 0, "payload": {
            "cmd": "client_sessions_update", "sessions": sessions}})

    async def _add_session(self, s):
        with self._cond:
            self._sessions[s.channel_name] = s
            online = s.device_id in self._devices
        self._deliver(s, {"event": "devices", "devices": [
            {"id": s.device_id, "online": online}]})
        self._note("session %s added (%s, project %s)" % (
            s.channel_name, s.kind, s.project_id))
        await self._push_sessions(s.device_id)

    async def _remove_session(self, s):
        with self._cond:
            self._sessions.pop(s.channel_name, None)
            s.closed = True
        self._note("session %s removed" % s.channel_name)
        await self._push_sessions(s.device_id)

    async def _client_message(self, s, msg):
        """Client -> device: device_id is removed, source_client_session
        is added to the payload."""
        if s.closed:
            raise GatewayError("session %s is closed" % s.channel_name)
        with self._cond:
            conn = self._devices.get(msg["device_id"])
        if conn is None:
            raise DeviceOffline("device %s is not connected"
                                % msg["device_id"])
        payload = msg["payload"]
        if isinstance(payload, dict):
            payload = dict(payload)
            payload["source_client_session"] = s.channel_name
        await self._send_frame(conn, {"channel": msg["channel"],
                                      "payload": payload})
        return True


def build_frame(opcode, payload, fin=True, rsv=0, mask=False):
    """An RFC 6455 frame as a server writes it (unmasked unless asked)."""
    if isinstance(payload, str):
        payload = payload.encode()
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    m = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if mask:
        key = secrets.token_bytes(4)
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def _quiet_logger():
    import logging
    logger = logging.getLogger("portacoded.testgateway.websockets")
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    return logger


# ---------------------------------------------------------------------------
# Running the daemon (shared by the integration tests and the demo)

PRIVSEP_USER = os.environ.get("PORTACODED_PRIVSEP_USER", "_portacode")
PRIVSEP_PATH = os.environ.get("PORTACODED_PRIVSEP_PATH",
                              "/run/portacoded/empty")
TARGET_USER = os.environ.get("PORTACODED_TEST_USER", "pctest")


def ensure_users(target=TARGET_USER, privsep=PRIVSEP_USER):
    """Create the target user and the privsep user when missing (root)."""
    try:
        pwd.getpwnam(target)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", target],
                       check=True)
    try:
        pwd.getpwnam(privsep)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", privsep], check=True)


def write_config(path, gateway_url, keyfile, ca_path=None, user=None,
                 loglevel="DEBUG", extra=()):
    lines = ["# written by tests/gateway/gateway.py",
             "Gateway %s" % gateway_url]
    if ca_path:
        lines.append("CAFile %s" % ca_path)
    lines.append("KeyFile %s" % keyfile)
    if user:
        lines.append("User %s" % user)
    if loglevel:
        lines.append("LogLevel %s" % loglevel)
    lines.extend(extra)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)
    return path


def make_key_dir(path):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def create_key(binary, conf, timeout=60):
    """portacoded -K -f conf; returns the CompletedProcess."""
    return subprocess.run([binary, "-K", "-f", conf], capture_output=True,
                          text=True, timeout=timeout)


def _proc_stat(pid):
    """(comm, state, ppid, starttime) or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    lp, rp = data.find("("), data.rfind(")")
    rest = data[rp + 2:].split()
    return data[lp + 1:rp], rest[0], int(rest[1]), int(rest[19])


def proc_cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode(errors="replace")
                    for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        return None
    return out


def role_of(cmdline):
    if "-x" in cmdline:
        i = cmdline.index("-x")
        if i + 1 < len(cmdline):
            return cmdline[i + 1]
    return "parent"


class Proc:
    __slots__ = ("pid", "ppid", "comm", "state", "start", "cmdline", "role")

    def __init__(self, pid, ppid, comm, state, start, cmdline):
        self.pid, self.ppid, self.comm, self.state = pid, ppid, comm, state
        self.start, self.cmdline = start, cmdline
        self.role = role_of(cmdline)

    def alive(self):
        st = _proc_stat(self.pid)
        return st is not None and st[3] == self.start and st[1] != "Z"

    def __repr__(self):
        return "<%s pid %d>" % (self.role, self.pid)


def all_procs():
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        st = _proc_stat(pid)
        if st is None:
            continue
        procs[pid] = Proc(pid, st[2], st[0], st[1], st[3], proc_cmdline(pid))
    return procs


class Daemon:
    """A portacoded started in the foreground (-d) with its stderr in a
    log file."""

    def __init__(self, binary, conf, log_path, args=("-d",)):
        self.binary = binary
        self.conf = conf
        self.log_path = log_path
        self.args = list(args)
        self.proc = None
        self.started = None
        self.stopped = False    # stop() was called
        self._seen = {}         # (pid, start) -> Proc, everything ever seen

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        self._log = open(self.log_path, "ab")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary] + self.args + ["-f", self.conf],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
            start_new_session=True)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def tree(self):
        """Live processes descending from the daemon (itself included)."""
        if self.proc is None:
            return []
        procs = all_procs()
        root = procs.get(self.proc.pid)
        if root is None or root.state == "Z":
            return []
        kids = {}
        for p in procs.values():
            kids.setdefault(p.ppid, []).append(p)
        out, todo = [], [root]
        while todo:
            p = todo.pop()
            if p.state != "Z":
                out.append(p)
                self._seen[(p.pid, p.start)] = p
            todo.extend(kids.get(p.pid, []))
        return out

    def portacoded_procs(self):
        """Live processes of the tree that run the portacoded binary."""
        return [p for p in self.tree() if p.pid == self.proc.pid
                or "-x" in p.cmdline]

    def roles(self):
        """role -> pid for the parent and every -x worker."""
        out = {}
        for p in self.portacoded_procs():
            out[p.role] = p.pid
        return out

    def wait_roles(self, roles, timeout=10.0, exclude=None):
        """Wait until every role in roles has a live process whose pid is
        not exclude[role]; returns roles()."""
        exclude = exclude or {}
        deadline = time.monotonic() + timeout
        while True:
            r = self.roles()
            if all(role in r and r[role] != exclude.get(role)
                   for role in roles):
                return r
            if not self.running():
                raise AssertionError("portacoded exited with status %s "
                                     "while waiting for %s"
                                     % (self.proc.returncode, roles))
            if time.monotonic() > deadline:
                raise AssertionError("roles %s not all up (new) within "
                                     "%.1fs: have %s" % (sorted(roles),
                                                         timeout, r))
            time.sleep(0.05)

    def stop(self, timeout=2.0, sig=signal.SIGTERM):
        """Signal the parent and wait until every process of the tree is
        gone.  Returns (seconds taken, processes still alive)."""
        if self.proc is None:
            return 0.0, []
        self.stopped = True
        self.tree()
        before = [p for p in self._seen.values() if p.alive()]
        t0 = time.monotonic()
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
        deadline = t0 + timeout
        left = before
        while True:
            self.proc.poll()
            left = [p for p in before if p.alive()]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return time.monotonic() - t0, left

    def kill(self):
        """SIGKILL whatever is left (cleanup after a failure)."""
        if self.proc is None:
            return
        self.tree()
        for p in self._seen.values():
            if p.alive():
                try:
                    os.kill(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def close_log(self):
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def log_text(self, max_lines=None):
        try:
            with open(self.log_path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return ""
        if max_lines and len(lines) > max_lines:
            lines = ["... (%d earlier lines)" % (len(lines) - max_lines)] + \
                lines[-max_lines:]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# CLI

def interactive_shell(s):
    """Raw tty pass-through to a terminal on the device until its shell
    exits; the window size follows SIGWINCH."""
    import select
    import termios
    import tty
    cols, rows = os.get_terminal_size(0)
    ev = s.request({"cmd": "terminal_start", "rows": rows, "cols": cols},
                   event="terminal_started", timeout=15)
    tid = ev["terminal_id"]
    print("== a shell on the device (%s); exit it to end the demo"
          % ev.get("shell"))
    resized = []
    old_winch = signal.signal(signal.SIGWINCH,
                              lambda *a: resized.append(True))
    saved = termios.tcgetattr(0)
    cursor = s.mark()
    try:
        tty.setraw(0)
        while True:
            with s.gw._cond:
                evs = s.events[cursor:]
                cursor = len(s.events)
            for e in evs:
                if e.get("event") == "terminal_data" and \
                        e.get("channel") == tid:
                    os.write(1, e["data"].encode("utf-8", "replace"))
                elif e.get("event") == "terminal_exit" and \
                        e.get("terminal_id") == tid:
                    return e.get("returncode")
            if resized:
                resized.clear()
                cols, rows = os.get_terminal_size(0)
                s.send({"cmd": "terminal_resize", "terminal_id": tid,
                        "rows": rows, "cols": cols})
            ready, _, _ = select.select([0], [], [], 0.01)
            if ready:
                data = os.read(0, 4096)
                if not data:
                    return None
                s.send({"cmd": "terminal_send", "terminal_id": tid,
                        "data": data.decode("utf-8", "replace")})
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, old_winch)
        print()


def demo(args):
    binary = os.path.abspath(args.daemon)
    if not os.access(binary, os.X_OK):
        print("gateway.py: %s is not an executable" % binary, file=sys.stderr)
        return 2
    is_root = os.geteuid() == 0
    tmp = tempfile.mkdtemp(prefix="portacoded-demo-")
    os.chmod(tmp, 0o755)
    ok = False
    gw = daemon = None
    try:
        user = None
        if is_root:
            ensure_users(args.user)
            user = args.user
        keydir = make_key_dir(os.path.join(tmp, "keys"))
        keyfile = os.path.join(keydir, "id_portacode")
        gw = Gateway(tls=args.tls, tmpdir=tmp).start()
        conf = write_config(os.path.join(tmp, "portacoded.conf"), gw.url,
                            keyfile, gw.ca_path, user)
        print("== loopback gateway listening on %s" % gw.url)
        print("== portacoded -K -f %s" % conf)
        r = create_key(binary, conf)
        sys.stdout.write(r.stdout)
        if r.returncode != 0 or not os.path.exists(keyfile + ".pub"):
            sys.stdout.write(r.stderr)
            print("gateway.py: key creation failed (status %d)"
                  % r.returncode, file=sys.stderr)
            return 1
        gw.register_key(keyfile + ".pub")
        print("== portacoded -d -f %s%s" % (
            conf, "" if is_root else "   (user mode: not running as root)"))
        daemon = Daemon(binary, conf, os.path.join(tmp, "portacoded.log"))
        daemon.start()
        gw.wait_device(args.timeout)
        auth_ms = (gw.auth_ok_times[0] - daemon.started) * 1000.0
        print("== device authenticated; adding a dashboard session and "
              "sending system_info")
        s = gw.add_session("dashboard")
        ev = s.request_retry({"cmd": "system_info"}, "system_info",
                             timeout=args.timeout)
        print(json.dumps(ev, indent=2, sort_keys=True))
        if args.verbose:
            print(daemon.log_text())
        print("device authenticated in %.0f ms; system_info answered"
              % auth_ms)
        if sys.stdin.isatty() and sys.stdout.isatty() and not args.no_shell:
            interactive_shell(s)
        ok = True
        return 0
    except (GatewayError, AssertionError, OSError,
            subprocess.SubprocessError) as e:
        print("gateway.py: demo failed: %s" % e, file=sys.stderr)
        return 1
    finally:
        if daemon is not None:
            took, left = daemon.stop(2.0)
            if left:
                daemon.kill()
            daemon.close_log()
            if not ok:
                print("---- portacoded log (%s) ----" % daemon.log_path,
                      file=sys.stderr)
                print(daemon.log_text(200), file=sys.stderr)
        if gw is not None:
            if not ok:
                print("---- gateway ----\n" + gw.describe(40),
                      file=sys.stderr)
            gw.stop()
        if ok and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("(files kept in %s)" % tmp, file=sys.stderr)


def serve(args):
    def log(text):
        print(text, flush=True)
    tmp = tempfile.mkdtemp(prefix="portacoded-gw-")
    gw = Gateway(tls=args.tls, tmpdir=tmp, log=log if args.verbose else None,
                 port=args.port)
    gw.start()
    for k in args.register or []:
        gw.register_key(k)
    print("url %s" % gw.url)
    if gw.ca_path:
        print("ca %s" % gw.ca_path)
    sys.stdout.flush()
    if args.session:
        gw.add_session("dashboard")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    seen = 0
    try:
        while not stop.wait(0.5):
            with gw._cond:
                log_now = gw.auth_log[seen:]
                seen = len(gw.auth_log)
            for a in log_now:
                print("auth %s: %s" % (a["result"], a["detail"]), flush=True)
    finally:
        gw.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Loopback Portacode gateway (tests and demo).")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--demo", action="store_true",
                      help="start portacoded against a fresh gateway and "
                      "show it answering system_info")
    mode.add_argument("--serve", action="store_true",
                      help="run a gateway until interrupted")
    p.add_argument("--daemon", metavar="PATH",
                   help="portacoded binary (--demo)")
    p.add_argument("--tls", action="store_true", help="wss:// with a "
                   "throwaway CA (ca.pem is written next to the config)")
    p.add_argument("--user", default=TARGET_USER,
                   help="target User for the demo when run as root "
                   "(default %(default)s; created if missing)")
    p.add_argument("--timeout", type=float, default=20.0)
    p.add_argument("--no-shell", action="store_true",
                   help="--demo: stop after system_info; otherwise a shell "
                   "on the device follows when run on a terminal")
    p.add_argument("--keep", action="store_true",
                   help="keep the demo's temporary directory")
    p.add_argument("--verbose", "-v", action="store_true")
    p.add_argument("--port", type=int, default=0, help="--serve port")
    p.add_argument("--register", action="append", metavar="PUB",
                   help="--serve: register a device public key (PEM file "
                   "or base64 DER); repeatable")
    p.add_argument("--session", action="store_true",
                   help="--serve: add a dashboard session")
    args = p.parse_args(argv)
    if args.demo:
        if not args.daemon:
            p.error("--demo needs --daemon PATH_TO_PORTACODED")
        return demo(args)
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
