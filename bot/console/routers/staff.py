"""Staff accounts for admins (bot/roles.py `manage_staff`): list, create with a one-time password, change a role,
disable or enable, reset a password. The same operations as `python -m bot staff …` (bot/staff.py)."""

from __future__ import annotations

from typing import List

from fastapi import APIRouter, Depends, HTTPException, Path, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import staff as accounts
from bot.console import messages
from bot.console.deps import SessionScope, current_staff, get_sessions
from bot.console.schemas import ErrorOut, OneTimePassword, StaffAccountIn, StaffAccountOut, StaffAccountUpdate
from bot.roles import Role
from bot.store.models import Staff

router = APIRouter(
    prefix="/api/staff",
    tags=["staff"],
    responses={404: {"model": ErrorOut, "description": "no such account"}},
)
Username = Path(..., min_length=1, max_length=64)


def account_out(staff: Staff) -> StaffAccountOut:
    return StaffAccountOut(
        username=staff.username,
        display_name=staff.display_name,
        role=staff.role,
        disabled=staff.disabled,
        password_change_required=staff.must_change_password,
        created_at=staff.created_at,
    )


def _find(session: Session, username: str) -> Staff:
    try:
        return accounts.find_staff(session, username)
    except accounts.StaffError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=messages.text("staff_not_found", username=username)) from error


@router.get("", response_model=List[StaffAccountOut])
def list_accounts(sessions: SessionScope = Depends(get_sessions)) -> List[StaffAccountOut]:
    """Every account, by username."""
    with sessions() as session:
        return [account_out(s) for s in session.scalars(select(Staff).order_by(Staff.username))]


@router.post(
    "",
    response_model=OneTimePassword,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"model": ErrorOut, "description": "the username is taken"}},
)
def create_account(body: StaffAccountIn, sessions: SessionScope = Depends(get_sessions)) -> OneTimePassword:
    """A new account with a one-time password, shown once: its holder sets their own at the first login."""
    password = accounts.one_time_password()
    with sessions() as session:
        if session.scalar(select(Staff.id).where(Staff.username == body.username)) is not None:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=messages.text("staff_exists", username=body.username))
        staff = accounts.create_staff(session, body.username, password, body.display_name, body.role)
        staff.must_change_password = True
    return OneTimePassword(username=body.username, one_time_password=password)


@router.patch(
    "/{username}",
    response_model=StaffAccountOut,
    responses={409: {"model": ErrorOut, "description": "an admin cannot disable or demote their own account"}},
)
def update_account(
    body: StaffAccountUpdate,
    username: str = Username,
    caller: Staff = Depends(current_staff),
    sessions: SessionScope = Depends(get_sessions),
) -> StaffAccountOut:
    """Another role (from the account's next request) and/or disabled (its logins end at once) or enabled."""
    if username == caller.username and (body.disabled or body.role not in (None, Role.ADMIN)):
        raise HTTPException(status.HTTP_409_CONFLICT, detail=messages.text("staff_not_yourself"))
    with sessions() as session:
        staff = _find(session, username)
        if body.role is not None:
            accounts.set_role(session, username, body.role)
        if body.disabled is True:
            accounts.disable(session, username)
        elif body.disabled is False:
            accounts.enable(session, username)
        session.refresh(staff)
        return account_out(staff)


@router.post("/{username}/reset", response_model=OneTimePassword)
def reset_account(username: str = Username, sessions: SessionScope = Depends(get_sessions)) -> OneTimePassword:
    """A one-time password in place of the account's password, shown once; the account is enabled, its logins end."""
    with sessions() as session:
        _find(session, username)
        return OneTimePassword(username=username, one_time_password=accounts.reset_password(session, username))
