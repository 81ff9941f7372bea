"""content_request (reference §4.9): a miss is a proper content_response
with success false, with or without a request_id."""
import gateway as G

MISS = "sha256:" + "0" * 64


def _miss(ev):
    assert ev.get("event") == "content_response", G.short(ev, 400)
    assert ev.get("content_hash") == MISS
    assert ev.get("success") is False
    assert ev.get("content") is None
    assert ev.get("error") == "Content not found in cache"
    assert ev.get("chunked") is False


def test_miss_with_request_id(dashboard):
    ev = dashboard.request({"cmd": "content_request", "content_hash": MISS,
                            "request_id": "c-1"}, 10,
                           event="content_response")
    _miss(ev)
    assert ev.get("request_id") == "c-1"


def test_miss_without_request_id(dashboard):
    since = dashboard.mark()
    dashboard.send({"cmd": "content_request", "content_hash": MISS})
    ev = dashboard.wait_event(lambda e: e.get("event") == "content_response",
                              10, since=since, what="a content_response")
    _miss(ev)


def test_hash_required(dashboard):
    for extra in ({}, {"content_hash": None}, {"content_hash": ""}):
        payload = {"cmd": "content_request", "request_id": "c-2"}
        payload.update(extra)
        ev = dashboard.request(payload, 10,
                               match=lambda e: e.get("event") == "error")
        assert ev["message"] == "content_hash parameter is required", ev
