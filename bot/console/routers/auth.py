"""POST /api/login: a username and password for a bearer token (rate-limited, bot/rate_limit.py)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from bot import rate_limit
from bot import staff as accounts
from bot.console import messages
from bot.console.deps import SessionScope, bearer, client_address, current_staff, get_sessions
from bot.console.schemas import ErrorOut, LoginRequest, PasswordChange, StaffOut, TokenResponse
from bot.roles import permissions
from bot.store.models import Staff, utcnow

router = APIRouter(prefix="/api", tags=["auth"])


@router.post(
    "/login",
    response_model=TokenResponse,
    responses={
        401: {"model": ErrorOut, "description": "wrong username or password"},
        429: {"model": ErrorOut, "description": "too many failed logins; see the Retry-After header"},
    },
)
def login(body: LoginRequest, request: Request, sessions: SessionScope = Depends(get_sessions)) -> TokenResponse:
    """A bearer token for a valid username and password. After too many failures for the username or
    from the caller's address, 429 with `Retry-After` (seconds) until the window has passed; parallel
    attempts get no more than the limit (bot/rate_limit.py `reserve`)."""
    with sessions() as session:
        wait = rate_limit.reserve(session, body.username, client_address(request))
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=messages.text("too_many_logins", minutes=math.ceil(wait / 60)),
            headers={"Retry-After": str(wait)},
        )
    with sessions() as session:
        staff = accounts.authenticate(session, body.username, body.password)
        if staff is not None:
            rate_limit.forget_user(session, body.username)
            token = accounts.issue_token(session, staff)
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=messages.text("wrong_credentials"))
    return TokenResponse(
        access_token=token,
        expires_at=utcnow() + accounts.token_lifetime(),
        password_change_required=staff.must_change_password,
    )


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={400: {"model": ErrorOut, "description": "the current password is wrong, or the new one too short or the same"}},
)
def change_password(
    body: PasswordChange, staff: Staff = Depends(current_staff), sessions: SessionScope = Depends(get_sessions)
) -> Response:
    """Set a new password (at least 8 characters); the way out of a one-time password."""
    try:
        with sessions() as session:
            accounts.change_password(session, session.merge(staff), body.current_password, body.new_password)
    except accounts.PasswordRefused as refused:
        detail = messages.text(refused.key, length=accounts.MIN_PASSWORD_LENGTH)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=detail) from refused
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=StaffOut)
def me(staff: Staff = Depends(current_staff)) -> StaffOut:
    return StaffOut(
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        permissions=sorted(permission.value for permission in permissions(staff.role)),
        password_change_required=staff.must_change_password,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, dependencies=[Depends(current_staff)])
def logout(
    credentials: HTTPAuthorizationCredentials = Depends(bearer), sessions: SessionScope = Depends(get_sessions)
) -> Response:
    """End this login: the token stops working at once."""
    with sessions() as session:
        accounts.revoke_token(session, credentials.credentials)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
