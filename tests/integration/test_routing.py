"""
Client sessions (reference sections 1.7-1.9 and 8.2): what the device learns
from client_sessions_update and whom its events are addressed to.
"""

import time

import pytest

import gateway as G


def system_info(session, timeout=10.0):
    return session.request({"cmd": "system_info"}, timeout,
                           event="system_info")


def raw_reply(gateway, request_id, since=0):
    """The device's own frame answering request_id (routing fields kept)."""
    frames = [f for f in gateway.frames[since:] if f["json"] is not None
              and isinstance(f["json"].get("payload"), dict)
              and f["json"]["payload"].get("request_id") == request_id]
    assert len(frames) == 1, frames
    return frames[0]["json"]["payload"]


def unsolicited(e):
    return e.get("event") == "system_info" and "request_id" not in e


def test_new_session_gets_system_info(gateway, online):
    gateway.wait_frame("request_client_sessions", 5)
    n = len(gateway.frames)
    s = gateway.add_session("dashboard")
    ev = s.wait_event(unsolicited, 10)
    assert ev["device_id"] == G.DEFAULT_DEVICE_ID
    assert isinstance(ev["info"], dict) and "user_context" in ev["info"]
    raw = [f["json"]["payload"] for f in gateway.frames_matching(
        "system_info", since=n)]
    assert raw and s.channel_name in raw[0]["client_sessions"]


@pytest.mark.slow
def test_periodic_system_info(gateway, dashboard):
    first = dashboard.wait_event(unsolicited, 10)
    t_first = time.monotonic()
    assert first
    dashboard.wait_event(unsolicited, 13)
    gap = time.monotonic() - t_first
    assert gap >= 3.0, "second unsolicited system_info only %.1fs after " \
        "the first" % gap


def test_reply_targets_known_sessions(gateway, dashboard):
    b = gateway.add_session("dashboard")
    p = gateway.add_session("project", project_id="p-routing-1",
                            folder="/tmp")
    n = len(gateway.frames)
    ev = system_info(dashboard)
    payload = raw_reply(gateway, ev["request_id"], n)
    # project-less events go to every session, dashboards and projects
    assert sorted(payload["client_sessions"]) == sorted(
        [dashboard.channel_name, b.channel_name, p.channel_name])
    assert isinstance(payload.get("reply_channel"), str)
    for s in (b, p):
        s.wait_event(lambda e: e.get("request_id") == ev["request_id"], 5,
                     since=0)

    # a session that left is no longer addressed
    b.close()
    n = len(gateway.frames)
    ev = system_info(dashboard)
    payload = raw_reply(gateway, ev["request_id"], n)
    assert sorted(payload["client_sessions"]) == sorted(
        [dashboard.channel_name, p.channel_name])


def test_reply_without_known_sessions_is_broadcast(gateway, online):
    """With no client sessions known, a command reply carries no
    client_sessions (the gateway then broadcasts)."""
    gateway.wait_frame("request_client_sessions", 5)
    gateway.wait_for(lambda: any(
        "client_sessions_update" in s["data"] for s in gateway.sent), 5,
        "the empty client_sessions_update")
    n = len(gateway.frames)
    gateway.send_json({"channel": 0, "payload": {
        "cmd": "system_info", "request_id": "nobody-here"}})
    gateway.wait_frame(lambda f: f["payload"].get("request_id") ==
                       "nobody-here", 10, since=n)
    payload = raw_reply(gateway, "nobody-here", n)
    assert payload["event"] == "system_info"
    assert "client_sessions" not in payload


def test_error_reaches_requester(gateway, dashboard):
    b = gateway.add_session("dashboard")
    n = len(gateway.frames)
    ev = dashboard.request({"cmd": "nosuch2", "request_id": "e-1"}, 10,
                           match=lambda e: e.get("event") == "error")
    assert ev["message"] == "Unknown cmd: nosuch2"
    assert "client_sessions" not in ev and ev["device_id"] == \
        G.DEFAULT_DEVICE_ID
    raw = [f["json"]["payload"] for f in gateway.frames_matching(
        "error", since=n)]
    assert raw and dashboard.channel_name in raw[0]["client_sessions"]
    assert b  # b exists so the device knows two sessions


def test_sessions_resent_after_reconnect(gateway, dashboard):
    """After a reconnect the device asks for the sessions again and
    replies still reach the dashboard."""
    system_info(dashboard)
    n = len(gateway.frames)
    gateway.drop_device()           # TCP abort, no close frame
    gateway.wait_auth(2, 15)
    gateway.wait_frame("request_client_sessions", 5, since=n)
    n = len(gateway.frames)
    ev = system_info(dashboard)
    assert dashboard.channel_name in raw_reply(
        gateway, ev["request_id"], n)["client_sessions"]
