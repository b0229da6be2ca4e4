"""The staff pages under /console: shells rendered once, filled by static/console.js from the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from bot import settings

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

# Apache ECharts for the reports page, served from node_modules (package.json; `make` runs npm ci).
ECHARTS = settings.PROJECT_ROOT / "node_modules" / "echarts" / "dist" / "echarts.min.js"

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


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse("reports.html", {"request": request, "page": "reports"})


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request) -> HTMLResponse:
    """The audit log, for admins (the API answers others 403)."""
    return TEMPLATES.TemplateResponse("audit.html", {"request": request, "page": "audit"})


@router.get("/vendor/echarts.min.js")
def echarts_script() -> FileResponse:
    if not ECHARTS.exists():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="echarts is not installed: run `npm ci`")
    return FileResponse(ECHARTS, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
