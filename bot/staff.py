"""Staff accounts for the console: argon2 password hashes, expiring bearer tokens (stored hashed), roles
(bot/roles.py), disabling an account and resetting its password."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import secrets
import sys
from datetime import datetime, timedelta
from typing import Callable, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot import rate_limit
from bot.roles import Role
from bot.store.db import session_scope
from bot.store.models import Staff, StaffToken, utcnow

DEFAULT_TOKEN_HOURS = 8.0
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
PASSWORD_ENV = "STAFF_PASSWORD"
# A generated password: 12 random bytes, 16 URL-safe characters.
GENERATED_PASSWORD_BYTES = 12

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both cases take as long.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


class StaffError(ValueError):
    """An account that cannot be created as asked; the message says why."""


class PasswordRefused(ValueError):
    """A password change refused; `key` names the console's sentence for it (bot/console/messages.yml)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


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
    role: Role = Role.AGENT,
) -> Staff:
    if not USERNAME_PATTERN.match(username):
        raise StaffError("username: 2-64 letters, digits, '.', '_' or '-'")
    _check_password(password)
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise StaffError(f"staff account {username!r} already exists")
    staff = Staff(
        username=username,
        display_name=display_name or username,
        password_hash=_hasher.hash(password),
        role=Role(role).value,
    )
    session.add(staff)
    session.flush()
    return staff


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def find_staff(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username)).first()
    if staff is None:
        raise StaffError(f"no staff account {username!r}")
    return staff


def set_role(session: Session, username: str, role: Role) -> Staff:
    """Give `username` another role (bot/roles.py); it applies to the account's next request."""
    staff = find_staff(session, username)
    staff.role = Role(role).value
    session.flush()
    return staff


def enable(session: Session, username: str) -> Staff:
    """A disabled account may log in again (with its password as it was)."""
    staff = find_staff(session, username)
    staff.disabled = False
    session.flush()
    return staff


def disable(session: Session, username: str) -> Staff:
    """The account can no longer log in, and every login it holds ends at once."""
    staff = find_staff(session, username)
    staff.disabled = True
    session.execute(delete(StaffToken).where(StaffToken.staff_id == staff.id))
    session.flush()
    return staff


def one_time_password() -> str:
    """A random password of 16 URL-safe characters, to be replaced at first login."""
    return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)


def reset_password(session: Session, username: str, password: Optional[str] = None) -> str:
    """A new password for `username`: the one given, or a random one-time password that only lets its holder
    set their own (`must_change_password`). The account is enabled again, its logins end and its failed logins
    are forgotten. Returns the password."""
    staff = find_staff(session, username)
    one_time = password is None
    password = one_time_password() if one_time else password
    _check_password(password)
    staff.password_hash = _hasher.hash(password)
    staff.must_change_password = one_time
    staff.disabled = False
    session.execute(delete(StaffToken).where(StaffToken.staff_id == staff.id))
    rate_limit.forget_user(session, username)
    session.flush()
    return password


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


def change_password(session: Session, staff: Staff, current: str, new: str) -> None:
    """Replace the password of `staff` after checking the current one; a one-time password ends here.
    PasswordRefused: `wrong_current_password`, `password_too_short` or `password_unchanged`."""
    try:
        _hasher.verify(staff.password_hash, current)
    except (VerificationError, InvalidHashError) as error:
        raise PasswordRefused("wrong_current_password") from error
    if len(new) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused("password_too_short")
    if new == current:
        raise PasswordRefused("password_unchanged")
    staff.password_hash = _hasher.hash(new)
    staff.must_change_password = False
    session.flush()


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
        create_staff(session, username, password, role=Role.ADMIN)
    return username


def _run(action: Callable[[Session], str]) -> int:
    """Run an account command in one transaction: print its outcome, or the error and exit status 1."""
    try:
        with session_scope() as session:
            outcome = action(session)
    except StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(outcome)
    return 0


def role_command(username: str, role: Role) -> int:
    """`python -m bot staff role USERNAME ROLE`."""
    return _run(lambda session: f"{set_role(session, username, role).username!r} is now {Role(role).value}.")


def disable_command(username: str) -> int:
    """`python -m bot staff disable USERNAME`."""
    return _run(lambda session: f"{disable(session, username).username!r} is disabled; its logins have ended.")


def reset_command(username: str) -> int:
    """`python -m bot staff reset USERNAME`: the new password from standard input when it is not a terminal
    (one line), else a random one, printed once."""
    given = None if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")

    def reset(session: Session) -> str:
        password = reset_password(session, username, given)
        if given is not None:
            return f"The password of {username!r} is set; its logins have ended."
        return f"One-time password of {username!r} (shown once; give it in person; it must be changed at login): {password}"

    return _run(reset)


def add_command(username: str, display_name: Optional[str], role: Role) -> int:
    """`python -m bot staff add`: the password comes from $STAFF_PASSWORD or is prompted for twice."""
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            print("error: the passwords differ", file=sys.stderr)
            return 1
    return _run(
        lambda session: f"Staff account {create_staff(session, username, password, display_name, role).username!r}"
        f" created ({Role(role).value})."
    )
