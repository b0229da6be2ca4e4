"""The console service: `uvicorn --factory bot.console.app:create_app` (started by `python -m bot run`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot import logging_filter, staff
from bot.console import messages
from bot.console.config import ConsoleConfig
from bot.console.deps import permitted
from bot.console.rasa_api import RasaClient
from bot.console.schemas import ErrorOut, InvalidRequestOut
from bot.console.security_headers import SecurityHeaders
from bot.roles import Permission
from bot.console.routers import (
    assignment,
    audit,
    auth,
    conversations,
    events,
    followups,
    handoffs,
    history,
    nlu,
    notes,
    patients,
    pages,
    replies,
    reports,
    staff as staff_accounts,
    tags,
    tickets,
    typing,
    widget,
)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# What a role must allow (bot/roles.py) for every call of a router; auth (login, me, logout), the NLU
# inbox (its own checks: the queue's roles flag, trainers review), audit (its own) and the pages need a login at most.
ROUTER_PERMISSIONS = {
    Permission.QUEUE: (handoffs, assignment, history, events, conversations, tickets, followups, replies, notes, tags, typing),
    Permission.REPORTS: (reports,),
    Permission.MANAGE_STAFF: (staff_accounts,),
    Permission.PATIENT_DATA: (patients,),
}
logger = logging.getLogger(__name__)
# What FastAPI says when a request body is not UTF-8 JSON at all (fastapi/routing.py).
BODY_NOT_PARSED = "There was an error parsing the body"


def _readable(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with a one-line message a person can read, and the details for programs."""
    errors = jsonable_encoder(exc.errors())
    problems = messages.text("invalid_request_separator").join(_readable(e) for e in errors)
    return JSONResponse(
        status_code=422,
        content={"detail": messages.text("invalid_request", problems=problems), "errors": errors},
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's own answer, except that a body it cannot even decode gets a sentence staff can read."""
    if exc.status_code == 400 and exc.detail == BODY_NOT_PARSED:
        problems = messages.text("body_not_json")
        return JSONResponse(status_code=400, content={"detail": messages.text("invalid_request", problems=problems)})
    return await http_exception_handler(request, exc)


async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
    """503 while the database cannot be reached: the client may retry; nothing was half-done."""
    logger.error("database unavailable: %s", exc.orig)
    return JSONResponse(
        status_code=503, content={"detail": messages.text("database_unavailable")}, headers={"Retry-After": "5"}
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    """500 with a sentence, never a traceback; the traceback goes to the log (masked)."""
    logger.error("unexpected error", exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": messages.text("internal_error")})


def create_app(config: Optional[ConsoleConfig] = None, rasa: Optional[RasaClient] = None) -> FastAPI:
    logging_filter.install()
    config = config or ConsoleConfig.from_environment()
    app = FastAPI(
        title=messages.text("title"),
        description="Staff API of the patient assistant (CONTRACT.md §6): handoffs, transcripts, tickets, the NLU inbox.",
        version="1.0",
        # What every call may answer besides its own result (the console's handlers below).
        responses={
            401: {"model": ErrorOut, "description": "missing, wrong or expired access token"},
            403: {"model": ErrorOut, "description": "the caller's role does not allow this (bot/roles.py)"},
            422: {"model": InvalidRequestOut, "description": "the request does not fit the schema"},
        },
    )
    app.add_middleware(SecurityHeaders)
    app.state.config = config
    app.state.rasa = rasa or RasaClient(config)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
    for module in (auth, audit, nlu, pages, widget):
        app.include_router(module.router)
    for permission, modules in ROUTER_PERMISSIONS.items():
        for module in modules:
            app.include_router(module.router, dependencies=[Depends(permitted(permission))])
    app.mount("/console/static", StaticFiles(directory=str(STATIC_DIR)), name="console-static")

    @app.get("/health", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    @app.on_event("startup")
    def bootstrap_admin() -> None:
        staff.ensure_bootstrap_admin(config.database_url)

    @app.on_event("shutdown")
    def close_rasa_client() -> None:
        app.state.rasa.close()

    return app
