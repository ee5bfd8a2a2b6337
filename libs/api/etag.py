"""Strong ETags for polled reads: a client that sends `If-None-Match` with the current tag gets a 304."""

from __future__ import annotations

import hashlib

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
