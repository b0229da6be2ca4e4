"""The console service: `uvicorn --factory bot.console.app:create_app` (started by `python -m bot run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from bot import staff
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.console.routers import auth, conversations, handoffs, pages, tickets, widget

STATIC_DIR = Path(__file__).resolve().parent / "static"


def _readable(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with a one-line message a person can read, and the details for programs."""
    errors = jsonable_encoder(exc.errors())
    return JSONResponse(
        status_code=422,
        content={"detail": "请求内容无效：" + "；".join(_readable(e) for e in errors), "errors": errors},
    )


def create_app(config: Optional[ConsoleConfig] = None, rasa: Optional[RasaClient] = None) -> FastAPI:
    config = config or ConsoleConfig.from_environment()
    app = FastAPI(
        title="医院助手 · 工作人员控制台",
        description="Staff API of the patient assistant (CONTRACT.md §6): handoffs, transcripts, tickets.",
        version="1.0",
    )
    app.state.config = config
    app.state.rasa = rasa or RasaClient(config)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for module in (auth, handoffs, conversations, tickets, pages, widget):
        app.include_router(module.router)
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
