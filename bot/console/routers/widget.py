"""The patient side of the console service: the demo hospital page `/`, the chat widget and the privacy notice.

`/widget.js` is all a hospital page needs (one script tag). The widget then fetches, relative
to itself, its stylesheet, socket.io-client (served from node_modules, installed by `make`)
and `widget/config.json`, which tells it where Rasa's Socket.IO channel listens, and `widget/privacy.json`,
the privacy notice it shows above the chat. `/privacy` is the full notice every channel links to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from bot import hospital, privacy, settings

STATIC = Path(__file__).resolve().parent.parent / "static"
WIDGET = STATIC / "widget"
SOCKET_IO_CLIENT = settings.PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
NO_CACHE = {"Cache-Control": "no-cache"}
# Any hospital site may embed the widget, so its assets are readable from every origin.
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*", **NO_CACHE}

DEMO = Jinja2Templates(directory=str(STATIC / "demo"))

router = APIRouter(tags=["widget"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def demo_page(request: Request) -> HTMLResponse:
    """The demo hospital page, with the hospital's facts of data/policies/hospital.yml."""
    return DEMO.TemplateResponse("index.html", {"request": request, **hospital.load().facts()}, headers=NO_CACHE)


@router.get("/privacy", response_class=HTMLResponse)
def privacy_page(request: Request) -> HTMLResponse:
    """The full privacy notice (data/policies/privacy.yml), public: every channel's short notice links here."""
    return DEMO.TemplateResponse("privacy.html", {"request": request, "notice": privacy.full_notice()}, headers=NO_CACHE)


@router.get("/widget/privacy.json")
def widget_privacy(request: Request) -> JSONResponse:
    """The notice, its version, the link and the button texts the widget shows above the chat."""
    return JSONResponse(privacy.widget_texts(str(request.url_for("privacy_page"))), headers=ANY_ORIGIN)


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(WIDGET / "widget.js", media_type="text/javascript", headers=ANY_ORIGIN)


@router.get("/widget/widget.css")
def widget_stylesheet() -> FileResponse:
    return FileResponse(WIDGET / "widget.css", media_type="text/css", headers=ANY_ORIGIN)


@router.get("/widget/socket.io.min.js")
def socket_io_client() -> FileResponse:
    if not SOCKET_IO_CLIENT.exists():
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="socket.io-client is not installed: run `npm ci`")
    return FileResponse(SOCKET_IO_CLIENT, media_type="text/javascript", headers=ANY_ORIGIN)


@router.get("/widget/config.json")
def widget_config(request: Request) -> JSONResponse:
    """Rasa's Socket.IO server, on the host the browser used to reach this service."""
    hostname = request.url.hostname or "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    config: Dict[str, str] = {"socketUrl": f"{request.url.scheme}://{hostname}:{settings.load().rasa_port}"}
    return JSONResponse(config, headers=ANY_ORIGIN)
