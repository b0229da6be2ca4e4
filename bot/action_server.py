"""`python -m bot.action_server [options of rasa_sdk]`: rasa-sdk's action server, for Rasa only.

rasa-sdk 3.6 answers anyone who reaches `POST /webhook`: a crafted tracker could run any action, e.g.
look up tickets or open urgent handoffs. This module starts rasa-sdk's own server with one addition,
a request middleware that refuses every call but `GET /health` without the header
`Authorization: Bearer <ACTION_SERVER_TOKEN>` (401). Rasa sends that header from `endpoints.yml`
(`action_endpoint.headers`); bot/rasa_runtime.py puts the secret into Rasa's environment, and both
read it from `ACTION_SERVER_TOKEN` or `var/action_server_token` (bot/settings.py).

It also makes the SMS sender of `SMS_SENDER` (bot/sms/) before serving, so a provider left half configured
stops the server at once instead of failing the first patient who needs a one-time code.
"""

from __future__ import annotations

import hmac
from typing import Any, Callable, Optional

import rasa_sdk.endpoint
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import logging_filter, settings, sms

OPEN_PATHS = frozenset({"/health"})


def require_token(app: Sanic, token: str) -> None:
    """Refuse calls without `Authorization: Bearer <token>` (all but the health check)."""
    expected = f"Bearer {token}".encode("utf-8")

    @app.middleware("request")
    async def check_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get("Authorization") or "").encode("utf-8")
        if hmac.compare_digest(given, expected):
            return None
        return response.json({"error": "unauthorized"}, status=401)


def _guarded(create_app: Callable[..., Sanic], token: str) -> Callable[..., Sanic]:
    def create(*args: Any, **kwargs: Any) -> Sanic:
        app = create_app(*args, **kwargs)
        require_token(app, token)
        return app

    return create


def main() -> None:
    logging_filter.install()
    sms.current()
    rasa_sdk.endpoint.create_app = _guarded(rasa_sdk.endpoint.create_app, settings.action_server_token())
    from rasa_sdk.__main__ import main as rasa_sdk_main

    rasa_sdk_main()


if __name__ == "__main__":
    main()
