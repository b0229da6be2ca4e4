"""POST /api/login: a username and password for a bearer token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from bot import staff as accounts
from bot.console.deps import SessionScope, bearer, current_staff, get_sessions
from bot.console.schemas import LoginRequest, StaffOut, TokenResponse
from bot.store.models import Staff, utcnow

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/login", response_model=TokenResponse)
def login(body: LoginRequest, sessions: SessionScope = Depends(get_sessions)) -> TokenResponse:
    with sessions() as session:
        staff = accounts.authenticate(session, body.username, body.password)
        if staff is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="用户名或密码错误")
        token = accounts.issue_token(session, staff)
    return TokenResponse(access_token=token, expires_at=utcnow() + accounts.token_lifetime())


@router.get("/me", response_model=StaffOut)
def me(staff: Staff = Depends(current_staff)) -> StaffOut:
    return StaffOut(username=staff.username, display_name=staff.display_name, is_admin=staff.is_admin)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, dependencies=[Depends(current_staff)])
def logout(
    credentials: HTTPAuthorizationCredentials = Depends(bearer), sessions: SessionScope = Depends(get_sessions)
) -> Response:
    """End this login: the token stops working at once."""
    with sessions() as session:
        accounts.revoke_token(session, credentials.credentials)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
