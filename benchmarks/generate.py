"""Write a large Chrome-style HAR: text, JSON and base64 image bodies, headers with cookies.

    python benchmarks/generate.py 200 benchmarks/data/chrome-200mb.har

Streams entries to disk, so any size fits in little memory. Deterministic for a given size.
"""

from __future__ import annotations

import argparse
import base64
import random
from pathlib import Path
from typing import Any

import orjson

WORDS = [
    "support",
    "ticket",
    "session",
    "token",
    "request",
    "response",
    "header",
    "cookie",
    "account",
    "project",
    "deploy",
    "region",
    "cache",
    "latency",
    "error",
    "retry",
    "checkout",
    "invoice",
    "customer",
    "dashboard",
    "settings",
]


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)


def _body(rng: random.Random, kind: str) -> dict[str, Any]:
    if kind == "json":
        items = [
            {
                "id": f"prj_{rng.randrange(10**6)}",
                "name": _text(rng, 30),
                "status": "active",
                "updatedAt": "2026-11-20T09:14:01.000Z",
                "count": rng.randrange(10**4),
            }
            for _ in range(rng.randrange(5, 120))
        ]
        text = orjson.dumps({"page": 1, "items": items}).decode()
        return {"size": len(text), "mimeType": "application/json", "text": text}
    if kind == "html":
        words = _text(rng, rng.randrange(4000, 60000))
        text = f"<!doctype html><html><body><p>{words}</p></body></html>"
        return {"size": len(text), "mimeType": "text/html", "text": text}
    if kind == "js":
        text = f"(function(){{var s='{_text(rng, rng.randrange(8000, 90000))}';}})();"
        return {"size": len(text), "mimeType": "application/javascript", "text": text}
    if kind == "image":
        raw = rng.randbytes(rng.randrange(5000, 120000))
        return {
            "size": len(raw),
            "mimeType": "image/png",
            "text": base64.b64encode(raw).decode(),
            "encoding": "base64",
        }
    return {"size": 0, "mimeType": "text/plain", "text": ""}


def _entry(rng: random.Random, i: int) -> dict[str, Any]:
    kind = rng.choices(["json", "html", "js", "image", "empty"], [40, 15, 15, 20, 10])[0]
    sid = f"FAKE{rng.getrandbits(128):032x}"
    url = f"https://app.example.test/api/v1/items/{i}?page={i % 7}&sort=name"
    request_headers = [
        {"name": ":authority", "value": "app.example.test"},
        {"name": ":method", "value": "GET"},
        {"name": ":path", "value": url.split("example.test", 1)[1]},
        {"name": "accept", "value": "application/json, text/plain, */*"},
        {"name": "accept-language", "value": "en-GB,en;q=0.9"},
        {"name": "authorization", "value": f"Bearer FAKE.{sid}.sig"},
        {
            "name": "cookie",
            "value": f"sid={sid}; theme=dark; _ga=GA1.2.{i}.1700000000; csrftoken={sid[:24]}",
        },
        {
            "name": "user-agent",
            "value": "Mozilla/5.0 (X11; Linux x86_64) Chrome/142.0.0.0 Safari/537.36",
        },
        {"name": "x-request-id", "value": f"req-{i:08x}"},
    ]
    response_headers = [
        {"name": "content-type", "value": _body_type(kind)},
        {"name": "cache-control", "value": "no-store"},
        {"name": "set-cookie", "value": f"sid={sid}; Path=/; HttpOnly; Secure; SameSite=Lax"},
        {"name": "etag", "value": f'W/"{i:x}"'},
    ]
    return {
        "_initiator": {
            "type": "script",
            "stack": {
                "callFrames": [
                    {
                        "functionName": "load",
                        "scriptId": "17",
                        "url": "https://app.example.test/static/app.js",
                        "lineNumber": 120,
                        "columnNumber": 14,
                    }
                ]
            },
        },
        "_priority": "High",
        "_resourceType": "fetch",
        "cache": {},
        "connection": str(400000 + i % 50),
        "pageref": "page_1",
        "request": {
            "method": "GET",
            "url": url,
            "httpVersion": "http/2.0",
            "headers": request_headers,
            "queryString": [
                {"name": "page", "value": str(i % 7)},
                {"name": "sort", "value": "name"},
            ],
            "cookies": [
                {
                    "name": "sid",
                    "value": sid,
                    "path": "/",
                    "domain": "app.example.test",
                    "expires": "2027-01-01T00:00:00.000Z",
                    "httpOnly": True,
                    "secure": True,
                }
            ],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "",
            "httpVersion": "http/2.0",
            "headers": response_headers,
            "cookies": [
                {
                    "name": "sid",
                    "value": sid,
                    "path": "/",
                    "httpOnly": True,
                    "secure": True,
                    "sameSite": "Lax",
                }
            ],
            "content": _body(rng, kind),
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_transferSize": 1234,
            "_error": None,
        },
        "serverIPAddress": "203.0.113.10",
        "startedDateTime": "2026-11-20T09:14:01.000Z",
        "time": rng.random() * 300,
        "timings": {
            "blocked": 1.2,
            "dns": -1,
            "ssl": -1,
            "connect": -1,
            "send": 0.1,
            "wait": rng.random() * 200,
            "receive": rng.random() * 20,
            "_blocked_queueing": 0.8,
        },
    }


def _body_type(kind: str) -> str:
    return {
        "json": "application/json",
        "html": "text/html; charset=utf-8",
        "js": "application/javascript",
        "image": "image/png",
    }.get(kind, "text/plain")


def generate(size_mb: float, path: Path, *, compact: bool = False, seed: int | None = None) -> int:
    """Write a HAR of about size_mb megabytes (10**6 bytes) to path; return its size.

    Indented like Chrome's exports by default; compact writes it all on one line, as Firebug,
    Splash and many proxies do. The same size and seed give the same bytes.
    """
    rng = random.Random(int(size_mb * 1000) if seed is None else seed)
    target = int(size_mb * 1_000_000)
    option = 0 if compact else orjson.OPT_INDENT_2
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        head = {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "pages": [{"startedDateTime": "2026-11-20T09:14:01.000Z", "id": "page_1",
                       "title": "https://app.example.test/", "pageTimings": {}}],
        }  # fmt: skip
        # The log's small parts, laid out at their depth, then the entries streamed one by one.
        layout = orjson.dumps({"log": head}, option=option)
        if compact:  # cut before log's closing brace and open the entries list
            f.write(layout[:-2] + b',"entries":[')
        else:
            f.write(layout[: layout.rindex(b"\n  }")] + b',\n    "entries": [')
        written, i = 0, 0
        while written < target:
            data = orjson.dumps(_entry(rng, i), option=option)
            if not compact:
                data = b"\n      " + data.replace(b"\n", b"\n      ")
            chunk = (b"," if i else b"") + data
            f.write(chunk)
            written += len(chunk)
            i += 1
        f.write(b"]}}\n" if compact else b"\n    ]\n  }\n}\n")
    return path.stat().st_size


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("size_mb", type=float)
    parser.add_argument("path", type=Path)
    parser.add_argument("--compact", action="store_true", help="all on one line")
    args = parser.parse_args()
    size = generate(args.size_mb, args.path, compact=args.compact)
    print(f"wrote {args.path}: {size / 1e6:.1f} MB")
