"""Security headers on every answer of the console service (an ASGI middleware).

- `X-Frame-Options: DENY`: no other page may frame the console (clickjacking a claim or a release).
- `X-Content-Type-Options: nosniff`: a JSON answer or an uploaded-looking text is never run as a script.
- `Referrer-Policy: no-referrer`: console addresses name tickets and conversations; they stay in the console.
- `Content-Security-Policy` on the staff console (`/console…`): scripts only from the console itself (its own
  files under /console/static and the ECharts file it serves), no inline script, no plugins, no framing, no
  other origin to connect to. Styles also allow inline `style` attributes, which ECharts' tooltips write.

The demo hospital page (`/`) is a stand-in for the hospital's own site, whose policy is the hospital's: it gets
the first three headers only. A pure ASGI middleware, so the live queue's event stream passes unbuffered.
"""

from __future__ import annotations

from typing import List, Tuple

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_PREFIX = "/console"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
EVERY_ANSWER = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


def headers_for(path: str) -> List[Tuple[str, str]]:
    """The headers an answer to `path` gets."""
    if path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/"):
        return [*EVERY_ANSWER, ("Content-Security-Policy", CONTENT_SECURITY_POLICY)]
    return list(EVERY_ANSWER)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
