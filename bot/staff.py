"""Staff accounts for the console: argon2 password hashes and expiring bearer tokens (stored hashed)."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import secrets
import sys
from datetime import datetime, timedelta
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.store.db import session_scope
from bot.store.models import Staff, StaffToken, utcnow

DEFAULT_TOKEN_HOURS = 8.0
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
PASSWORD_ENV = "STAFF_PASSWORD"

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take as long.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffError(ValueError):
    """An account that cannot be created as asked; the message says why."""


def token_lifetime() -> timedelta:
    """`STAFF_TOKEN_HOURS` (default 8): how long a console login lasts."""
    raw = os.environ.get("STAFF_TOKEN_HOURS", "").strip()
    hours = float(raw) if raw else DEFAULT_TOKEN_HOURS
    if hours <= 0:
        raise ValueError("STAFF_TOKEN_HOURS must be positive")
    return timedelta(hours=hours)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_staff(
    session: Session,
    username: str,
    password: str,
    display_name: Optional[str] = None,
    is_admin: bool = False,
    is_trainer: bool = False,
) -> Staff:
    if not USERNAME_PATTERN.match(username):
        raise StaffError("username: 2-64 letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise StaffError(f"staff account {username!r} already exists")
    staff = Staff(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        is_admin=is_admin,
        is_trainer=is_trainer,
    )
    session.add(staff)
    session.flush()
    return staff


def authenticate(session: Session, username: str, password: str) -> Optional[Staff]:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    try:
        _hasher.verify(staff.password_hash if staff else _UNKNOWN_USER_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if staff is None or staff.disabled:
        return None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    return staff


def issue_token(session: Session, staff: Staff, now: Optional[datetime] = None) -> str:
    """A new bearer token for `staff`; only its hash is stored. Expired tokens are cleaned up."""
    now = now or utcnow()
    session.execute(delete(StaffToken).where(StaffToken.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(StaffToken(token_hash=_token_hash(token), staff_id=staff.id, created_at=now, expires_at=now + token_lifetime()))
    session.flush()
    return token


def staff_for_token(session: Session, token: str, now: Optional[datetime] = None) -> Optional[Staff]:
    """The staff member a valid, unexpired token belongs to, or None."""
    row = session.scalars(select(StaffToken).where(StaffToken.token_hash == _token_hash(token))).first()
    if row is None or row.expires_at <= (now or utcnow()) or row.staff.disabled:
        return None
    return row.staff


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(StaffToken).where(StaffToken.token_hash == _token_hash(token)))


def ensure_bootstrap_admin(database_url: Optional[str] = None) -> Optional[str]:
    """Create STAFF_BOOTSTRAP_USER (admin) if it is set and no staff account exists yet."""
    username = os.environ.get("STAFF_BOOTSTRAP_USER", "").strip()
    password = os.environ.get("STAFF_BOOTSTRAP_PASSWORD", "")
    if not username or not password:
        return None
    with session_scope(database_url) as session:
        if session.scalar(select(func.count(Staff.id))):
            return None
        create_staff(session, username, password, is_admin=True)
    return username


def set_trainer(session: Session, username: str, trainer: bool = True) -> Staff:
    """Give `username` the trainer role (reviews the NLU inbox), or take it away."""
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise StaffError(f"no staff account {username!r}")
    staff.is_trainer = trainer
    session.flush()
    return staff


def trainer_command(username: str, trainer: bool) -> int:
    """`python -m bot staff trainer USERNAME [--remove]`."""
    try:
        with session_scope() as session:
            staff = set_trainer(session, username, trainer)
            admin = staff.is_admin
    except StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if trainer:
        print(f"{username!r} is a trainer: reviews the NLU inbox.")
    else:
        note = " (still reviews the NLU inbox as an admin)" if admin else ""
        print(f"{username!r} is no longer a trainer{note}.")
    return 0


def add_command(username: str, display_name: Optional[str], is_admin: bool, is_trainer: bool = False) -> int:
    """`python -m bot staff add`: the password comes from $STAFF_PASSWORD or is prompted for twice."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            print("error: the passwords differ", file=sys.stderr)
            return 1
    try:
        with session_scope() as session:
            create_staff(session, username, password, display_name, is_admin, is_trainer)
    except StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    roles = ", ".join(role for role, held in (("admin", is_admin), ("trainer", is_trainer)) if held)
    print(f"Staff account {username!r} created{f' ({roles})' if roles else ''}.")
    return 0
