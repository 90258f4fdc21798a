"""What one request may cost the server, and the ASGI middleware that refuses a body over the size limit before it is parsed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import List, Optional

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_TEXTS = 10_000
"""The most texts (``texts``) or sentences (``tokens``) one request may hold."""

MAX_TOKEN_CHARS = 1_000
"""The longest token a ``tokens`` request may give (the model reads at most 64 characters of one anyway)."""


@dataclass(frozen=True)
class Limits:
    """Bounds on requests, so that no request can take the server down or hold up the others for long.

    Attributes:
        max_body_bytes: The largest request body; a larger one gets 413 before it is parsed.
        max_request_tokens: The most tokens one request may ask to tag (after tokenisation); more gets 413.
        max_pending_tokens: The most tokens that may wait to be tagged; a request beyond that gets 503.
    """

    max_body_bytes: int = 1 << 20
    max_request_tokens: int = 20_000
    max_pending_tokens: int = 200_000

    def __post_init__(self) -> None:
        """Reject limits that would refuse every request."""
        for name in ("max_body_bytes", "max_request_tokens", "max_pending_tokens"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


class BodySizeLimit:
    """ASGI middleware: reads an HTTP request's body up to ``max_body_bytes`` and answers 413 beyond that.

    A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked body is
    counted as it comes. The application then gets the body in one piece, so memory per request is
    bounded by the limit, whatever the client sends.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the body (or refuse it), then call the application with it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send)
            return
        chunks: List[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before sending its body: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"the request body is larger than the limit of {self.max_body_bytes} bytes"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> Optional[int]:
    """The declared body size, or None (no header; the HTTP server has already refused a malformed one)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then what the connection gives (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
