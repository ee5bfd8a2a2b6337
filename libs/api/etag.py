"""Strong ETags for polled reads: a client that sends `If-None-Match` with the current tag gets a 304."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from fastapi import Request, Response


def strong_etag(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def not_modified(request: Request, etag: str) -> Response | None:
    """A 304 when the client already holds this representation, else None."""
    header = request.headers.get("if-none-match")
    if header is None:
        return None
    tags = {tag.strip() for tag in header.split(",")}
    if etag in tags or "*" in tags:
        return Response(status_code=304, headers={"ETag": etag})
    return None


class RenderedPages:
    """Answers rendered once per ETag and served from memory after: a polled page is the same bytes for every
    caller until its version moves, so JSON is built once per version, not once per request.

    Bounded by entries and bytes, least recently used out first; a new version simply makes new keys."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 64 << 20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, etag: str) -> bytes | None:
        body = self._pages.get(etag)
        if body is None:
            self.misses += 1
            return None
        self._pages.move_to_end(etag)
        self.hits += 1
        return body

    def put(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 4 or etag in self._pages:
            return
        self._pages[etag] = body
        self._bytes += len(body)
        while len(self._pages) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= len(dropped)


def json_page(body: bytes, etag: str) -> Response:
    """A rendered JSON page with its ETag; clients revalidate every time (`no-cache`) and get 304s."""
    return Response(
        content=body, media_type="application/json", headers={"ETag": etag, "Cache-Control": "no-cache"}
    )
