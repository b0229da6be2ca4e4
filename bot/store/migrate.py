"""`python -m bot db upgrade`: bring the database to the latest Alembic revision."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config

from bot import settings
from bot.store import db

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: Optional[str] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (url or settings.database_url()).replace("%", "%%"))
    return config


def upgrade(url: Optional[str] = None, revision: str = "head") -> None:
    target = url or settings.database_url()
    if target.startswith("sqlite:///"):
        Path(target[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(target), revision)
    if target.startswith("sqlite"):
        _enable_wal(target)


def _enable_wal(url: str) -> None:
    """WAL (persistent in the file) lets Rasa, the action server and the console read while one writes."""
    with db.get_engine(url).connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def revision(message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    command.revision(alembic_config(), message=message, autogenerate=True)
