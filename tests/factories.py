"""Factories for HAR documents: build exactly what a test is about."""

from __future__ import annotations

from typing import Any

import orjson

# Canaries: recognisable fake secrets. Tests assert they never reach any output.
CANARY = "FAKEcanary7d1e4c2b9a"
BEARER_CANARY = "FAKEbearer.eyJzdWIiOiJGQUtFIn0.FAKEsig"


def entry(
    url: str = "https://app.test/api",
    *,
    request_headers: list[dict[str, Any]] | None = None,
    response_headers: list[dict[str, Any]] | None = None,
    request_cookies: Any = None,
    response_cookies: Any = None,
) -> dict[str, Any]:
    """One minimal, valid HAR entry; override only what the test is about."""
    return {
        "startedDateTime": "2026-01-01T00:00:00.000Z",
        "time": 1.5,
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "HTTP/1.1",
            "headers": request_headers or [],
            "queryString": [],
            "cookies": [] if request_cookies is None else request_cookies,
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": response_headers or [],
            "cookies": [] if response_cookies is None else response_cookies,
            "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": 2,
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0.5},
    }


def header(name: str, value: Any) -> dict[str, Any]:
    return {"name": name, "value": value}


def har(*entries: dict[str, Any], **log: Any) -> dict[str, Any]:
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "0"},
            **log,
            "entries": list(entries),
        }
    }


def har_bytes(*entries: dict[str, Any], **log: Any) -> bytes:
    return orjson.dumps(har(*entries, **log))


# One entry holding a bearer token and a session cookie in every place a cookie goes.
SECRET_HAR = har_bytes(
    entry(
        request_headers=[
            header("Authorization", f"Bearer {BEARER_CANARY}"),
            header("Cookie", f"sid={CANARY}"),
        ],
        response_headers=[header("Set-Cookie", f"sid={CANARY}; Path=/; HttpOnly")],
        request_cookies=[{"name": "sid", "value": CANARY}],
    ),
    pages=[{"id": "page_1", "title": "Zürich"}],
)
