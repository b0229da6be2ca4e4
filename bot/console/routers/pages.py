"""The staff pages under /console: shells rendered once, filled by static/console.js from the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse("queue.html", {"request": request, "page": "queue"})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse("login.html", {"request": request, "page": "login"})


@router.get("/handoffs/{handoff_id}", response_class=HTMLResponse)
def conversation_page(request: Request, handoff_id: int) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        "conversation.html", {"request": request, "page": "conversation", "handoff_id": handoff_id}
    )


@router.get("/nlu", response_class=HTMLResponse)
def nlu_page(request: Request) -> HTMLResponse:
    """The NLU inbox, for trainers (the API answers others 403)."""
    return TEMPLATES.TemplateResponse("nlu.html", {"request": request, "page": "nlu"})


@router.get("/tickets", response_class=HTMLResponse)
def tickets_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse("tickets.html", {"request": request, "page": "tickets"})


@router.get("/tickets/{number}", response_class=HTMLResponse)
def ticket_page(request: Request, number: str) -> HTMLResponse:
    return TEMPLATES.TemplateResponse("ticket.html", {"request": request, "page": "ticket", "number": number})
