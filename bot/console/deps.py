"""FastAPI dependencies: configuration, the Rasa client, the logged-in staff member and what their role permits."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable, Optional

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bot import audit
from bot import staff as accounts
from bot.console import messages
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
from bot.roles import PERMISSIONS, ROLE_NAMES, Permission, Role
from bot.store.db import session_scope
from bot.store.models import Staff

bearer = HTTPBearer(auto_error=False, description="the access_token from POST /api/login")


def get_config(request: Request) -> ConsoleConfig:
    return request.app.state.config


def get_rasa(request: Request) -> RasaClient:
    return request.app.state.rasa


SessionScope = Callable[[], AbstractContextManager[Session]]


def get_sessions(config: ConsoleConfig = Depends(get_config)) -> SessionScope:
    """Opens a session that commits when its block ends, so the answer goes out only after the commit.

    (A yield dependency would commit only after FastAPI 0.100 has sent the response.)
    """
    return lambda: session_scope(config.database_url)


def current_staff(
    credentials: Optional[HTTPAuthorizationCredentials] = Depends(bearer),
    config: ConsoleConfig = Depends(get_config),
) -> Staff:
    """The staff member whose valid bearer token came with the request; 401 otherwise."""
    staff = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        with session_scope(config.database_url) as session:
            staff = accounts.staff_for_token(session, credentials.credentials)
    if staff is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=messages.text("not_logged_in"),
            headers={"WWW-Authenticate": "Bearer"},
        )
    return staff


def _not_permitted(staff: Staff, permission: Permission) -> str:
    allowed = [messages.text(f"role_{role.value}") for role in Role if permission in PERMISSIONS[role]]
    return messages.text(
        "not_permitted",
        role=messages.text(f"role_{staff.role}") if staff.role in ROLE_NAMES else staff.role,
        action=messages.text(f"permission_{permission.value}"),
        allowed=messages.text("role_separator").join(allowed),
    )


def permitted(permission: Permission) -> Callable[[Staff], Staff]:
    """A dependency: the logged-in staff member if their role allows `permission` (bot/roles.py); 403 otherwise."""

    def check(staff: Staff = Depends(current_staff)) -> Staff:
        if staff.must_change_password:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=messages.text("password_change_required"))
        if not staff.may(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=_not_permitted(staff, permission))
        return staff

    return check


current_trainer = permitted(Permission.TRAIN)


def client_address(request: Request) -> str:
    """The caller's address (uvicorn puts a trusted proxy's X-Forwarded-For here)."""
    return request.client.host if request.client else "unknown"


def audited(action: str, target_kind: str, parameter: str) -> Callable[..., None]:
    """A dependency that writes to the audit log (bot/audit.py) that the logged-in staff member asked for the
    object the path parameter `parameter` names, before the answer is made (a refused or missing one too)."""

    def record(request: Request, staff: Staff = Depends(current_staff), config: ConsoleConfig = Depends(get_config)) -> None:
        with session_scope(config.database_url) as session:
            audit.record(
                session, staff.username, action, target_kind, str(request.path_params[parameter]), client_address(request)
            )

    return record
