"""GET /api/events: the live queue for the console's pages, as server-sent events (bot/console/live.py).

Events: `queue` `{"waiting", "urgent_waiting", "changes": [{"change", "id", "conversation_id", "status",
"priority", "reason", "assigned_to"}]}`, at once with no changes and then whenever handoffs were opened,
escalated (now urgent), claimed, unclaimed, closed or otherwise updated; `message` `{"conversation_id",
"handoff_id"}` when the patient of an open handoff wrote. A comment line every 15 s keeps proxies from
closing the connection. Browsers read the stream with `fetch()`, since EventSource cannot send the
`Authorization` header. Not in the OpenAPI description: it is a stream, not a JSON answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from bot.console import live
from bot.console.config import ConsoleConfig
from bot.console.deps import bearer, current_staff, get_config
from bot.handoff_events import current_snapshot

router = APIRouter(prefix="/api", include_in_schema=False, dependencies=[Depends(current_staff)])


@router.get("/events")
def events(
    request: Request,
    credentials: HTTPAuthorizationCredentials = Depends(bearer),
    config: ConsoleConfig = Depends(get_config),
) -> StreamingResponse:
    snapshot = current_snapshot(config.database_url)  # before streaming, so a database that is down answers 503
    return StreamingResponse(
        live.stream(request, config.database_url, credentials.credentials, snapshot),
        media_type="text/event-stream",
        headers=live.HEADERS,
    )
