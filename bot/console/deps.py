"""FastAPI dependencies: configuration, the Rasa client, and the logged-in staff member."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Callable, Optional

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from bot import staff as accounts
from bot.console import messages
from bot.console.config import ConsoleConfig
from bot.console.rasa_api import RasaClient
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


def current_trainer(staff: Staff = Depends(current_staff)) -> Staff:
    """The logged-in staff member if they review the NLU inbox (a trainer or an admin); 403 otherwise."""
    if not staff.may_train:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=messages.text("not_trainer"))
    return staff
